"""Characters that show nothing: those renderers draw as nothing at all (Unicode's
default-ignorable code points), and the blanks, which are not white space yet draw as one."""

from __future__ import annotations

import unicodedata

# Letters (and a Braille cell) that draw as an empty space: str.split() keeps them, so
# "buy<HANGUL FILLER>viagra" is one word to a program and three to a reader.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond the format characters (Cf):
# Other_Default_Ignorable_Code_Point (PropList.txt) and the variation selectors, which
# Python's unicodedata does not know. Most of these code points are unassigned: Unicode
# reserves them so that renderers already hide whatever a later version puts there.
IGNORABLE = (
    range(0x034F, 0x0350),  # COMBINING GRAPHEME JOINER
    range(0x115F, 0x1161),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    range(0x17B4, 0x17B6),  # KHMER VOWEL INHERENT AQ, AA
    range(0x180B, 0x1810),  # MONGOLIAN FREE VARIATION SELECTORS, MONGOLIAN VOWEL SEPARATOR
    range(0x2065, 0x2066),  # reserved
    range(0x3164, 0x3165),  # HANGUL FILLER
    range(0xFE00, 0xFE10),  # VARIATION SELECTOR-1 to 16
    range(0xFFA0, 0xFFA1),  # HALFWIDTH HANGUL FILLER
    range(0xFFF0, 0xFFF9),  # reserved
    range(0xE0000, 0xE1000),  # tags, VARIATION SELECTOR-17 to 256, reserved
)
IGNORABLE_CODES = frozenset(code for block in IGNORABLE for code in block)


def invisible(ch: str) -> bool:
    """A character drawn as nothing: a format character (Cf, which also holds a few visible
    ones such as the Arabic number sign, refused and dropped alike since they were) or
    another default-ignorable code point."""
    return ord(ch) in IGNORABLE_CODES or unicodedata.category(ch) == "Cf"


def variation_selector(ch: str) -> bool:
    """A selector of another glyph for the character before it (emoji or text
    presentation, an ideograph's variant, a Mongolian letter's form)."""
    return "VARIATION SELECTOR" in unicodedata.name(ch, "")

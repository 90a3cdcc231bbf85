"""Text as word filters compare it: compatibility forms (fullwidth, mathematical letters),
case, invisible characters and look-alike letters of other scripts folded away, so a
fullwidth `bad`, a `b<ZWSP>ad` and a `bad` with a Cyrillic a all read `bad`, while Serbian
words in Cyrillic stay Cyrillic. Characters that draw as a blank without being white space
(a Hangul filler) read as a space, so they part words as they seem to.

Latin small capitals (`ᴠɪᴀɢʀᴀ`: phonetic letters, which "small caps" text generators use)
read as the letters Unicode names them after.

Marks stay part of their letter: `schwül` is not `schwul`, `año` is not `ano`, and a letter
with an accent is a letter of its own in the languages that write it, which the text alone
cannot tell from a disguise. What no language writes is also read without its marks: a
struck-through, underlined or enclosed letter (`c̶a̶s̶i̶n̶o̶`); a plain Latin letter under two or
more marks (zalgo), or under a mark no Latin letter carries; and a plain letter with an
accent written apart though a precomposed letter exists for the pair, as tools that
decorate text write it, where keyboards send the precomposed letter. So `via` + U+0308 +
`gra` holds `viagra`; `viägra` typed on a keyboard, like `schwül`, does not.

Look-alikes come from Unicode's confusables (UTS #39, through confusable-homoglyphs): each
character maps to the prototype of its class, as UTS #39's skeleton does, with two
differences. ASCII is only lowercased (`rn`, `1` and `0` stay apart from `m`, `l` and `o`,
so a banned `bum` does not refuse `burn`). And case is folded too, which gives a capital two
readings: by its lowercase (so every case variant of a word agrees, in every script) and by
its look (a Cyrillic capital EN is an H: all-capital look-alikes read as Latin)."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from server.core.invisible import BLANKS, IGNORABLE, IGNORABLE_CODES
from server.core.lookalikes import case_first, confusable_prototypes, look_first, small_capitals

# Planes 0 and 1 hold every cased, confusable or combining character; plane 14 holds the
# tag characters and the supplementary variation selectors.
_CODE_POINTS = (range(0x20000), range(0xE0000, 0xE1000))
_SKIPPED = ("Cn", "Cs", "Co")  # unassigned, surrogates, private use: nothing to fold
_ASCII_LETTERS = frozenset(string.ascii_letters)
_ODD_MARK = "\u0352"  # COMBINING FERMATA: no letter carries it
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


def warm() -> None:
    """Build the tables now (about 0.1 s): at a process's start rather than in the first
    request with text beyond ASCII, which would hold up every other one meanwhile."""
    _tables()


def folds(text: str, *, undisguise: bool = True) -> tuple[str, ...]:
    """The readings of ``text`` a filter looks for words in: one for ASCII text; otherwise
    the reading by lowercase and, when it differs, the reading by look; and unless told
    not to (a word as its owner wrote it), the readings without marks that disguise."""
    if text.isascii():
        return (text.lower(),)
    tables = _tables()
    readings = _readings(text, tables)
    if undisguise and _may_disguise(text, tables):
        plain = text.translate(tables.plain)
        bare = tables.decorative.sub("", tables.marked.sub(_undisguised, plain))
        if bare != plain:
            readings += tuple(r for r in _readings(bare, tables) if r not in readings)
    return readings


def _may_disguise(text: str, tables: _Tables) -> bool:
    """Whether ``text`` has a decoration or a mark on a Latin letter, or beyond the BMP
    (where a regular-expression class would be slow) a mark or a letter that might."""
    if tables.marks.search(text) and tables.suspect.search(text):  # the first is quick
        return True
    return not tables.beyond.isdisjoint(_BEYOND_BMP.findall(text))


def _readings(text: str, tables: _Tables) -> tuple[str, ...]:
    # Decomposed, so that an accent written apart and a precomposed letter agree and the
    # letter under an accent meets the tables; composed again afterwards.
    decomposed = unicodedata.normalize("NFKD", text)
    case_read = _fold(decomposed, tables.by_case)
    if not tables.looks_latin.search(decomposed):
        return (case_read,)
    look_read = _fold(decomposed, tables.by_look)
    return (case_read,) if look_read == case_read else (case_read, look_read)


def word_chars() -> str:
    """A regular-expression class (without brackets) of what continues a word once folded:
    letters, digits, `_` and combining marks (a Devanagari vowel sign belongs to its word,
    which Python's ``\\w`` does not know)."""
    return _tables().word_chars


def _fold(decomposed: str, table: dict[int, str]) -> str:
    return unicodedata.normalize("NFC", decomposed.translate(table))


def _undisguised(match: re.Match[str]) -> str:
    """A plain letter and the marks after it: the letter alone, unless it carries one of the
    marks Latin letters carry, and no precomposed letter has the two (s + U+0331, s̱:
    transliterations, Tlingit): a letter of its own."""
    letters = match[0]
    if (
        len(letters) == 2
        and letters[1] in _tables().latin_marks
        and len(unicodedata.normalize("NFC", letters)) == 2
    ):
        return letters
    return letters[0]


@dataclass(frozen=True, slots=True)
class _Tables:
    by_case: dict[int, str]  # str.translate tables of both readings
    by_look: dict[int, str]
    looks_latin: re.Pattern[str]  # the characters the two readings differ on
    word_chars: str
    # What finds and removes the marks that disguise. The classes stay in the Basic
    # Multilingual Plane: one with ranges beyond it costs the regex engine each range at
    # each character, several times the fold. Text with a decoration or a mark on a Latin
    # letter (``suspect``, ``beyond``) is made plain (compatibility letters in ASCII,
    # invisibles dropped, blanks spaced, marks beyond the BMP as U+0352, which no letter
    # carries); then its marks on ASCII letters and its decorations are removed.
    marks: re.Pattern[str]
    suspect: re.Pattern[str]
    beyond: frozenset[str]  # characters beyond the BMP that ``plain`` changes
    plain: dict[int, str]
    marked: re.Pattern[str]
    decorative: re.Pattern[str]
    latin_marks: frozenset[str]  # the marks in Latin letters' canonical decompositions


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Both readings' translation tables and the word-character class: built once per
    process (about 0.1 s, see warm), after which a fold is a few C-level passes."""
    looks = confusable_prototypes()
    capitals = small_capitals()
    by_case: dict[int, str] = {}
    by_look: dict[int, str] = {}
    plain: dict[int, str] = {}
    marks: list[tuple[int, int]] = []
    combining: list[tuple[int, int]] = []  # in the BMP
    decorative: list[tuple[int, int]] = []
    latin_marks: set[str] = set()
    for code in chain(*_CODE_POINTS):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category in _SKIPPED:
            continue
        if category == "Cf" or code in IGNORABLE_CODES:
            by_case[code] = by_look[code] = plain[code] = ""  # in a word they change nothing
            continue
        if category[0] == "M":
            _extend(marks, code)
            if category != "Mc" and code > 0xFFFF:
                plain[code] = _ODD_MARK
            elif category != "Mc":
                _extend(combining, code)
            if _decorative(ch, category):
                _extend(decorative, code)
        else:
            _read_decomposition(ch, category, plain, latin_marks)
        lower = ch.casefold()
        if lower in capitals:  # or lowercases to one (U+A7AE, a capital small capital)
            by_case[code] = by_look[code] = capitals[lower]
            continue
        if lower == ch and ch not in looks and not ch.isascii():
            continue  # neither reading changes it
        by_case[code] = case_first(ch, looks)
        by_look[code] = look_first(ch, looks)
    for code in chain(*IGNORABLE):  # the unassigned ones too: renderers hide them already
        by_case[code] = by_look[code] = plain[code] = ""
    for ch in BLANKS:
        by_case[ord(ch)] = by_look[ord(ch)] = plain[ord(ch)] = " "
    differ = "".join(
        re.escape(chr(code)) for code, looks in by_look.items() if looks != by_case[code]
    )
    looks_latin = re.compile(f"[{differ}]" if differ else "(?!)")  # "(?!)": never
    letters = _class(code for code, to in plain.items() if code <= 0xFFFF and to.isalpha())
    hidden = _class(code for code, to in plain.items() if code <= 0xFFFF and not to)
    return _Tables(
        by_case,
        by_look,
        looks_latin,
        f"\\w{_ranges(marks)}",
        marks=re.compile(f"[{_ranges(combining)}]"),
        suspect=re.compile(
            f"[{_ranges(decorative)}]|[A-Za-z{letters}][{hidden}]*[{_ranges(combining)}]"
        ),
        beyond=frozenset(chr(code) for code in plain if code > 0xFFFF),
        plain=plain,
        marked=re.compile(f"[A-Za-z][{_ranges(combining)}]+"),
        decorative=re.compile(f"[{_ranges(decorative)}]"),
        latin_marks=frozenset(latin_marks),
    )


def _class(codes: Iterable[int]) -> str:
    ranges: list[tuple[int, int]] = []
    for code in sorted(codes):
        _extend(ranges, code)
    return _ranges(ranges)


def _read_decomposition(
    ch: str, category: str, plain: dict[int, str], latin_marks: set[str]
) -> None:
    """Note a compatibility form of an ASCII letter (fullwidth, mathematical, circled), or
    the marks of a precomposed Latin letter."""
    decomposition = unicodedata.decomposition(ch)
    if decomposition.startswith("<"):
        compatible = unicodedata.normalize("NFKD", ch)
        if compatible in _ASCII_LETTERS:
            plain[ord(ch)] = compatible
    elif decomposition and category[0] == "L" and unicodedata.name(ch).startswith("LATIN "):
        latin_marks.update(chr(int(part, 16)) for part in decomposition.split()[1:])


def _decorative(ch: str, category: str) -> bool:
    """A mark that strikes a letter through, underlines, overlines or encloses it: what
    text decorators add, which no alphabet's letters carry."""
    if category == "Me":
        return True
    name = unicodedata.name(ch, "")
    return name.startswith("COMBINING ") and (
        name.endswith(" OVERLAY") or name.endswith("LOW LINE") or name.endswith("OVERLINE")
    )


def _ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in ranges)


def _extend(ranges: list[tuple[int, int]], code: int) -> None:
    if ranges and ranges[-1][1] == code - 1:
        ranges[-1] = (ranges[-1][0], code)
    else:
        ranges.append((code, code))

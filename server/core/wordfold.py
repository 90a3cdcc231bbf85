"""Text as word filters compare it: compatibility forms (fullwidth, mathematical letters),
case, invisible characters and look-alike letters of other scripts folded away, so a
fullwidth `bad`, a `b<ZWSP>ad` and a `bad` with a Cyrillic a all read `bad`, while Serbian
words in Cyrillic stay Cyrillic. Characters that draw as a blank without being white space
(a Hangul filler) read as a space, so they part words as they seem to.

Latin small capitals (`ᴠɪᴀɢʀᴀ`: phonetic letters, which "small caps" text generators use)
read as the letters Unicode names them after.

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
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from server.core.invisible import BLANKS, IGNORABLE, IGNORABLE_CODES

# Planes 0 and 1 hold every cased, confusable or combining character; plane 14 holds the
# tag characters and the supplementary variation selectors.
_CODE_POINTS = (range(0x20000), range(0xE0000, 0xE1000))
_SKIPPED = ("Cn", "Cs", "Co")  # unassigned, surrogates, private use: nothing to fold


def folds(text: str) -> tuple[str, ...]:
    """The readings of ``text`` a filter looks for words in: one for ASCII text; otherwise
    the reading by lowercase and, when it differs, the reading by look."""
    if text.isascii():
        return (text.lower(),)
    tables = _tables()
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


@dataclass(frozen=True, slots=True)
class _Tables:
    by_case: dict[int, str]  # str.translate tables of both readings
    by_look: dict[int, str]
    looks_latin: re.Pattern[str]  # the characters the two readings differ on
    word_chars: str


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Both readings' translation tables and the word-character class: built once per
    process (about 50 ms), after which a fold is a few C-level passes."""
    prototypes = _prototypes()
    small_capitals = _small_capitals()
    by_case: dict[int, str] = {}
    by_look: dict[int, str] = {}
    marks: list[tuple[int, int]] = []
    for code in chain(*_CODE_POINTS):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category in _SKIPPED:
            continue
        if category == "Cf" or code in IGNORABLE_CODES:
            by_case[code] = by_look[code] = ""  # inside a word they change nothing seen
            continue
        if category[0] == "M":
            _extend(marks, code)
        lower = ch.casefold()
        if lower in small_capitals:  # or lowercases to one (U+A7AE, a capital small capital)
            by_case[code] = by_look[code] = small_capitals[lower]
            continue
        if lower == ch and ch not in prototypes and not ch.isascii():
            continue  # neither reading changes it
        by_case[code] = _case_first(ch, prototypes)
        by_look[code] = _look_first(ch, prototypes)
    for code in chain(*IGNORABLE):  # the unassigned ones too: renderers hide them already
        by_case[code] = by_look[code] = ""
    for ch in BLANKS:
        by_case[ord(ch)] = by_look[ord(ch)] = " "
    differ = "".join(re.escape(chr(code)) for code, looks in by_look.items()
                     if looks != by_case[code])
    looks_latin = re.compile(f"[{differ}]" if differ else "(?!)")  # "(?!)": never
    return _Tables(by_case, by_look, looks_latin, f"\\w{_ranges(marks)}")


def _ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in ranges)


def _extend(ranges: list[tuple[int, int]], code: int) -> None:
    if ranges and ranges[-1][1] == code - 1:
        ranges[-1] = (ranges[-1][0], code)
    else:
        ranges.append((code, code))


def _case_first(ch: str, prototypes: dict[str, str]) -> str:
    """Lowercase, then what that looks like: case variants always agree."""
    if ch.isascii():
        return ch.lower()
    return _look(_look(ch.casefold(), prototypes).casefold(), prototypes)


def _look_first(ch: str, prototypes: dict[str, str]) -> str:
    """What a character looks like, then lowercase: a Cyrillic capital EN is an H, so h.
    UTS #39 files capital I and its look-alikes under l (alike without case); once case
    is folded, those read as their lowercase does (i). A look that is not ASCII reads as
    the lowercase reading does, so the two differ only where a capital looks Latin."""
    if ch.isascii():
        return ch.lower()
    looks = _look(ch, prototypes)
    if looks == "l" or not looks.isascii():
        return _case_first(ch, prototypes)
    return looks.casefold()


def _look(text: str, prototypes: dict[str, str]) -> str:
    return "".join(prototypes.get(ch, ch) for ch in text)


def _small_capitals() -> dict[str, str]:
    """Each Latin small capital and its letter, as Unicode names them ("LATIN LETTER SMALL
    CAPITAL R": ʀ, r). Only these characters read so: those UTS #39 files under a small
    capital (a Cyrillic в under ʙ) keep their own reading, or Serbian вас would read bac."""
    capitals: dict[str, str] = {}
    for letter in string.ascii_uppercase:
        try:
            capitals[unicodedata.lookup(f"LATIN LETTER SMALL CAPITAL {letter}")] = letter.lower()
        except KeyError:
            continue  # there is none for X
    return capitals


def _prototypes() -> dict[str, str]:
    """Each non-ASCII character that looks like another: the prototype of its class.

    The library keeps confusables.txt's pairs in both directions (source to prototype and
    back), and prototypes never map further, so a character with one entry is a source
    whose prototype is that entry, unless the two have only each other: then the ASCII one
    (else the lower code point) stands for both."""
    # Imported here: the library reads its 900 KB table on import, which only a process
    # that filters words needs.
    from confusable_homoglyphs import confusables

    data: dict[str, list[dict[str, Any]]] = confusables.confusables_data
    prototypes: dict[str, str] = {}
    for key, entries in data.items():
        ch = _visible(key)  # the library keeps the LRMs it read around right-to-left text
        if len(ch) != 1 or ch.isascii() or len(entries) != 1:
            continue
        other = entries[0]["c"]
        target = _visible(other)
        if len(data.get(other, ())) == 1 and len(target) == 1:
            target = min(ch, target, key=lambda c: (not c.isascii(), ord(c)))
        if target != ch:
            prototypes[ch] = target
    return prototypes


def _visible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")

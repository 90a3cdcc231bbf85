"""Look-alike letters as word filters read them: each character that looks like another
maps to the prototype of its class, from Unicode's confusables (UTS #39, through
confusable-homoglyphs), and each Latin small capital to its letter."""

from __future__ import annotations

import string
import unicodedata
from typing import Any


def case_first(ch: str, prototypes: dict[str, str]) -> str:
    """Lowercase, then what that looks like: case variants always agree."""
    if ch.isascii():
        return ch.lower()
    return _look(_look(ch.casefold(), prototypes).casefold(), prototypes)


def look_first(ch: str, prototypes: dict[str, str]) -> str:
    """What a character looks like, then lowercase: a Cyrillic capital EN is an H, so h.
    UTS #39 files capital I and its look-alikes under l (alike without case); once case
    is folded, those read as their lowercase does (i). A look that is not ASCII reads as
    the lowercase reading does, so the two differ only where a capital looks Latin."""
    if ch.isascii():
        return ch.lower()
    looks = _look(ch, prototypes)
    if looks == "l" or not looks.isascii():
        return case_first(ch, prototypes)
    return looks.casefold()


def _look(text: str, prototypes: dict[str, str]) -> str:
    return "".join(prototypes.get(ch, ch) for ch in text)


def small_capitals() -> dict[str, str]:
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


def confusable_prototypes() -> dict[str, str]:
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

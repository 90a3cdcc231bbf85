"""Names as impersonation compares them: every reading a name could be taken for, so an
anonymous `Ada` (or one with a Cyrillic A, `ADA`, `A d a`) cannot pass for a verified Ada
or a moderator.

The readings are the word filters' (``wordfold.folds``: case, compatibility forms, invisible
characters and look-alike letters of other scripts folded away), of the name as written and
of the name with ASCII's own look-alikes (UTS #39: `0` and `O`, `1`, `I` and `l`, `rn` and
`m`) made one. Unlike a word filter, a name check keeps only letters and digits, without
their marks: `Àda`, `Ada.`, `Ada_Lovelace` and `Ada Lovelace ✓` all read `adalovelace` (an
accent tells a word from another; next to a name it only disguises one)."""

from __future__ import annotations

import sys
import unicodedata
from functools import lru_cache

from server.core.wordfold import folds

KEY_MAX = 200


@lru_cache(maxsize=1)
def _ascii_lookalikes() -> dict[int, str]:
    """The ASCII characters Unicode's confusables give one ASCII look-alike of: 0 as O, 1
    and I as l, m as rn (a character and its look-alike then read the same)."""
    from confusable_homoglyphs import confusables

    table: dict[int, str] = {}
    for source, entries in confusables.confusables_data.items():
        if len(source) == 1 and source.isascii() and len(entries) == 1:
            target = entries[0]["c"]
            if target.isascii() and target != source:
                table[ord(source)] = target
    return table


def warm() -> None:
    """Build the tables now (about 0.1 s): at a process's start, not in the first post that
    names its author."""
    _ascii_lookalikes()
    _check_marks()


# Cached: every anonymous post compares its name with the site's moderators' and the site's
# own, which are the same few names post after post.
@lru_cache(maxsize=4096)
def name_keys(name: str) -> tuple[str, ...]:
    """Every reading of ``name`` another may not take (empty for an empty name)."""
    lookalikes = _ascii_lookalikes()
    letters = _letters_and_digits(name)
    keys: dict[str, None] = {}
    # Before folding (a capital I is an l only while it is a capital) and after (a
    # fullwidth zero is a 0 only once folded).
    for written in (letters, letters.translate(lookalikes)):
        for reading in folds(written):
            for key in (reading, reading.translate(lookalikes).lower()):
                # Folding may spell a letter as another with a mark (Ł: L and a stroke).
                key = "".join(
                    ch
                    for ch in unicodedata.normalize("NFKD", key)
                    if not ch.isspace() and unicodedata.category(ch)[0] != "M"
                )[:KEY_MAX]
                if key:
                    keys[key] = None
    return tuple(keys)


def _letters_and_digits(name: str) -> str:
    """The name's letters and digits without their marks, its words still apart."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(
        ch if unicodedata.category(ch)[0] in "LN" else " "
        for ch in decomposed
        if unicodedata.category(ch)[0] != "M"
    )


@lru_cache(maxsize=1)
def _check_marks() -> frozenset[str]:
    """Every character Unicode names a check mark (✓ ✔ ☑ ✅ 🗸 ...): the widget's verified
    mark is one, so no anonymous name may wear one."""
    return frozenset(
        ch
        for ch in map(chr, range(min(sys.maxunicode, 0x1FFFF) + 1))
        if "CHECK MARK" in unicodedata.name(ch, "") or "WITH CHECK" in unicodedata.name(ch, "")
    )


def wears_check_mark(name: str) -> bool:
    return not _check_marks().isdisjoint(name)


def imitates(name: str, others: list[str]) -> bool:
    """Whether ``name`` reads as one of ``others``."""
    mine = set(name_keys(name))
    return any(mine.intersection(name_keys(other)) for other in others)

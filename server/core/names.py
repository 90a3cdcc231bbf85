"""Names as impersonation compares them: every reading a name could be taken for, so an
anonymous `Ada` (or one with a Cyrillic A, `ADA`, `A d a`) cannot pass for a verified Ada
or a moderator.

The readings are the word filters' (``wordfold.folds``: case, compatibility forms, invisible
characters and look-alike letters of other scripts folded away), of the name as written and
of the name with ASCII's own look-alikes (UTS #39: `0` and `O`, `1`, `I` and `l`, `rn` and
`m`) made one, all without spaces."""

from __future__ import annotations

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


def name_keys(name: str) -> tuple[str, ...]:
    """Every reading of ``name`` another may not take (empty for an empty name)."""
    lookalikes = _ascii_lookalikes()
    keys: dict[str, None] = {}
    # Before folding (a capital I is an l only while it is a capital) and after (a
    # fullwidth zero is a 0 only once folded).
    for written in (name, name.translate(lookalikes)):
        for reading in folds(written):
            for key in (reading, reading.translate(lookalikes).lower()):
                key = "".join(key.split())[:KEY_MAX]
                if key:
                    keys[key] = None
    return tuple(keys)


def imitates(name: str, others: list[str]) -> bool:
    """Whether ``name`` reads as one of ``others``."""
    mine = set(name_keys(name))
    return any(mine.intersection(name_keys(other)) for other in others)

"""Which status a new or edited comment gets, and why it is held."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from server.core.errors import Invalid
from server.core.models import Filters, Mode, Site, Status
from server.core.text import count_links
from server.core.wordfold import folds, word_chars


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _WordList:
    pattern: re.Pattern[str]  # the words, each followed by no word character
    word_char: re.Pattern[str]  # what may not come before one either
    configured: dict[str, str]  # each reading of a word -> the word as the owner wrote it


@lru_cache(maxsize=256)
def _word_list(words: tuple[str, ...]) -> _WordList | None:
    """A site's list, compiled once: every reading of every word, read as text is read."""
    configured: dict[str, str] = {}
    for word in words:
        for reading in folds(word.strip(), undisguise=False) if word.strip() else ():
            configured.setdefault(reading, word.strip())
    if not configured:
        return None
    # Whole words of the folded text: no letter, digit, `_` or combining mark either side.
    # Invisible characters are gone by then, so they join a word and never split one. The
    # check before a word is made in Python on each candidate: a look-behind in front of
    # the alternation would cost the regex engine its fast scan for the words' first
    # letters. Longest first, so "free money" wins over "free" where both start.
    alternatives = "|".join(re.escape(w) for w in sorted(configured, key=len, reverse=True))
    word_class = f"[{word_chars()}]"
    return _WordList(
        re.compile(rf"({alternatives})(?!{word_class})"), re.compile(word_class), configured
    )


def _find(words: tuple[str, ...], readings: tuple[str, ...]) -> str | None:
    """The first of ``words`` a reading of the text holds as a whole word, however
    disguised, as the owner wrote it."""
    compiled = _word_list(words)
    if compiled is None:
        return None
    for reading in readings:
        position = 0
        while match := compiled.pattern.search(reading, position):
            start = match.start()
            if start == 0 or not compiled.word_char.match(reading, start - 1):
                return compiled.configured[match.group(1)]
            position = start + 1
    return None


def _check_banned(filters: Filters, body: tuple[str, ...], name: tuple[str, ...]) -> None:
    """Refuse text containing a banned word outright."""
    if _find(filters.banned_words, body) or _find(filters.banned_words, name):
        raise Invalid("comment_rejected", "this comment contains words this site does not accept")


def decide(
    site: Site, body: str, name: str | None, *, author_approved: int, moderator: bool = False
) -> Decision:
    """Publish at once, or hold for review with the reason a moderator will see."""
    if moderator:
        return Decision(Status.APPROVED)
    body_read, name_read = folds(body), folds(name or "")  # once for both lists
    _check_banned(site.filters, body_read, name_read)
    word = _find(site.filters.suspect_words, body_read) or _find(
        site.filters.suspect_words, name_read
    )
    if word:
        return Decision(Status.PENDING, f"suspect word: {word}")
    links = count_links(body)
    if links > site.filters.max_links:
        return Decision(Status.PENDING, f"{links} links (more than {site.filters.max_links})")
    if site.moderation is Mode.ALL:
        return Decision(Status.PENDING, "moderation mode: all")
    if site.moderation is Mode.FIRST_TIME and author_approved == 0:
        return Decision(Status.PENDING, "first comment by this author")
    return Decision(Status.APPROVED)

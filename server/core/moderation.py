"""Which status a new or edited comment gets, and why it is held."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from server.core.errors import Invalid
from server.core.models import Filters, Mode, Site, Status
from server.core.text import count_links


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    reason: str | None = None


@lru_cache(maxsize=256)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w.casefold()) for w in words if w.strip())
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)") if alternatives else None


def find_word(words: tuple[str, ...], text: str) -> str | None:
    pattern = _word_pattern(words)
    if pattern is None:
        return None
    match = pattern.search(text.casefold())
    return match.group(1) if match else None


def check_banned(filters: Filters, body: str, name: str | None) -> None:
    """Refuse text containing a banned word outright."""
    for text in (body, name or ""):
        if find_word(filters.banned_words, text):
            raise Invalid("comment_rejected",
                          "this comment contains words this site does not accept")


def decide(site: Site, body: str, name: str | None, *, author_approved: int,
           moderator: bool = False) -> Decision:
    """Publish at once, or hold for review with the reason a moderator will see."""
    if moderator:
        return Decision(Status.APPROVED)
    check_banned(site.filters, body, name)
    word = find_word(site.filters.suspect_words, body) or \
        find_word(site.filters.suspect_words, name or "")
    if word:
        return Decision(Status.PENDING, f"suspect word: {word}")
    links = count_links(body)
    if links > site.filters.max_links:
        return Decision(Status.PENDING,
                        f"{links} links (more than {site.filters.max_links})")
    if site.moderation is Mode.ALL:
        return Decision(Status.PENDING, "moderation mode: all")
    if site.moderation is Mode.FIRST_TIME and author_approved == 0:
        return Decision(Status.PENDING, "first comment by this author")
    return Decision(Status.APPROVED)

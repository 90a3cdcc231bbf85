"""Comments from another system: the neutral shape every file reader produces, the text
rules imported text follows, page keys, and the checks a file must pass before anything is
written (every reference resolves, no cycles, sane dates)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

from server.core.errors import Invalid
from server.core.models import Status
from server.core.text import (
    NAME_MAX,
    PAGE_KEY_MAX,
    TITLE_MAX,
    URL_MAX,
    clean_url,
    forbidden,
    unwanted_in_body,
    unwanted_in_name,
    without,
)
from server.core.urls import url_page_key

EARLIEST = 631_152_000_000  # 1990-01-01: older dates are damage, not comments
LATEST = 4_102_444_800_000  # 2100-01-01


def bad_file(where: str, problem: str) -> Invalid:
    """The one error every reader raises: it names the line, element or row at fault."""
    return Invalid("bad_import_file", f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class ImportedPage:
    source_id: str
    url: str | None  # absolute, or a path that --base-url completes
    ident: str | None  # the source's own page identifier (Disqus <id>, WordPress post id)
    title: str | None
    where: str


@dataclass(frozen=True, slots=True)
class ImportedComment:
    source_id: str
    page: str  # an ImportedPage.source_id
    parent: str | None  # the source id of the comment this one answers
    name: str | None
    body: str
    status: Status
    created_at: int
    where: str
    edited_at: int | None = None
    moderator: bool = False
    author_hash: str | None = None
    held_reason: str | None = None
    flags: int = 0
    # Written by a signed-in reader (a Threadline export): kept only with its author.
    verified: bool = False
    avatar: str | None = None
    # Reaction totals (a Threadline export): (reaction, count) pairs.
    reactions: tuple[tuple[str, int], ...] = ()


@dataclass
class Batch:
    """Everything one file holds, already converted to Threadline's shapes."""

    source: str  # disqus | wxr | isso | threadline
    site: dict[str, Any] | None = None  # a Threadline export's site: id, origins, settings
    pages: dict[str, ImportedPage] = field(default_factory=dict)
    comments: list[ImportedComment] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many

    def add_page(self, page: ImportedPage) -> None:
        if page.source_id in self.pages:
            raise bad_file(page.where, f"page {page.source_id!r} appears twice")
        self.pages[page.source_id] = page


class PageKey(StrEnum):
    """How an imported thread is keyed: the widget keys by URL unless data-page says."""

    URL = "url"
    PATH = "path"
    ID = "id"


@dataclass
class ImportReport:
    pages: int = 0
    new: Counter[str] = field(default_factory=Counter)  # status -> comments written
    existing: int = 0  # already imported by an earlier run

    @property
    def written(self) -> int:
        return sum(self.new.values())


def plain(text: str, *, keep_newlines: bool = True) -> str:
    """Text without control characters, which readers' posts may not carry either."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if not forbidden(ch, keep_newlines)).strip()


def comment_text(text: str) -> str:
    """A body under the rule readers' bodies follow. An archive years old is the owner's
    record: the characters a reader could not post (controls, bidi controls, invisible junk)
    are dropped, not the file refused, and nothing visible is lost."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    return without(text, unwanted_in_body(text)).strip()


def short_name(name: str | None) -> str | None:
    """A name under the rule readers' names follow (its invisible characters dropped),
    shortened to fit."""
    if name is None:
        return None
    text = " ".join(name.split())
    text = " ".join(without(text, unwanted_in_name(text)).split())
    if len(text) > NAME_MAX:
        text = text[: NAME_MAX - 1] + "…"
    return text or None


def short_title(title: str | None) -> str | None:
    text = " ".join(plain(title or "", keep_newlines=False).split())[:TITLE_MAX]
    return text or None


def page_key(page: ImportedPage, mode: PageKey, base_url: str | None) -> tuple[str, str | None]:
    """The page key and absolute URL the widget will look the thread up by."""
    url = page.url.strip() if page.url else None
    if url and base_url and not urlsplit(url).scheme:
        url = urljoin(base_url, url)
    absolute = (
        url
        if url
        and urlsplit(url).scheme in ("http", "https")
        and urlsplit(url).hostname
        and len(url) <= URL_MAX
        else None
    )
    link = _link(absolute)
    if mode is PageKey.ID:
        key = page.ident
        if not key:
            raise bad_file(page.where, "this page has no identifier; use --page-key url")
    elif mode is PageKey.PATH:
        key = urlsplit(url).path if url else None
        if not key:
            raise bad_file(page.where, "this page has no URL; use --page-key id")
    else:
        if absolute is None:
            raise bad_file(
                page.where,
                f"the page URL {url!r} is not absolute: pass "
                "--base-url https://your.site, or --page-key path|id",
            )
        # What the widget keys by: never with a fragment or the tracking parameters
        # exports collect; a query that picks the page (WordPress's ?p=12) stays.
        key = url_page_key(absolute)
    key = plain(key, keep_newlines=False)
    if not key or len(key) > PAGE_KEY_MAX:
        raise bad_file(page.where, f"the page key must be 1 to {PAGE_KEY_MAX} characters")
    return key, link


def _link(url: str | None) -> str | None:
    """The page's link as readers' page URLs are kept: the browser's serialisation, or none
    where browsers would follow it to another host than the one the file names. The key
    stays as earlier imports made it, so a second run finds its threads."""
    if url is None:
        return None
    try:
        return clean_url(url)
    except Invalid:
        return None


def in_write_order(batch: Batch) -> list[ImportedComment]:
    """Parents before their replies, oldest first; every reference checked."""
    by_id: dict[str, ImportedComment] = {}
    for comment in batch.comments:
        for when in (comment.created_at, comment.edited_at):
            if when is not None and not EARLIEST <= when < LATEST:
                raise bad_file(comment.where, "its date is before 1990 or after 2099")
        if comment.source_id in by_id:
            raise bad_file(comment.where, f"comment {comment.source_id!r} appears twice")
        if comment.page not in batch.pages:
            raise bad_file(comment.where, f"its page {comment.page!r} is not in the file")
        by_id[comment.source_id] = comment
    children: dict[str | None, list[ImportedComment]] = defaultdict(list)
    for comment in batch.comments:
        parent = by_id.get(comment.parent) if comment.parent is not None else None
        if comment.parent is not None and parent is None:
            raise bad_file(
                comment.where, f"it replies to {comment.parent!r}, which is not in the file"
            )
        if parent is not None and parent.page != comment.page:
            raise bad_file(comment.where, f"it replies to {comment.parent!r} on another page")
        children[comment.parent].append(comment)
    ordered: list[ImportedComment] = []
    stack = sorted(children[None], key=_age, reverse=True)
    while stack:
        comment = stack.pop()
        ordered.append(comment)
        stack.extend(sorted(children[comment.source_id], key=_age, reverse=True))
    if len(ordered) != len(batch.comments):
        reached = {c.source_id for c in ordered}
        stray = next(c for c in batch.comments if c.source_id not in reached)
        raise bad_file(stray.where, "its replies form a cycle and never reach a top-level comment")
    return ordered


def _age(comment: ImportedComment) -> tuple[int, str]:
    return comment.created_at, comment.source_id

"""Comments from another system, written in one transaction: the neutral shape every file
reader produces, its checks (every reference resolves, no cycles), and the write that skips
what an earlier run of the same import already stored."""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from server.core.errors import Invalid
from server.core.models import AuditEntry, Filters, Site, Status
from server.core.ports import NewComment, Store, Tx
from server.core.sites import check_site_id, clean_origins, clean_site_name, parse_mode
from server.core.text import NAME_MAX, PAGE_KEY_MAX, TITLE_MAX, URL_MAX


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
    kept = "".join(ch for ch in text if (keep_newlines and ch in "\n\t")
                   or not (unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"))
    return kept.strip()


def short_name(name: str | None) -> str | None:
    if name is None:
        return None
    text = " ".join(plain(name, keep_newlines=False).split())
    if len(text) > NAME_MAX:
        text = text[:NAME_MAX - 1] + "…"
    return text or None


def short_title(title: str | None) -> str | None:
    text = " ".join(plain(title or "", keep_newlines=False).split())[:TITLE_MAX]
    return text or None


def page_key(page: ImportedPage, mode: PageKey, base_url: str | None) -> tuple[str, str | None]:
    """The page key and absolute URL the widget will look the thread up by."""
    url = page.url.strip() if page.url else None
    if url and base_url and not urlsplit(url).scheme:
        url = urljoin(base_url, url)
    absolute = url if url and urlsplit(url).scheme in ("http", "https") \
        and urlsplit(url).hostname and len(url) <= URL_MAX else None
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
            raise bad_file(page.where, f"the page URL {url!r} is not absolute: pass "
                                       "--base-url https://your.site, or --page-key path|id")
        # The widget's default key: the page's origin and path, without query or fragment.
        parts = urlsplit(absolute)
        key = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    key = plain(key, keep_newlines=False)
    if not key or len(key) > PAGE_KEY_MAX:
        raise bad_file(page.where, f"the page key must be 1 to {PAGE_KEY_MAX} characters")
    return key, absolute


def in_write_order(batch: Batch) -> list[ImportedComment]:
    """Parents before their replies, oldest first; every reference checked."""
    by_id: dict[str, ImportedComment] = {}
    for comment in batch.comments:
        if comment.source_id in by_id:
            raise bad_file(comment.where, f"comment {comment.source_id!r} appears twice")
        if comment.page not in batch.pages:
            raise bad_file(comment.where, f"its page {comment.page!r} is not in the file")
        by_id[comment.source_id] = comment
    children: dict[str | None, list[ImportedComment]] = defaultdict(list)
    for comment in batch.comments:
        parent = by_id.get(comment.parent) if comment.parent is not None else None
        if comment.parent is not None and parent is None:
            raise bad_file(comment.where, f"it replies to {comment.parent!r}, which is not in "
                                          "the file")
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
        raise bad_file(stray.where, "its replies form a cycle and never reach a top-level "
                                    "comment")
    return ordered


def _age(comment: ImportedComment) -> tuple[int, str]:
    return comment.created_at, comment.source_id


def site_from_export(site_id: str, exported: dict[str, Any], now: int) -> Site:
    """A site as a Threadline export describes it, checked like `threadline site add`."""
    raw = exported.get("filters") if isinstance(exported.get("filters"), dict) else {}
    assert isinstance(raw, dict)
    default = Filters()
    try:
        filters = Filters(
            banned_words=tuple(str(w) for w in raw.get("banned_words", ())),
            suspect_words=tuple(str(w) for w in raw.get("suspect_words", ())),
            max_links=int(raw.get("max_links", default.max_links)),
            flag_threshold=int(raw.get("flag_threshold", default.flag_threshold)))
    except (TypeError, ValueError):
        raise bad_file("site.filters", "malformed word lists or thresholds") from None
    origins, name = exported.get("origins"), exported.get("name")
    return Site(id=check_site_id(site_id),
                name=clean_site_name(name if isinstance(name, str) else None, site_id),
                origins=clean_origins(origins if isinstance(origins, list) else []),
                moderation=parse_mode(str(exported.get("moderation") or "none")),
                filters=filters, created_at=now)


def import_key(source: str, comment: ImportedComment, page_key_: str) -> str:
    """Stable across runs of the same file, distinct across files: the source's id plus a
    digest of what never changes about the comment (its page and time)."""
    digest = hashlib.sha256(f"{page_key_}\x00{comment.created_at}".encode()).hexdigest()[:16]
    return f"import:{source}:{comment.source_id[:60]}:{digest}"


async def import_batch(store: Store, site: Site, batch: Batch, *, keys: PageKey,
                       base_url: str | None, now: int, create_site: bool = False,
                       dry_run: bool = False) -> ImportReport:
    """Write ``batch`` into ``site`` (created first when ``create_site``) in one
    transaction: all of it, or nothing."""
    ordered = in_write_order(batch)
    used = {c.page for c in ordered}
    resolved = {sid: (*page_key(p, keys, base_url), p.title)
                for sid, p in batch.pages.items() if sid in used}
    report = ImportReport()
    async with store.write() as tx:
        if create_site:
            await tx.insert_site(site)
        await _write(tx, site, batch.source, (batch.site or {}).get("id"), ordered, resolved,
                     report, now)
        await tx.insert_audit(AuditEntry(
            site_id=site.id, moderator_id=None, action="import", comment_id=None,
            before_status=None, after_status=None,
            detail=f"{batch.source}: {report.written} comments imported, "
                   f"{report.existing} already there", created_at=now))
        if dry_run:
            raise _DryRun(report)
    return report


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


async def dry_run(store: Store, site: Site, batch: Batch, *, keys: PageKey,
                  base_url: str | None, now: int, create_site: bool = False) -> ImportReport:
    """What ``import_batch`` would write, rolled back."""
    try:
        await import_batch(store, site, batch, keys=keys, base_url=base_url, now=now,
                           create_site=create_site, dry_run=True)
    except _DryRun as done:
        return done.report
    raise AssertionError("unreachable")  # pragma: no cover


async def _write(tx: Tx, site: Site, source: str, batch_site: str | None,
                 ordered: list[ImportedComment],
                 resolved: dict[str, tuple[str, str | None, str | None]], report: ImportReport,
                 now: int) -> None:
    done = await tx.imported_comments(site.id)  # idempotency key -> (id, parent id)
    same_site = batch_site == site.id
    pages: dict[str, int] = {}
    ids: dict[str, tuple[int, int | None]] = {}  # source id -> (id, top-level ancestor id)
    shown: Counter[int] = Counter()
    replies: Counter[int] = Counter()
    for comment in ordered:
        key, url, title = resolved[comment.page]
        ikey = import_key(source, comment, key)
        if ikey in done:
            row_id, row_parent = done[ikey]
            ids[comment.source_id] = (row_id, row_parent or row_id)
            report.existing += 1
            continue
        if comment.page not in pages:
            page = await tx.ensure_page(site.id, key, url, title, now)
            pages[comment.page] = page.id
            report.pages += 1
        root: int | None = None
        reply_to: int | None = None
        if comment.parent is not None:
            reply_to, root = ids[comment.parent]
        deleted = comment.status is Status.DELETED
        row = await tx.insert_comment(NewComment(
            site_id=site.id, page_id=pages[comment.page], parent_id=root, reply_to_id=reply_to,
            author_name=None if deleted else comment.name,
            author_hash=comment.author_hash if same_site else None,
            body="" if deleted else comment.body, status=comment.status,
            moderator=comment.moderator, created_at=comment.created_at, ip_hash=None,
            idempotency_key=ikey, held_reason=comment.held_reason))
        if comment.edited_at is not None or comment.flags:
            await tx.update_comment(row.id, edited_at=comment.edited_at, flags=comment.flags)
        ids[comment.source_id] = (row.id, root or row.id)
        report.new[comment.status.value] += 1
        if comment.status is Status.APPROVED:
            shown[pages[comment.page]] += 1
            if root is not None:
                replies[root] += 1
    for page_id, delta in shown.items():
        await tx.add_page_count(page_id, delta)
    for comment_id, delta in replies.items():
        await tx.add_reply_count(comment_id, delta)

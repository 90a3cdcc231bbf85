"""Writing an imported Batch in one transaction: all of it or nothing, and on a second run
only what the first did not write. Nothing is published: readers see imports on their next
load, and no page takes a ``seq`` without an event behind it."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from server.core.errors import DomainError
from server.core.imports import (
    Batch,
    ImportedComment,
    ImportReport,
    PageKey,
    bad_file,
    in_write_order,
    page_key,
    plain,
)
from server.core.models import AuditEntry, Filters, ReactionSet, Site, Status
from server.core.ports import NewComment, Store
from server.core.site_admin import reaction_set
from server.core.sites import check_site_id, clean_origins, clean_site_name, parse_mode
from server.core.sso_tokens import avatar_url
from server.core.transactions.combined import ImportWritingTx

VISIBLE_ROOTS = (Status.APPROVED, Status.DELETED)  # a tombstone still shows its replies
HELD_UNDER_HIDDEN = "imported: replies to a comment that is not published"
AUTHOR_HASH = re.compile(r"[0-9a-f]{64}")


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
            flag_threshold=int(raw.get("flag_threshold", default.flag_threshold)),
        )
    except (TypeError, ValueError):
        raise bad_file("site.filters", "malformed word lists or thresholds") from None
    origins, name = exported.get("origins"), exported.get("name")
    reactions = exported.get("reactions")
    try:
        offered = (
            reaction_set(str(reactions.get("kind")), " ".join(map(str, reactions.get("emoji", ()))))
            if isinstance(reactions, dict)
            else ReactionSet()
        )
    except DomainError as exc:
        raise bad_file("site.reactions", exc.message) from None
    return Site(
        id=check_site_id(site_id),
        name=clean_site_name(name if isinstance(name, str) else None, site_id),
        origins=clean_origins(origins if isinstance(origins, list) else []),
        moderation=parse_mode(str(exported.get("moderation") or "none")),
        filters=filters,
        created_at=now,
        reactions=offered,
    )


def import_key(source: str, comment: ImportedComment) -> str:
    """Stable across runs of the same file (whatever --page-key says), distinct across
    files: the source's id and a digest of it with the comment's time."""
    digest = hashlib.sha256(f"{comment.source_id}\x00{comment.created_at}".encode())
    return f"import:{source}:{comment.source_id[:60]}:{digest.hexdigest()[:16]}"


async def import_batch(
    store: Store,
    site: Site,
    batch: Batch,
    *,
    keys: PageKey,
    base_url: str | None,
    now: int,
    create_site: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Write ``batch`` into ``site`` (created first when ``create_site``) in one
    transaction: all of it, or nothing."""
    ordered = in_write_order(batch)
    used = {c.page for c in ordered}
    resolved = {
        sid: (*page_key(p, keys, base_url), p.title)
        for sid, p in batch.pages.items()
        if sid in used
    }
    report = ImportReport()
    async with store.write() as tx:
        if create_site:
            await tx.insert_site(site)
        await _Writer(tx, site, batch, resolved, report, now).write(ordered)
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=None,
                action="import",
                comment_id=None,
                before_status=None,
                after_status=None,
                detail=f"{batch.source}: {report.written} comments imported, "
                f"{report.existing} already there",
                created_at=now,
            )
        )
        if dry_run:
            raise _DryRun(report)
    return report


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


async def dry_run(
    store: Store,
    site: Site,
    batch: Batch,
    *,
    keys: PageKey,
    base_url: str | None,
    now: int,
    create_site: bool = False,
) -> ImportReport:
    """What ``import_batch`` would write, rolled back."""
    try:
        await import_batch(
            store,
            site,
            batch,
            keys=keys,
            base_url=base_url,
            now=now,
            create_site=create_site,
            dry_run=True,
        )
    except _DryRun as done:
        return done.report
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Row:
    id: int
    root: int  # its top-level comment's id (its own, at the top)
    root_status: Status
    page_id: int


@dataclass
class _Writer:
    tx: ImportWritingTx
    site: Site
    batch: Batch
    resolved: dict[str, tuple[str, str | None, str | None]]
    report: ImportReport
    now: int
    rows: dict[str, _Row] = field(default_factory=dict)  # by source id
    page_ids: dict[str, int] = field(default_factory=dict)  # by page key
    shown: Counter[int] = field(default_factory=Counter)
    replies: Counter[int] = field(default_factory=Counter)

    @property
    def same_site(self) -> bool:
        return (self.batch.site or {}).get("id") == self.site.id

    async def write(self, ordered: list[ImportedComment]) -> None:
        done = await self.tx.imported_comments(self.site.id)
        restored = await self._restored(ordered)
        touched: set[int] = set()
        for comment in ordered:
            page_id = await self._page(comment)
            earlier = done.get(import_key(self.batch.source, comment)) or restored.get(
                comment.source_id
            )
            if earlier is not None:
                self._known(comment, page_id, *earlier)
                continue
            await self._insert(comment, page_id)
            touched.add(page_id)
        self.report.pages = len(touched)
        for page, delta in self.shown.items():
            await self.tx.add_page_count(page, delta)
        for root, delta in self.replies.items():
            await self.tx.add_reply_count(root, delta)

    async def _page(self, comment: ImportedComment) -> int:
        key, url, title = self.resolved[comment.page]
        if key not in self.page_ids:
            page = await self.tx.ensure_page(self.site.id, key, url, title, self.now)
            self.page_ids[key] = page.id
        return self.page_ids[key]

    async def _restored(
        self, ordered: list[ImportedComment]
    ) -> dict[str, tuple[int, int | None, int, Status]]:
        """A Threadline export read back into its own site: rows still there, by id."""
        if self.batch.source != "threadline" or not self.same_site:
            return {}
        found: dict[str, tuple[int, int | None, int, Status]] = {}
        wanted = {int(c.source_id): c for c in ordered}
        ids = sorted(wanted)
        for i in range(0, len(ids), 1000):
            for cid, row in (await self.tx.find_comments(ids[i : i + 1000])).items():
                if row.site_id == self.site.id and row.created_at == wanted[cid].created_at:
                    found[str(cid)] = (row.id, row.parent_id, row.page_id, row.status)
        return found

    def _known(
        self,
        comment: ImportedComment,
        page_id: int,
        row_id: int,
        parent_id: int | None,
        row_page: int,
        status: Status,
    ) -> None:
        if row_page != page_id:
            raise bad_file(
                comment.where,
                "an earlier import put this comment on another page "
                "(another --page-key?); import with the same one",
            )
        if comment.parent is None or parent_id is None:
            self.rows[comment.source_id] = _Row(row_id, row_id, status, page_id)
        else:
            parent = self.rows[comment.parent]
            self.rows[comment.source_id] = _Row(row_id, parent.root, parent.root_status, page_id)
        self.report.existing += 1

    async def _insert(self, comment: ImportedComment, page_id: int) -> None:
        parent = self.rows.get(comment.parent) if comment.parent is not None else None
        status, held = comment.status, comment.held_reason
        if (
            status is Status.APPROVED
            and parent is not None
            and parent.root_status not in VISIBLE_ROOTS
        ):
            # Nobody could see it under a hidden thread: a moderator decides instead.
            status, held = Status.PENDING, HELD_UNDER_HIDDEN
        deleted = status is Status.DELETED
        author = (
            comment.author_hash
            if self.same_site and comment.author_hash and AUTHOR_HASH.fullmatch(comment.author_hash)
            else None
        )
        # A signed-in reader's mark travels with their author hash only (this server's own
        # export, restored into the same site): without it nothing vouches for the name.
        verified = comment.verified and author is not None and not deleted
        row = await self.tx.insert_comment(
            NewComment(
                site_id=self.site.id,
                page_id=page_id,
                parent_id=parent.root if parent else None,
                reply_to_id=parent.id if parent else None,
                author_name=None if deleted else comment.name,
                author_hash=author,
                body="" if deleted else comment.body,
                status=status,
                moderator=comment.moderator,
                created_at=comment.created_at,
                ip_hash=None,
                idempotency_key=import_key(self.batch.source, comment),
                held_reason=plain(held, keep_newlines=False)[:200] if held else None,
                verified=verified,
                author_avatar=_avatar(comment.avatar) if verified else None,
            )
        )
        if comment.edited_at is not None or comment.flags:
            await self.tx.update_comment(
                row.id, edited_at=comment.edited_at, flags=min(max(0, comment.flags), 1_000_000)
            )
        if comment.reactions and not deleted:
            # Rows of no reader, so the totals keep counting when readers react again.
            await self.tx.set_reactions(
                self.site.id, page_id, row.id, comment.reactions, comment.created_at
            )
            await self.tx.recount_reactions(row.id, self.site.reactions.choices)
        self.rows[comment.source_id] = (
            _Row(row.id, row.id, status, page_id)
            if parent is None
            else _Row(row.id, parent.root, parent.root_status, page_id)
        )
        self.report.new[status.value] += 1
        if status is Status.APPROVED:
            self.shown[page_id] += 1
            if parent is not None:
                self.replies[parent.root] += 1


def _avatar(value: str | None) -> str | None:
    """An imported avatar as a sign-in would take it (an https URL), else none."""
    try:
        return avatar_url(value)
    except DomainError:
        return None

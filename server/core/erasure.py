"""Privacy operations: an author erases their comments; owners export a site or erase one
author; old IP hashes are forgotten."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from server.core import notifications, subscriptions
from server.core.authority import require_owner
from server.core.context import Services
from server.core.decisions import RESTORE_MS
from server.core.errors import NotFound
from server.core.events import hidden
from server.core.imports import Batch
from server.core.models import AuditEntry, Event, Moderator, Page, QueueChange, Site, Status
from server.core.queue_changes import with_replies
from server.core.readers import author_hash_of
from server.core.sealing import PREFIX as SEALED
from server.core.sealing import Sealer

IP_HASH_DAYS = 30
# Changed and taken-back reactions are kept this long: paging under order=best ranks a
# thread as it stood at its first page (docs/protocol.md).
REACTION_HISTORY_MS = 86_400_000


async def my_comments(svc: Services, site: Site, token: str | None) -> list[dict[str, Any]]:
    """Everything this author token wrote on the site, including held comments."""
    async with svc.store.read() as tx:
        author = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        found = await tx.author_comments(site.id, author)
    return [
        {**c.public(), "status": c.status.value, "page": page_key}
        for c, page_key in found
        if c.status is not Status.DELETED
    ]


async def erase_mine(svc: Services, site: Site, token: str | None) -> int:
    """The author deletes every comment they wrote here, outside any edit window."""
    async with svc.store.read() as tx:
        author = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
    return await erase_author(svc, site, author, by=None)


async def erase_author(svc: Services, site: Site, author_hash: str, *, by: Moderator | None) -> int:
    """Blank the text, name and hashes of every comment by ``author_hash``; published ones
    leave every open page live. Replies by others stay, under a tombstone."""
    events: list[Event] = []
    changes: list[QueueChange] = []
    recounted: list[tuple[int, Page]] = []
    erased_ids: list[int] = []
    told = [author_hash]  # what they were told goes
    now = svc.now_ms()
    async with svc.store.write() as tx:
        # First of all locks (see author_changes.delete_comment): the pages' fan-outs under
        # way commit first, and what they told is erased below; none starts meanwhile.
        await tx.lock_fanout(
            sorted({c.page_id for c, _ in await tx.author_comments(site.id, author_hash)})
        )
        await tx.forget_flagger(author_hash)
        # Their reactions go, and the comments they reacted to are counted again (each
        # locked first, as a reaction locks it, so no concurrent count lands after ours).
        for reacted_to, page_id in await tx.delete_reactions_of(site.id, author_hash):
            counted = await tx.find_comment(reacted_to, for_update=True)
            if counted is None:
                continue
            totals = await tx.recount_reactions(reacted_to, site.reactions.choices)
            told += await notifications.reactions_counted(tx, counted, totals, now, renew=False)
            reacted_page = await tx.find_page_by_id(page_id)
            if reacted_page is not None:
                recounted.append((reacted_to, reacted_page))
        await tx.delete_notifications_of(site.id, author_hash)  # what they were told
        # Their addresses, with what they follow and the mail queued for them.
        await tx.delete_mail_addresses_of(site.id, author_hash)
        found = await tx.author_comments(site.id, author_hash)
        for listed, _ in found:
            # Locked and read again: a claim may have moved it to another author since.
            comment = await tx.find_comment(listed.id, for_update=True)
            if comment is None or comment.author_hash != author_hash:
                continue
            erased = await tx.update_comment(
                comment.id,
                status=Status.DELETED,
                body="",
                author_name=None,
                author_hash=None,
                author_avatar=None,
                verified=False,
                ip_hash=None,
                deleted_at=None,
                deleted_from=None,
            )
            if comment.status is Status.APPROVED:
                events.append(await hidden(tx, erased, now))
            erased_ids.append(comment.id)
            page = await tx.find_page_by_id(comment.page_id)
            assert page is not None
            changes.append(QueueChange(site.id, replace(erased), page, comment.status))
        # What others were told of their comments goes with them.
        erased_now = set(erased_ids)
        told += await notifications.told_of(tx, [c for c, _ in found if c.id in erased_now])
        await tx.delete_notifications_about(erased_ids)
        await tx.delete_mail_about(erased_ids)
        # A signed-in reader goes with their comments: the site's user id, name and avatar,
        # the readings of the name, and which anonymous comments they claimed (after the
        # comments, whose locks keep a claim from slipping in between).
        await tx.forget_claims(site.id, author_hash)
        await tx.delete_identity(author_hash)
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=by.id if by else None,
                action="erase",
                comment_id=None,
                before_status=None,
                after_status=None,
                detail=f"{len(changes)} comments erased ({'owner' if by else 'by the author'})",
                created_at=now,
            )
        )
        # After every erasure: a reply answering another erased comment shows it erased.
        changes = await with_replies(tx, changes)
    await svc.publish(events)
    for reacted_to, reacted_page in recounted:
        await svc.reactions_changed(site.id, reacted_page.id, reacted_page.key, reacted_to)
    await svc.notifications_changed(site.id, told)
    for change in changes:
        await svc.queue_changed(change)
    return len(changes)


async def erase_author_of(svc: Services, site: Site, comment_id: int, *, by: Moderator) -> int:
    require_owner(by, site.id, "erase an author's data")
    async with svc.store.read() as tx:
        comment = await tx.find_comment(comment_id)
    if comment is None or comment.site_id != site.id:
        raise NotFound("comment_not_found", "no such comment on this site")
    if comment.author_hash is None:
        return 0
    return await erase_author(svc, site, comment.author_hash, by=by)


EXPORT_AUTHORS = "export authors"


async def export_site(svc: Services, site: Site) -> dict[str, Any]:
    """The site's pages and comments as JSON: no secrets, no IP hashes, and each author
    hash sealed with this server's secret. Nobody reading the file can link comments by
    author; a restore into this server opens them, so authors keep their comments."""
    sealer = Sealer(svc.secret, EXPORT_AUTHORS)
    async with svc.store.read() as tx:
        pages = await tx.site_pages(site.id)
        comments = await tx.site_comments(site.id)
    return {
        "format": "threadline-export",
        "version": 1,
        "site": {
            "id": site.id,
            "name": site.name,
            "origins": list(site.origins),
            "moderation": site.moderation.value,
            "filters": site.filters.as_dict(),
            "reactions": site.reactions.as_dict(),
        },
        "pages": [
            {"id": p.id, "key": p.key, "url": p.url, "title": p.title, "count": p.count}
            for p in pages
        ],
        "comments": [
            {
                **c.public(),
                "page_id": c.page_id,
                "status": c.status.value,
                "author": sealer.seal(c.author_hash) if c.author_hash else None,
                "held_reason": c.held_reason,
                "flags": c.flags,
            }
            for c in comments
        ],
    }


def open_export_authors(batch: Batch, secret: str) -> None:
    """Open the author hashes a Threadline export sealed; those sealed by another server
    (or tampered with) are dropped: their comments are restored without an author."""
    sealer = Sealer(secret, EXPORT_AUTHORS)
    batch.comments = [
        replace(c, author_hash=sealer.open(c.author_hash))
        if c.author_hash and c.author_hash.startswith(SEALED)
        else c
        for c in batch.comments
    ]


async def forget_old_data(svc: Services) -> tuple[int, int, int]:
    """Drop IP hashes (of comments, flags and reactions) older than 30 days, expired
    sessions, reactions changed or taken back a day ago and readers' notifications unchanged
    for 30 days, and blank the text of comments moderators deleted more than 30 days ago.
    Returns (hashes, sessions, texts)."""
    now = svc.now_ms()
    async with svc.store.write() as tx:
        texts = await tx.purge_deleted_text(now - RESTORE_MS)
        hashes = await tx.purge_ip_hashes(now - IP_HASH_DAYS * 86_400_000)
        hashes += await tx.purge_flag_networks(now - IP_HASH_DAYS * 86_400_000)
        hashes += await tx.purge_reaction_networks(now - IP_HASH_DAYS * 86_400_000)
        await tx.purge_removed_reactions(now - REACTION_HISTORY_MS)
        await tx.purge_notifications(now - notifications.KEEP_MS)
        sessions = await tx.purge_sessions(now - 8 * 3_600_000)
        await tx.purge_invitations(now)  # the invited addresses go with them
        await tx.purge_password_resets(now)
        # Sent mail is remembered 30 days (a comment re-approved is not mailed twice), an
        # address's confirmation throttle one day.
        await tx.purge_mail(
            now - notifications.KEEP_MS,
            now - subscriptions.DAY_MS,
            now - subscriptions.UNCONFIRMED_KEEP_MS,
        )
    return hashes, sessions, texts

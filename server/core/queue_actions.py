"""What a moderator does to one comment from the queue (decide, reply, edit, ban, erase its
author's data, give claimed comments back) and to many at once. Each is refused unless they
moderate the comment's site (or, to erase, own it): the rule lives here, not in the pages
that call it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from server.core.authority import comment_to_moderate
from server.core.bans import ban_author
from server.core.comments import Draft, PostResult, post_comment
from server.core.context import Services
from server.core.decisions import Action, decide_comment, moderator_edit
from server.core.erasure import erase_author_of
from server.core.errors import DomainError, Forbidden
from server.core.identities import undo_claims
from server.core.models import Ban, Comment, Moderator, Status


async def decide(
    svc: Services,
    moderator: Moderator,
    comment_id: int,
    action: Action,
    *,
    expected: Status | None = None,
    version: str | None = None,
) -> Comment:
    _, site = await comment_to_moderate(svc, moderator, comment_id)
    return await decide_comment(
        svc, site, comment_id, action, moderator=moderator, expected=expected, version=version
    )


@dataclass(frozen=True, slots=True)
class Seen:
    """One comment of a bulk decision, as the moderator saw it."""

    comment_id: int
    status: Status | None = None
    version: str | None = None


@dataclass(slots=True)
class BulkOutcome:
    decided: list[int] = field(default_factory=list)
    refused: list[tuple[int, DomainError]] = field(default_factory=list)


async def decide_many(
    svc: Services, moderator: Moderator, action: Action, items: Sequence[Seen]
) -> BulkOutcome:
    """Each item decided on its own: one already handled (or not theirs) refuses that item
    only, and says why."""
    outcome = BulkOutcome()
    for item in items:
        try:
            await decide(
                svc,
                moderator,
                item.comment_id,
                action,
                expected=item.status,
                version=item.version,
            )
            outcome.decided.append(item.comment_id)
        except DomainError as exc:
            outcome.refused.append((item.comment_id, exc))
    return outcome


async def reply(
    svc: Services, moderator: Moderator, comment_id: int, body: object, *, client_ip: str
) -> PostResult:
    """A public reply, signed with the moderator's name for that site."""
    comment, site = await comment_to_moderate(svc, moderator, comment_id)
    async with svc.store.read() as tx:
        page = await tx.find_page_by_id(comment.page_id)
    assert page is not None
    return await post_comment(
        svc,
        site,
        Draft(page=page.key, body=body, parent=comment.id),
        token=None,
        client_ip=client_ip,
        moderator=True,
        name_override=moderator.public_name(site),
    )


async def edit(svc: Services, moderator: Moderator, comment_id: int, body: object) -> Comment:
    _, site = await comment_to_moderate(svc, moderator, comment_id)
    return await moderator_edit(svc, site, comment_id, body, moderator=moderator)


async def ban(
    svc: Services,
    moderator: Moderator,
    comment_id: int,
    *,
    mode: str,
    include_ip: bool,
    reason: str,
) -> Ban:
    _, site = await comment_to_moderate(svc, moderator, comment_id)
    return await ban_author(
        svc, site, comment_id, moderator=moderator, mode=mode, include_ip=include_ip, reason=reason
    )


async def erase_author_data(svc: Services, owner: Moderator, comment_id: int) -> int:
    """Erase everything by whoever wrote the comment, on its site; owners only. Returns how
    many comments were erased."""
    async with svc.store.read() as tx:
        comment = await tx.find_comment(comment_id)
        site = await tx.find_site(comment.site_id) if comment is not None else None
    if comment is None or site is None or not owner.owns(comment.site_id):
        # The same answer whether the comment exists: nothing about other sites leaks.
        raise Forbidden("not_owner", "only the site's owners can erase an author's data")
    return await erase_author_of(svc, site, comment.id, by=owner)


async def give_back_claims(svc: Services, moderator: Moderator, comment_id: int) -> int:
    """Give every comment the comment's signed-in author claimed back to the anonymous
    author who wrote it (audited as "unclaim"). Returns how many went back."""
    _, site = await comment_to_moderate(svc, moderator, comment_id)
    return await undo_claims(svc, site, comment_id, by=moderator)

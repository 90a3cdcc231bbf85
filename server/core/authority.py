"""Who may do what: moderators act on their own sites' comments only; owners alone change a
site. Every use-case a moderator calls checks here, so no transport has to remember to."""

from __future__ import annotations

from server.core.context import Services
from server.core.errors import Forbidden, NotFound
from server.core.models import Comment, Moderator, Site


def require_owner(moderator: Moderator, site_id: str, doing: str = "change its settings") -> None:
    if not moderator.owns(site_id):
        raise Forbidden("not_owner", f"only the site's owners can {doing}")


def require_moderator(moderator: Moderator, site_id: str) -> None:
    if not moderator.can_moderate(site_id):
        raise Forbidden("not_your_site", "you do not moderate the site of that comment")


async def owned_site(svc: Services, moderator: Moderator, site_id: str) -> Site:
    """The site, if ``moderator`` owns it."""
    require_owner(moderator, site_id)
    async with svc.store.read() as tx:
        site = await tx.find_site(site_id)
    if site is None:
        raise NotFound("unknown_site", f"no site {site_id!r} is registered here")
    return site


async def comment_to_moderate(
    svc: Services, moderator: Moderator, comment_id: int
) -> tuple[Comment, Site]:
    """The comment and its site, if ``moderator`` moderates that site."""
    async with svc.store.read() as tx:
        comment = await tx.find_comment(comment_id)
        if comment is None:
            raise NotFound("comment_not_found", "no such comment")
        require_moderator(moderator, comment.site_id)
        site = await tx.find_site(comment.site_id)
    assert site is not None  # a comment's site outlives it
    return comment, site

"""Readers react to comments: one live reaction per reader and comment (and, for anonymous
readers, per network), never to their own, counted exactly however many arrive at once.

A reader is their voter hash: the author hash of their token, or of their signed-in
identity (``readers.author_hash_of``). Reactions are not durable events: the totals live on
the comment, and live readers get them coalesced (``Publisher.reactions_changed``)."""

from __future__ import annotations

from dataclasses import dataclass

from server.core import notifications
from server.core.authors import AuthorTokens
from server.core.context import Services
from server.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable
from server.core.models import Comment, Page, Site, SsoPolicy, Status
from server.core.privacy import ip_hash
from server.core.ranking import WRITE_WITHIN_MS
from server.core.readers import author_hash_of, is_session
from server.core.text import clean_page_key
from server.core.transactions.comments import CommentsTx
from server.core.transactions.pages import PagesTx
from server.core.transactions.reactions import NewReaction, Totals

VOTER_PER_MINUTE = 30  # reactions and take-backs of one reader
NETWORK_PER_MINUTE = 120  # of one network, every reader on it together
MINE_MAX = 1000


@dataclass(frozen=True, slots=True)
class Reacted:
    reaction: str | None  # the reader's live reaction now
    totals: Totals
    token: str | None = None  # an author token issued to a reader who came without one

    def public(self) -> dict[str, object]:
        body: dict[str, object] = {"reaction": self.reaction, "reactions": dict(self.totals)}
        if self.token is not None:
            body["token"] = self.token
        return body


class _Raced(Exception):
    """A concurrent request inserted the live row this one was about to: read again."""


def choice_of(site: Site, value: object) -> str:
    """The reaction asked for, if the site offers it."""
    choices = site.reactions.choices
    if not choices:
        raise Forbidden("reactions_off", "this site does not take reactions")
    if not isinstance(value, str) or value not in choices:
        raise Invalid("invalid_reaction", "the reaction must be one of: " + " ".join(choices))
    return value


def _no_token() -> Unauthorized:
    return Unauthorized(
        "invalid_token", "send your author token or session as 'Authorization: Bearer'"
    )


async def _voter(svc: Services, site: Site, token: str) -> str:
    """The reader's voter hash; a session is read (it may have ended), a token is not."""
    if is_session(token):
        async with svc.store.read() as tx:
            return await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
    return AuthorTokens.hash(site.id, AuthorTokens.check_format(token))


async def _visible(tx: CommentsTx, site: Site, comment_id: int) -> Comment:
    """The comment, locked until commit: every reaction to it queues here, which is what
    keeps its totals exact. Held comments answer like missing ones."""
    comment = await tx.find_comment(comment_id, for_update=True)
    if comment is None or comment.site_id != site.id or comment.status is not Status.APPROVED:
        raise NotFound("comment_not_found", "no such comment on this site")
    return comment


async def _page_of(tx: PagesTx, comment: Comment) -> Page:
    page = await tx.find_page_by_id(comment.page_id)
    assert page is not None
    return page


async def react(
    svc: Services,
    site: Site,
    comment_id: int,
    reaction: object,
    *,
    token: str | None,
    client_ip: str,
) -> Reacted:
    """Give ``reaction`` to a comment, replacing the reader's earlier one; the same one again
    changes nothing. A reader who sent no token gets one, as with a first post."""
    kind = choice_of(site, reaction)
    if site.sso.policy is SsoPolicy.ONLY and not is_session(token):
        # As with comments: on such a site only the readers it signs in take part.
        raise Forbidden("sso_required", "sign in to react on this site")
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"react-net:{site.id}:{network}", NETWORK_PER_MINUTE, 60, "reactions")
    issued = None
    if token is None:
        token = issued = svc.tokens.issue(site.id)
    voter = await _voter(svc, site, token)
    if issued is None:  # a new token has no history to limit
        await svc.check_rate(f"react:{site.id}:{voter}", VOTER_PER_MINUTE, 60, "reactions")
    # Signed-in readers are one each however many share a network; anonymous ones are
    # limited to one live reaction per network and comment, to blunt sock puppets.
    limited_network = None if is_session(token) else network
    for attempt in range(2):
        try:
            totals, page, told = await _react_once(
                svc, site, comment_id, kind, token, issued, voter, limited_network
            )
            break
        except _Raced:
            # Rare (rows are written under the comment's lock): the second read sees the
            # winner's row and answers for it.
            if attempt:
                raise Conflict("conflict", "the reaction changed concurrently; try again") from None
    if page is not None:  # changed
        await svc.reactions_changed(site.id, page.id, page.key, comment_id)
        await svc.notifications_changed(site.id, told)
    return Reacted(kind, totals, issued)


async def _react_once(
    svc: Services,
    site: Site,
    comment_id: int,
    kind: str,
    token: str,
    issued: str | None,
    voter: str,
    network: str | None,
) -> tuple[Totals, Page | None, list[str]]:
    """One attempt in one transaction: the comment's totals, its page if they changed, and
    the reader whose reactions summary changed with them."""
    async with svc.store.write() as tx:
        if (
            issued is None
            and not is_session(token)
            and not svc.tokens.issued_here(site.id, token)
            and not await tx.author_known(site.id, voter)
        ):
            raise Unauthorized("invalid_token", "this author token was not issued here")
        comment = await _visible(tx, site, comment_id)
        # Stamped once the comment is locked, not before waiting for it: see _committing.
        now = svc.now_ms()
        _not_own(comment, voter, network)
        live = await tx.live_reactions(comment.id, voter, network)
        mine = next((row for row in live if row.voter == voter), None)
        if mine is not None and mine.kind == kind:
            return comment.reaction_counts, None, []
        if any(row.voter != voter for row in live):
            raise Conflict(
                "network_already_reacted",
                "someone on your network already reacted to this comment",
            )
        if mine is not None:
            await tx.remove_reaction(comment.id, voter, now)
        added = await tx.add_reaction(
            NewReaction(site.id, comment.page_id, comment.id, voter, network, kind, now)
        )
        if not added:
            raise _Raced
        totals = await tx.recount_reactions(comment.id, site.reactions.choices)
        told = (
            await notifications.reactions_counted(tx, comment, totals, now, renew=True)
            if svc.notifications
            else []
        )
        page = await _page_of(tx, comment)
        _committing(svc, now)
        return totals, page, told


def _not_own(comment: Comment, voter: str, network: str | None) -> None:
    """A reader may not react to their own comment: not with the token that wrote it, and
    not anonymously from the network it was written from (leaving the token out would
    otherwise mint a new reader for the author)."""
    own = comment.author_hash is not None and comment.author_hash == voter
    if own or (network is not None and comment.ip_hash == network):
        raise Forbidden("own_comment", "you cannot react to your own comment")


def _committing(svc: Services, stamped: int) -> None:
    """Roll back a write whose history stamp is more than ``WRITE_WITHIN_MS`` old: a best
    listing ranks as of ``SETTLE_MS`` ago, and must never later find history stamped before
    its snapshot that had not committed when it ranked (docs/protocol.md)."""
    if svc.now_ms() - stamped > WRITE_WITHIN_MS:
        raise Unavailable("busy", "the server is busy; try again")


async def unreact(
    svc: Services, site: Site, comment_id: int, *, token: str | None, client_ip: str
) -> Reacted:
    """Take back the reader's reaction to a comment; none to take back is no error."""
    if not site.reactions.choices:
        raise Forbidden("reactions_off", "this site does not take reactions")
    if token is None:
        raise _no_token()
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"react-net:{site.id}:{network}", NETWORK_PER_MINUTE, 60, "reactions")
    voter = await _voter(svc, site, token)
    await svc.check_rate(f"react:{site.id}:{voter}", VOTER_PER_MINUTE, 60, "reactions")
    async with svc.store.write() as tx:
        comment = await _visible(tx, site, comment_id)
        now = svc.now_ms()
        removed = await tx.remove_reaction(comment.id, voter, now)
        if removed is None:
            return Reacted(None, comment.reaction_counts)
        totals = await tx.recount_reactions(comment.id, site.reactions.choices)
        told = (
            await notifications.reactions_counted(tx, comment, totals, now, renew=False)
            if svc.notifications
            else []
        )
        page = await _page_of(tx, comment)
        _committing(svc, now)
    await svc.reactions_changed(site.id, page.id, page.key, comment.id)
    await svc.notifications_changed(site.id, told)
    return Reacted(None, totals)


async def my_reactions(
    svc: Services, site: Site, page_key: object, token: str | None
) -> dict[str, str]:
    """The reader's live reactions on a page (the newest ``MINE_MAX``), by comment id."""
    key = clean_page_key(page_key)
    if token is None:
        raise _no_token()
    async with svc.store.read() as tx:
        voter = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        page = await tx.find_page(site.id, key)
        if page is None:
            return {}
        mine = await tx.my_reactions(site.id, page.id, voter, MINE_MAX)
    return {str(comment_id): kind for comment_id, kind in mine}

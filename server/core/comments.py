"""Posting comments and replies: each write and its event in one transaction. An author's
later edits and deletions are ``author_changes``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from server.core.authors import AuthorTokens
from server.core.context import Services
from server.core.errors import (
    Conflict,
    DuplicateKey,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
)
from server.core.events import comment_event
from server.core.guards import DUPLICATE_WINDOW, form_age_ms, honeypot_filled
from server.core.models import (
    Comment,
    Event,
    EventType,
    Mode,
    Page,
    QueueChange,
    Site,
    SsoPolicy,
    Status,
)
from server.core.names import imitates, name_keys, wears_check_mark
from server.core.origins import origin_allowed, origin_of_url
from server.core.ports import NewComment
from server.core.privacy import ip_hash
from server.core.readers import is_session, session_identity
from server.core.screening import Decision, decide
from server.core.text import clean_body, clean_name, clean_page_key, clean_title, clean_url
from server.core.transactions.comments import CommentsTx
from server.core.transactions.identities import IdentitiesTx
from server.core.transactions.pages import PagesTx


@dataclass(frozen=True, slots=True)
class Draft:
    """A comment as a reader submitted it, before validation."""

    page: object
    body: object
    name: object = None
    parent: object = None
    url: object = None
    title: object = None
    form_token: object = None  # from the thread listing: times the submission
    hp: object = None  # the honeypot: filled only by bots


@dataclass(frozen=True, slots=True)
class PostResult:
    comment: Comment
    page: Page
    author_token: str | None
    replayed: bool = False


def page_ref(
    site: Site, page: object, url: object, title: object
) -> tuple[str, str | None, str | None]:
    """Validate a page key with its optional URL (which must be on the site's origins). A
    key that is itself a URL of the site (the widget's default) is the page's URL: a post
    cannot claim another one for it."""
    key = clean_page_key(page)
    clean = clean_url(url)
    if clean is not None and not origin_allowed(origin_of_url(clean), site.origins):
        raise Invalid("url_not_allowed", "url is not on one of this site's allowed origins")
    return key, _url_of_key(site, key) or clean, clean_title(title)


def _url_of_key(site: Site, key: str) -> str | None:
    if not key.startswith(("http://", "https://")):
        return None
    try:
        url = clean_url(key)
    except Invalid:
        return None
    return url if url is not None and origin_allowed(origin_of_url(url), site.origins) else None


async def post_comment(
    svc: Services,
    site: Site,
    draft: Draft,
    *,
    token: str | None,
    client_ip: str,
    idempotency_key: str | None = None,
    moderator: bool = False,
    name_override: str | None = None,
) -> PostResult:
    """Validate and store a comment or reply; publish it if it is approved at once."""
    args = (svc, site, draft, token, client_ip, idempotency_key, moderator, name_override)
    counted: list[str] = []
    if not moderator:
        client_key = f"post:{site.id}:{ip_hash(svc.secret, client_ip)}"
        await svc.check_rate(client_key, svc.limits.rate_limit, 60, "comments")
        # Keyed by the cleaned key, the one the comment lands under: " p" and "p\n" are p.
        page_key = hashlib.sha256(clean_page_key(draft.page).encode()).hexdigest()[:24]
        page_limit = f"page:{site.id}:{page_key}"
        await svc.check_rate(page_limit, svc.limits.page_rate_limit, 60, "comments on this page")
        limits = ((client_key, svc.limits.rate_limit), (page_limit, svc.limits.page_rate_limit))
        counted = [key for key, limit in limits if limit > 0]
    try:
        try:
            return await _post_once(*args)
        except DuplicateKey:
            # A concurrent retry of this very post won the insert: this attempt replays it.
            return await _post_once(*args)
    except Unavailable:
        # Nothing was posted (the database did not answer): the attempt is not counted,
        # or the retries of an outage would spend a page's budget for everyone after it.
        for counted_key in counted:
            await svc.limiter.release(counted_key)
        raise


async def _post_once(
    svc: Services,
    site: Site,
    draft: Draft,
    token: str | None,
    client_ip: str,
    idempotency_key: str | None,
    moderator: bool,
    name_override: str | None,
) -> PostResult:
    key, url, title = page_ref(site, draft.page, draft.url, draft.title)
    body = clean_body(draft.body)
    now = svc.now_ms()
    signed_in = not moderator and is_session(token)
    # A signed-in reader's name is the one their site gave: a name in the post is ignored.
    name = name_override if moderator or signed_in else clean_name(draft.name)
    parent_id = _parent_id(draft.parent)
    issued = None
    author_hash = ""  # a signed-in reader's is read with their identity, below
    if not signed_in:
        if site.sso.policy is SsoPolicy.ONLY and not moderator:
            raise Forbidden("sso_required", "sign in to comment on this site")
        if token is None:
            request = "\0".join((key, body, name or "", str(parent_id or "")))
            token = issued = svc.tokens.issue(site.id, idempotency_key, request)
        author_hash = AuthorTokens.hash(site.id, AuthorTokens.check_format(token))
    client = ip_hash(svc.secret, client_ip)
    events: list[Event] = []
    async with svc.store.write() as tx:
        identity = None
        if signed_in:
            assert token is not None
            identity = await session_identity(tx, svc.secret, site, token, now)
            author_hash, name = identity.author_hash, identity.name
        elif name is not None and not moderator:
            await _check_name_free(tx, site, name)
        if idempotency_key is not None:
            earlier = await tx.find_comment_by_key(site.id, idempotency_key)
            if earlier is not None:
                return await _replay(tx, earlier, author_hash, issued, (key, body, parent_id))
        page = await tx.ensure_page(site.id, key, None, None, now)
        parent, answered = await _attach_point(tx, page, parent_id)
        ban, approved_before = None, False
        if not moderator:
            ban, duplicate, approved_before = await tx.author_checks(
                site.id,
                page.id,
                author_hash,
                client,
                body,
                now - DUPLICATE_WINDOW,
                need_approved=site.moderation is Mode.FIRST_TIME,
            )
            if ban == "reject":
                raise Forbidden("author_banned", "you can no longer comment on this site")
            if duplicate:
                raise Conflict("duplicate_comment", "you just posted this comment")
        # A reader the site signed in as a moderator (and the site allows it) publishes
        # at once, as the moderation pages' replies do; bans and limits still apply.
        vouched = identity is not None and identity.moderator and site.sso.moderators
        decision = decide(
            site,
            body,
            name,
            author_approved=int(approved_before),
            moderator=moderator or vouched,
        )
        if not moderator:
            decision = _guarded(svc, site, draft, decision, ban is not None, now)
        if not honeypot_filled(draft.hp) and ((url and not page.url) or (title and not page.title)):
            # The first post names a page it is the first to name; a viewer never does,
            # and a post caught by the honeypot never does either.
            page = await tx.ensure_page(site.id, key, url, title, now)
        comment = await tx.insert_comment(
            NewComment(
                site_id=site.id,
                page_id=page.id,
                parent_id=parent.id if parent else None,
                reply_to_id=parent_id,
                author_name=name,
                author_hash=author_hash,
                body=body,
                status=decision.status,
                moderator=moderator or vouched,
                created_at=now,
                ip_hash=client,
                idempotency_key=idempotency_key,
                held_reason=decision.reason,
                verified=identity is not None,
                author_avatar=identity.avatar if identity is not None else None,
            )
        )
        if decision.status is Status.APPROVED:
            if parent is not None:
                await tx.add_reply_count(parent.id, +1)
            # Last: a store that numbers it here holds the page's row lock until commit
            # (core.events); PostgreSQL numbers it at commit.
            appended = await tx.append_event(page.id, +1, EventType.CREATED.value, comment.id, now)
            events.append(
                comment_event(appended.page, EventType.CREATED, comment, appended.event_id)
            )
    published = await svc.publish(events)
    if published and published[-1].seq > 0:  # the page as the post left it
        page = replace(page, seq=published[-1].seq, count=published[-1].data["count"])
    if comment.status is Status.APPROVED and svc.notifications:
        # Those it answers and its thread's followers are told after commit, many posts at
        # once, from the page's events (core.fanout): no statement more in this transaction.
        svc.wake_fanout(page.id)
    await svc.queue_changed(QueueChange(site.id, comment, page, None, replying_to=answered))
    return PostResult(comment, page, issued)


async def _check_name_free(tx: IdentitiesTx, site: Site, name: str) -> None:
    """An anonymous name may not pass for a verified reader of the site, or a moderator
    (whose replies show their display name, or the site's own name)."""
    reserved = site.sso.policy is not SsoPolicy.ANONYMOUS and await tx.name_reserved(
        site.id, name_keys(name)
    )
    if wears_check_mark(name):
        raise Invalid(
            "name_reserved", "names may not carry a check mark: it marks verified readers"
        )
    if reserved or imitates(name, [*await tx.moderator_names(site.id), site.name]):
        raise Conflict(
            "name_reserved", "this name belongs to a signed-in reader or a moderator here"
        )


def _guarded(
    svc: Services, site: Site, draft: Draft, decision: Decision, banned: bool, now: int
) -> Decision:
    """Bots and banned authors: stored for review instead of published. A filled honeypot
    is held, not thrown into Spam: a person's browser may have autofilled it, so a moderator
    sees it in the queue (the API answers "pending" either way, so a bot learns nothing)."""
    if honeypot_filled(draft.hp):
        return Decision(
            Status.PENDING,
            "the hidden honeypot field was filled in (a bot, or a browser's autofill)",
        )
    if decision.status is not Status.APPROVED:
        return decision
    if banned:
        return Decision(Status.PENDING, "author is banned (held for review)")
    if svc.limits.min_submit_ms:
        # A missing or forged token is no better than a fast one: skipping the guard must
        # not be as easy as leaving the field out.
        age = form_age_ms(svc.secret, site.id, draft.form_token, now)
        if age is None:
            return Decision(Status.PENDING, "sent without a valid form token")
        if age < svc.limits.min_submit_ms:
            return Decision(Status.PENDING, f"submitted {age / 1000:.1f}s after loading the form")
    return decision


def _parent_id(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 < value < 2**62:
        raise Invalid("invalid_parent", "parent must be a comment id")
    return value


async def _attach_point(
    tx: CommentsTx, page: Page, parent_id: int | None
) -> tuple[Comment | None, Comment | None]:
    """The comment a reply hangs under, and the one it answers: replies nest one level,
    so a reply to a reply attaches to its top-level ancestor."""
    if parent_id is None:
        return None, None
    # Locked: the reply carries the comment it answers to the moderators' live queue, so an
    # erasure of that comment must not commit between this read and the reply's commit (it
    # waits for the reply, or the reply sees it erased and is refused).
    parent = await tx.find_comment(parent_id, for_update=True)
    # A held or removed comment answers like a missing one: a different error would tell
    # anyone who guesses ids that it exists.
    if parent is None or parent.site_id != page.site_id or parent.status is not Status.APPROVED:
        raise NotFound("unknown_parent", "the comment you are replying to does not exist")
    if parent.page_id != page.id:
        raise Invalid("parent_on_other_page", "the comment you are replying to is on another page")
    if parent.parent_id is None:
        return parent, parent
    root = await tx.find_comment(parent.parent_id)
    if root is None:  # pragma: no cover -- foreign key keeps the root
        raise NotFound("unknown_parent", "the comment you are replying to does not exist")
    return root, parent


async def _replay(
    tx: PagesTx,
    earlier: Comment,
    author_hash: str,
    issued: str | None,
    request: tuple[str, str, int | None],
) -> PostResult:
    """A retried post (same idempotency key) gets the original answer, not a second row.

    Only the very same request by the same author is a retry. Without credentials the
    token is derived from the key and the request, so another body under a known key
    yields another author (and a 409), never the first author's token."""
    if earlier.author_hash != author_hash:
        raise Conflict("idempotency_key_reused", "this idempotency key was used by another post")
    page = await tx.find_page_by_id(earlier.page_id)
    assert page is not None
    if (page.key, earlier.body, earlier.reply_to_id) != request:
        raise Conflict(
            "idempotency_key_reused", "this idempotency key was used for a different comment"
        )
    return PostResult(earlier, page, issued, replayed=True)

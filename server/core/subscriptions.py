"""E-mail on replies and threads, opt-in (issue #18): a reader leaves an address, confirms
it once, and hears of replies to their comment (``replies``) or of every comment published
on a page (``thread``) until they unsubscribe with a link from any of the mails.

Abuse is the design constraint. An address is never shown back, logged or exported: it is
sealed at rest (``sealing.Sealer``) and found by a keyed digest of its normalised form (the
same on every site), so the answer to a subscription request is the same whatever the
address's state, and an address receives at most one confirmation a day across all sites.
Links in the mails are the capability: signed with ``itsdangerous``, a salt per purpose, so
a link for one purpose never works for another, and a tampered one is refused.

Mail is queued (the durable outbox) by the fan-out of a posted comment (``core.fanout``), or
in the transaction of a moderator's approval, and sent by ``server.mail.outbox``; posting
never waits for SMTP."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.core.context import Services
from server.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from server.core.models import Comment, Site, Status
from server.core.privacy import ip_hash
from server.core.readers import author_hash_of, is_session
from server.core.sealing import Sealer
from server.core.transactions.fanout import Published
from server.core.transactions.subscriptions import (
    NewMail,
    StoredAddress,
    StoredSubscription,
    SubscriptionsTx,
)

REPLIES = "replies"
THREAD = "thread"
SCOPES = (REPLIES, THREAD)
LANGUAGES = ("en", "de", "es", "fr", "sr-Latn", "sr-Cyrl")
DAY_MS = 86_400_000
# A reader may ask this many subscriptions an hour on a site (each address still gets at
# most one confirmation a day): the cap on how much one token can make the server do. A
# network, however many tokens it holds, this many; a site, from everyone, this many.
SUBSCRIBE_LIMIT = 20
SUBSCRIBE_NETWORK_LIMIT = 20
SUBSCRIBE_SITE_LIMIT = 200
# Unconfirmed addresses are forgotten once their confirmation link has expired.
UNCONFIRMED_KEEP_MS = 7 * DAY_MS
EMAIL_MAX = 254

# Link purposes: each signs with its own salt, and has its own lifetime.
CONFIRM_LINK = "confirm"
UNSUBSCRIBE_LINK = "unsubscribe"
MANAGE_LINK = "manage"
LINK_MAX_AGE = {
    CONFIRM_LINK: 7 * 86_400,
    UNSUBSCRIBE_LINK: 5 * 365 * 86_400,  # one-click unsubscribe must work from old mail
    MANAGE_LINK: 5 * 365 * 86_400,
}

# Deliberately narrow: one @, no spaces, quotes, angle brackets, commas or control
# characters (nothing that could become a second recipient or a header), a dotted domain.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def mail_off() -> Forbidden:
    return Forbidden("mail_off", "this server does not send e-mail (no SMTP server is set)")


def _invalid_link() -> Invalid:
    return Invalid("invalid_link", "this link is invalid or has expired; use a newer e-mail")


def normalise(email: object) -> str:
    """The address as it will be written to: trimmed, domain lower-cased; refused when it
    is not a plain address."""
    if not isinstance(email, str) or len(email) > EMAIL_MAX:
        raise Invalid("invalid_email", "send a valid e-mail address")
    address = email.strip()
    if not _EMAIL.fullmatch(address) or ".." in address:
        raise Invalid("invalid_email", "send a valid e-mail address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"threadline mail v1: {purpose}".encode(),
    ).derive(secret.encode())


def address_digest(secret: str, address: str) -> str:
    """A keyed digest of the address exactly as it will be written to (``normalise``d):
    what finds it, and what its manage link covers. Exact, because on many servers
    ``alice+x@`` or ``Alice@`` is somebody else's mailbox than ``alice@``: a loose key would
    hand one of them the other's subscriptions."""
    return hmac.new(_derive(secret, "digest"), address.encode(), hashlib.sha256).hexdigest()


# Providers known to ignore dots in the local part (and their aliases).
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def inbox_key(secret: str, address: str) -> str:
    """A keyed digest of the inbox an address reaches, as loosely as mail providers read
    it (case, a ``+tag``, Gmail's dots and its googlemail alias): the confirmation cap
    counts per inbox, so spellings of one address cannot each bring its owner a mail."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local, domain = local.replace(".", ""), _DOTLESS[domain]
    inbox = f"{local}@{domain}"
    return hmac.new(_derive(secret, "inbox"), inbox.encode(), hashlib.sha256).hexdigest()


def address_sealer(secret: str) -> Sealer:
    return Sealer(secret, "mail address")


def sign_link(secret: str, purpose: str, payload: list[Any]) -> str:
    return URLSafeTimedSerializer(secret, salt=f"threadline.mail.{purpose}").dumps(payload)


def read_link(secret: str, purpose: str, token: object) -> list[Any]:
    """The payload of a link this server signed for ``purpose``, or ``invalid_link``."""
    if not isinstance(token, str) or not token or len(token) > 512:
        raise _invalid_link()
    serializer = URLSafeTimedSerializer(secret, salt=f"threadline.mail.{purpose}")
    try:
        payload = serializer.loads(token, max_age=LINK_MAX_AGE[purpose])
    except BadSignature as exc:  # SignatureExpired is one too
        raise _invalid_link() from exc
    if not isinstance(payload, list):
        raise _invalid_link()
    return payload


def _language(lang: object) -> str:
    return lang if isinstance(lang, str) and lang in LANGUAGES else "en"


async def subscribe(
    svc: Services,
    site: Site,
    token: str | None,
    comment_id: int,
    scope: object,
    email: object,
    lang: object = None,
    *,
    client_ip: str,
) -> None:
    """Ask for mail about a comment's replies or its whole thread. The answer is the same
    whatever the address's state: a confirmation is queued when the address is new (at
    most one a day across sites), and one this reader confirmed already is used at once."""
    if token is None:
        raise Unauthorized(
            "token_required", "send your author token or session as 'Authorization: Bearer'"
        )
    if scope not in SCOPES:
        raise Invalid("invalid_scope", "scope must be 'replies' or 'thread'")
    address = normalise(email)
    digest = address_digest(svc.secret, address)
    await svc.check_rate(
        f"subscribe-net:{site.id}:{ip_hash(svc.secret, client_ip)}",
        SUBSCRIBE_NETWORK_LIMIT,
        3600,
        "subscriptions from your network",
    )
    await svc.check_rate(
        f"subscribe-site:{site.id}", SUBSCRIBE_SITE_LIMIT, 3600, "subscriptions on this site"
    )
    async with svc.store.read() as tx:
        reader = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        # A reader this site knows (who posted or signed in), not any well-formed token: a
        # made-up token a minute would otherwise be a fresh limit a minute.
        if not (
            is_session(token)
            or svc.tokens.issued_here(site.id, token)
            or await tx.author_known(site.id, reader)
        ):
            raise Unauthorized("invalid_token", "this author token was not issued here")
    await svc.check_rate(f"subscribe:{site.id}:{reader}", SUBSCRIBE_LIMIT, 3600, "subscriptions")
    async with svc.store.write() as tx:
        now = svc.now_ms()
        comment = await tx.find_comment(comment_id)
        own = comment is not None and comment.author_hash == reader
        if (
            comment is None
            or comment.site_id != site.id
            or not (comment.status is Status.APPROVED or (own and comment.status is Status.PENDING))
        ):
            raise NotFound("comment_not_found", "no such comment on this site")
        if scope == REPLIES and not own:
            raise Forbidden("not_your_comment", "you can only follow replies to your own comment")
        stored = await tx.find_mail_address(site.id, digest, reader)
        if stored is None:
            sealed = address_sealer(svc.secret).seal(address)
            stored = await tx.add_mail_address(
                site.id, digest, sealed, reader, _language(lang), now
            )
        followed = await tx.find_subscription(stored.id, str(scope), comment.id, comment.page_id)
        if followed is None:
            followed = await tx.add_subscription(
                site.id, stored.id, str(scope), comment.id, comment.page_id, now
            )
        inbox = inbox_key(svc.secret, address)
        if stored.confirmed_at is None and await tx.claim_confirmation(inbox, now, now - DAY_MS):
            await tx.enqueue_confirmation(site.id, stored.id, followed.id, now)


@dataclass(frozen=True, slots=True)
class Confirmed:
    site_id: str


async def confirm(svc: Services, link_token: object) -> Confirmed:
    """The address's owner clicked the confirmation link: its subscriptions start."""
    payload = read_link(svc.secret, CONFIRM_LINK, link_token)
    async with svc.store.write() as tx:
        stored = await tx.mail_address(int(payload[0])) if _ids_ok(payload, 2) else None
        if stored is None or not hmac.compare_digest(stored.digest, str(payload[1])):
            raise _invalid_link()
        await tx.confirm_mail_address(stored.id, svc.now_ms())
        return Confirmed(stored.site_id)


def _ids_ok(payload: list[Any], length: int) -> bool:
    return len(payload) == length and type(payload[0]) is int and isinstance(payload[1], str)


async def unsubscribe(svc: Services, link_token: object) -> None:
    """One-click unsubscribe from one subscription. Idempotent: a second click (or a mail
    client's automatic POST after the reader's) answers the same."""
    payload = read_link(svc.secret, UNSUBSCRIBE_LINK, link_token)
    if not _ids_ok(payload, 2):
        raise _invalid_link()
    async with svc.store.write() as tx:
        followed = await tx.subscription(int(payload[0]))
        if followed is None:
            return
        stored = await tx.mail_address(followed.address_id)
        if stored is None or not hmac.compare_digest(stored.digest, str(payload[1])):
            raise _invalid_link()
        await tx.delete_subscriptions([followed.id])


def _manage_payload(payload: list[Any]) -> tuple[str, str]:
    if len(payload) != 2 or not all(isinstance(value, str) for value in payload):
        raise _invalid_link()
    return str(payload[0]), str(payload[1])


async def manage(svc: Services, link_token: object) -> list[dict[str, Any]]:
    """The address's subscriptions on the site: what each follows, never an address."""
    site_id, digest = _manage_payload(read_link(svc.secret, MANAGE_LINK, link_token))
    async with svc.store.read() as tx:
        followed = await tx.subscriptions_of_digest(site_id, digest)
        shown = []
        for row in followed:
            page = await tx.find_page_by_id(row.page_id)
            shown.append(
                {
                    "id": row.id,
                    "scope": row.scope,
                    "page": {
                        "title": page.title if page else None,
                        "url": page.url if page else None,
                        "key": page.key if page else None,
                    },
                }
            )
    return shown


async def remove(svc: Services, link_token: object, subscription_id: int | None) -> int:
    """Remove one of the address's subscriptions on the site, or all (None); how many."""
    site_id, digest = _manage_payload(read_link(svc.secret, MANAGE_LINK, link_token))
    async with svc.store.write() as tx:
        followed: list[StoredSubscription] = await tx.subscriptions_of_digest(site_id, digest)
        ids = [row.id for row in followed if subscription_id in (None, row.id)]
        await tx.delete_subscriptions(ids)
    return len(ids)


class Following:
    """Confirmed subscriptions that may hear of a batch of comments, found by what they
    follow: a page's thread, or replies to a comment (built once per batch)."""

    def __init__(self, found: Sequence[tuple[StoredSubscription, StoredAddress]]) -> None:
        self.threads: dict[int, list[tuple[StoredSubscription, StoredAddress]]] = {}
        self.replies: dict[int, list[tuple[StoredSubscription, StoredAddress]]] = {}
        for pair in sorted(found, key=lambda pair: pair[0].id):
            if pair[0].scope == THREAD:
                self.threads.setdefault(pair[0].page_id, []).append(pair)
            elif pair[0].scope == REPLIES:
                self.replies.setdefault(pair[0].comment_id, []).append(pair)

    def of(self, comment: Published) -> list[tuple[StoredSubscription, StoredAddress]]:
        """Who hears of ``comment``: one subscription per address (``replies`` before
        ``thread``, so an address following both hears of it once), never its author."""
        matching = self.replies.get(comment.parent_id or 0, [])
        if comment.reply_to_id is not None and comment.reply_to_id != comment.parent_id:
            matching = sorted(
                matching + self.replies.get(comment.reply_to_id, []), key=lambda p: p[0].id
            )
        matching = matching + self.threads.get(comment.page_id, [])
        told: set[int] = set()
        chosen = []
        for followed, stored in matching:
            if (
                followed.site_id != comment.site_id
                or stored.id in told
                or stored.author_hash == comment.author_hash
            ):
                continue
            told.add(stored.id)
            chosen.append((followed, stored))
        return chosen


def mail_news(
    published: Sequence[Published], following: Following, now: int, digest_ms: int
) -> list[NewMail]:
    """The news ``published`` (just public, oldest first) brings each subscription: one
    entry per subscription with all its comments, so a batch writes a row per follower, not
    per follower and comment.

    A subscription mailed less than ``digest_ms`` ago opens its mail due when that window
    ends, not now: the sender never looks at it before the digest is due."""
    news: dict[int, tuple[StoredSubscription, StoredAddress, list[int]]] = {}
    for comment in published:
        for followed, stored in following.of(comment):
            news.setdefault(followed.id, (followed, stored, []))[2].append(comment.id)
    rows: list[NewMail] = []
    for followed, stored, comment_ids in news.values():
        opened = followed.last_sent_at
        due = now if opened is None else max(now, opened + digest_ms)
        rows.append(NewMail(followed.site_id, stored.id, followed.id, tuple(comment_ids), now, due))
    return rows


async def comment_published(
    tx: SubscriptionsTx, comment: Comment, now: int, digest_ms: int
) -> None:
    """``comment`` just became public: queue its mail now. (The server's own path is the
    fan-out, many comments at once: ``core.fanout``.)"""
    answered = [i for i in (comment.parent_id, comment.reply_to_id) if i is not None]
    following = Following(await tx.followers([comment.page_id], answered))
    await tx.enqueue_mails(mail_news([comment], following, now, digest_ms))

"""Domain objects and their public (wire) shapes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from server.core.text import NAME_MAX


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    DELETED = "deleted"


class Mode(StrEnum):
    """A site's moderation mode."""

    NONE = "none"
    FIRST_TIME = "first-time"
    ALL = "all"


class SsoPolicy(StrEnum):
    """Who may comment on a site: anyone (the default), anyone with signed-in readers
    verified, or signed-in readers only."""

    ANONYMOUS = "anonymous"
    OPTIONAL = "sso-optional"
    ONLY = "sso-only"


@dataclass(frozen=True, slots=True)
class Sso:
    """A site's single sign-on settings (its keys are rows of their own: ``SsoKey``)."""

    policy: SsoPolicy = SsoPolicy.ANONYMOUS
    # Whether a token's `role: moderator` claim shows the Moderator badge (and publishes
    # the reader's comments at once, as a moderator's are).
    moderators: bool = False
    # Sessions name the epoch they began in: removing a key, turning sign-in off or taking
    # back the trust in moderator claims moves it on, and every session of the site ends.
    epoch: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy.value, "moderators": self.moderators, "epoch": self.epoch}


@dataclass(frozen=True, slots=True)
class SsoKey:
    """One key a site's backend signs its readers' tokens with. ``material`` is the shared
    secret (HS256) or the PEM public key (EdDSA, RS256)."""

    site_id: str
    kid: str
    algorithm: str
    material: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Identity:
    """A reader the site vouches for: its user id (``subject``), the name and avatar its
    last token gave, and the author hash every comment of theirs carries."""

    id: int
    site_id: str
    subject: str
    author_hash: str
    name: str
    avatar: str | None
    moderator: bool
    created_at: int
    seen_at: int
    sessions_from: int = 0  # sessions issued before this (ms) ended: the reader signed out


class Order(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    BEST = "best"  # top-level comments only: replies are always oldest first


class ReactionKind(StrEnum):
    """Which reactions a site offers its readers."""

    OFF = "off"
    UPVOTE = "upvote"  # one reaction, "up"
    UPDOWN = "updown"  # "up" and "down"
    EMOJI = "emoji"  # up to 6 emoji the owner chose, each its own reaction


MAX_EMOJI = 6


@dataclass(frozen=True, slots=True)
class ReactionSet:
    """A site's reactions. The wire names them by ``choices``: "up", "down", or the emoji."""

    kind: ReactionKind = ReactionKind.UPDOWN
    emoji: tuple[str, ...] = ()

    @property
    def choices(self) -> tuple[str, ...]:
        if self.kind is ReactionKind.UPVOTE:
            return ("up",)
        if self.kind is ReactionKind.UPDOWN:
            return ("up", "down")
        if self.kind is ReactionKind.EMOJI:
            return self.emoji
        return ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "emoji": list(self.emoji)}


@dataclass(frozen=True, slots=True)
class Filters:
    """Per-site word lists and thresholds that hold or refuse comments."""

    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    max_links: int = 2
    flag_threshold: int = 3

    def as_dict(self) -> dict[str, Any]:
        return {
            "banned_words": list(self.banned_words),
            "suspect_words": list(self.suspect_words),
            "max_links": self.max_links,
            "flag_threshold": self.flag_threshold,
        }


@dataclass(frozen=True, slots=True)
class Notify:
    """Where a site's new held comments are announced."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    emails: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "webhook_url": self.webhook_url,
            "webhook_secret": self.webhook_secret,
            "emails": list(self.emails),
        }


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    origins: tuple[str, ...]
    moderation: Mode = Mode.NONE
    filters: Filters = field(default_factory=Filters)
    created_at: int = 0
    notify: Notify = field(default_factory=Notify)
    sso: Sso = field(default_factory=Sso)
    reactions: ReactionSet = field(default_factory=ReactionSet)


class Role(StrEnum):
    MODERATOR = "moderator"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Moderator:
    id: int
    email: str
    password_hash: str
    sites: dict[str, Role] = field(default_factory=dict)
    display_name: str | None = None

    def public_name(self, site: Site) -> str:
        """The name readers see on this moderator's replies: the display name they chose,
        else the site's own name (the widget adds the `Moderator` badge in the reader's
        language). Never anything taken from the e-mail address, which readers must not
        learn."""
        return self.display_name or " ".join(site.name.split())[:NAME_MAX] or site.id

    @property
    def label(self) -> str:
        """How other moderators of the site see this one (they already see addresses)."""
        return self.display_name or self.email

    def can_moderate(self, site_id: str) -> bool:
        return site_id in self.sites

    def owns(self, site_id: str) -> bool:
        return self.sites.get(site_id) is Role.OWNER


@dataclass(frozen=True, slots=True)
class Invitation:
    """A site offered to an e-mail address until it is accepted, declined or expires."""

    id: int
    site_id: str
    email: str
    role: Role
    invited_by: int
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class Page:
    id: int
    site_id: str
    key: str
    url: str | None
    title: str | None
    seq: int
    count: int


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    site_id: str
    page_id: int
    parent_id: int | None
    reply_to_id: int | None
    author_name: str | None
    author_hash: str | None
    body: str
    status: Status
    moderator: bool
    created_at: int
    edited_at: int | None
    reply_count: int = 0
    held_reason: str | None = None
    flags: int = 0
    ip_hash: str | None = None
    # A moderator's deletion keeps the text, hidden from readers, so it can be restored for
    # a while: when, and the status it had. Author deletions and erasures blank it at once.
    deleted_at: int | None = None
    deleted_from: Status | None = None
    # Written by a signed-in reader of the site (single sign-on), with their avatar's URL.
    verified: bool = False
    author_avatar: str | None = None
    # Reaction totals, (reaction, count) pairs with count > 0 in the site's order of choices
    # (a tuple, not a dict: comments are frozen and hashable); when a moderator pinned it.
    reaction_counts: tuple[tuple[str, int], ...] = ()
    pinned_at: int | None = None

    def public(self) -> dict[str, Any]:
        """What readers may see: never the author hash, IP hash or hold reason."""
        deleted = self.status is Status.DELETED
        verified = self.verified and not deleted
        return {
            "id": self.id,
            "parent": self.parent_id,
            "reply_to": self.reply_to_id,
            "name": None if deleted else self.author_name,
            "body": "" if deleted else self.body,
            "status": self.status.value,
            "moderator": self.moderator,
            "created_at": iso(self.created_at),
            "edited_at": iso(self.edited_at) if self.edited_at else None,
            "reply_count": self.reply_count,
            "verified": verified,
            "avatar": self.author_avatar if verified else None,
            "author_key": author_key(self.author_hash) if verified else None,
            "reactions": {} if deleted else dict(self.reaction_counts),
            "pinned": self.pinned_at is not None and not deleted,
        }

    @property
    def version(self) -> str:
        """Names the text a moderator saw: an approval of an older version is refused. The
        whole digest: two texts sharing a shortened one could be made to order."""
        return hashlib.sha256(self.body.encode()).hexdigest()

    def tombstone(self) -> Comment:
        """What readers may still see of a comment gone from public view: where it stood."""
        return replace(
            self,
            body="",
            author_name=None,
            status=Status.DELETED,
            author_avatar=None,
            reaction_counts=(),
            pinned_at=None,
        )


def author_key(author_hash: str | None) -> str | None:
    """What readers see of a verified author, to draw the same avatar for each of their
    comments: a digest of the author hash (itself keyed with the server's secret for
    identities), so it names no site user id and leads back to nothing."""
    if author_hash is None:
        return None
    return hashlib.sha256(b"author-key:" + author_hash.encode()).hexdigest()[:12]


# A durable event's ``seq`` (and its page's count) until its transaction commits: where
# the store numbers a page's events at commit (PostgreSQL), they are read back after it.
PENDING = -1


@dataclass(frozen=True, slots=True)
class Appended:
    """An event stored in the current transaction: its page as it is after the event (its
    ``seq`` and ``count`` ``PENDING`` until commit where the store numbers them then)."""

    page: Page
    event_id: int


@dataclass(frozen=True, slots=True)
class Event:
    """A durable change to a page (``seq`` > 0, or ``PENDING`` until its transaction
    commits) or an ephemeral signal (``seq`` == 0)."""

    site_id: str
    page_id: int
    page_key: str
    seq: int
    type: str
    data: dict[str, Any]
    # The comment a durable event is about: the event table stores this reference, never
    # the comment's text, so whatever leaves public view leaves every replay with it.
    comment_id: int | None = None
    event_id: int | None = None  # the stored event's row (durable events)

    def envelope(self) -> dict[str, Any]:
        return {"type": self.type, "page": self.page_key, "seq": self.seq, "data": self.data}


def iso(ms: int) -> str:
    """Milliseconds since the epoch as an RFC 3339 UTC timestamp."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    site_id: str
    moderator_id: int | None
    action: str
    comment_id: int | None
    before_status: str | None
    after_status: str | None
    detail: str | None
    created_at: int
    id: int = 0


@dataclass(frozen=True, slots=True)
class Ban:
    id: int
    site_id: str
    author_hash: str | None
    ip_hash: str | None
    mode: str  # "reject" or "hold"
    reason: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class QueueChange:
    """A comment moved between moderation states (or appeared in one), with what the live
    queue shows beside it: ``replying_to`` is the comment it answers, read in the same
    transaction, so no observer reads the database again for it."""

    site_id: str
    comment: Comment
    page: Page
    before: Status | None
    by: str | None = None
    replying_to: Comment | None = None


class EventType(StrEnum):
    CREATED = "comment.created"
    APPROVED = "comment.approved"
    EDITED = "comment.edited"
    DELETED = "comment.deleted"
    REJECTED = "comment.rejected"
    PINNED = "comment.pinned"
    UNPINNED = "comment.unpinned"
    REACTIONS = "reactions"  # coalesced absolute totals, ephemeral (seq 0)
    TYPING = "typing"
    PRESENCE = "presence"

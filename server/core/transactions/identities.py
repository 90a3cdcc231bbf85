"""What a transaction offers on single sign-on: a site's keys, the readers it vouched for,
their names' readings, and the anonymous comments they claimed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from server.core.models import Identity, SsoKey


@dataclass(frozen=True, slots=True)
class NewIdentity:
    """A reader as the site's token describes them, and the readings of their name."""

    site_id: str
    subject: str
    author_hash: str
    name: str
    avatar: str | None
    moderator: bool
    name_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Claim:
    """An anonymous comment attached to an identity: who wrote it before, and as whom."""

    comment_id: int
    identity_hash: str
    author_hash: str
    author_name: str | None
    created_at: int


class SsoKeysTx(Protocol):
    """The keys a site's backend signs its readers' tokens with."""

    async def sso_keys(self, site_id: str) -> list[SsoKey]: ...
    async def insert_sso_key(self, key: SsoKey) -> None: ...
    async def delete_sso_key(self, site_id: str, kid: str) -> bool: ...


class IdentitiesTx(Protocol):
    """The readers a site vouched for, and the names no anonymous reader may take."""

    async def save_identity(self, identity: NewIdentity, now: int) -> Identity:
        """Insert the reader, or bring their name, avatar and role up to date (with the
        readings of the name)."""
        ...

    async def find_identity(self, author_hash: str) -> Identity | None: ...
    async def identity_by_id(self, identity_id: int) -> Identity | None: ...
    async def identities_of(self, author_hashes: Collection[str]) -> dict[str, Identity]: ...
    async def delete_identity(self, author_hash: str) -> None: ...
    async def end_sessions(self, identity_id: int, before: int) -> None:
        """The reader signed out: their sessions issued before ``before`` (ms) end."""
        ...

    async def name_reserved(self, site_id: str, name_keys: Sequence[str]) -> bool:
        """Whether a verified reader of the site has a name with one of these readings."""
        ...

    async def moderator_names(self, site_id: str) -> list[str]:
        """The display names of the site's moderators (their replies show them)."""
        ...


class ClaimsTx(Protocol):
    """Anonymous comments a signed-in reader attached to their identity."""

    async def insert_claim(self, site_id: str, claim: Claim) -> None: ...
    async def claims_of(self, site_id: str, identity_hash: str) -> list[Claim]: ...
    async def delete_claims(self, comment_ids: Sequence[int]) -> None: ...
    async def forget_claims(self, site_id: str, author_hash: str) -> None:
        """Drop every claim made by, or of comments written by, this author hash."""
        ...


class SingleSignOnTx(SsoKeysTx, IdentitiesTx, ClaimsTx, Protocol):
    """Everything single sign-on keeps."""

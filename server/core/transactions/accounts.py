"""What a transaction offers on moderators' accounts and how they get in."""

from __future__ import annotations

from typing import Protocol

from server.core.models import Invitation, Moderator, Role


class ModeratorsTx(Protocol):
    """Accounts and their grants on sites."""

    async def find_moderator(self, email: str) -> Moderator | None: ...
    async def find_moderator_by_id(self, moderator_id: int) -> Moderator | None: ...
    async def list_moderators(self) -> list[Moderator]:
        """Every account with its sites, by e-mail."""
        ...

    async def insert_moderator(self, email: str, password_hash: str, now: int) -> Moderator: ...
    async def set_password(self, moderator_id: int, password_hash: str) -> None: ...
    async def set_display_name(self, moderator_id: int, name: str | None) -> None: ...
    async def delete_moderator(self, moderator_id: int) -> None: ...
    async def grant(self, moderator_id: int, site_id: str, role: Role) -> None: ...
    async def revoke(self, moderator_id: int, site_id: str) -> None: ...
    async def site_moderators(self, site_id: str) -> list[tuple[int, str, Role]]: ...


class SessionsTx(Protocol):
    """Signed-in moderators' sessions."""

    async def insert_session(
        self, token_hash: str, moderator_id: int, csrf: str, now: int
    ) -> None: ...
    async def find_session(self, token_hash: str) -> tuple[int, str, int, int] | None: ...
    async def touch_session(self, token_hash: str, now: int) -> None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def delete_sessions_of(self, moderator_id: int) -> int:
        """End every session of the account; returns how many there were."""
        ...


class PasswordResetsTx(Protocol):
    """Links that let a moderator choose a new password."""

    async def insert_password_reset(
        self, token_hash: str, moderator_id: int, now: int, expires_at: int
    ) -> None:
        """Store a reset link's token hash; earlier links of the account stop working."""
        ...

    async def find_password_reset(self, token_hash: str) -> tuple[int, int] | None:
        """(moderator id, expires at) of a reset link."""
        ...

    async def delete_password_resets(self, moderator_id: int) -> None: ...


class InvitationsTx(Protocol):
    """Owners' invitations to moderate a site."""

    async def insert_invitation(
        self,
        token_hash: str,
        site_id: str,
        email: str,
        role: Role,
        invited_by: int,
        now: int,
        expires_at: int,
    ) -> None: ...
    async def find_invitation(self, token_hash: str) -> Invitation | None: ...
    async def delete_invitation(self, invitation_id: int, site_id: str) -> bool: ...
    async def site_invitations(self, site_id: str) -> list[Invitation]: ...


class AccountsTx(ModeratorsTx, SessionsTx, PasswordResetsTx, InvitationsTx, Protocol):
    """Everything about moderators' accounts."""

"""What a transaction offers the retention sweep: forgetting what is kept only for a while."""

from __future__ import annotations

from typing import Protocol


class MaintenanceTx(Protocol):
    """Purges across aggregates; each returns how many rows it changed or removed."""

    async def purge_deleted_text(self, before: int) -> int:
        """Blank the text and name of comments a moderator deleted before ``before`` (they
        can no longer be restored); returns how many."""
        ...

    async def purge_ip_hashes(self, before: int) -> int: ...
    async def purge_flag_networks(self, before: int) -> int:
        """Unlink flags raised before ``before`` from their networks; returns how many."""
        ...

    async def purge_removed_reactions(self, before: int) -> int:
        """Delete reactions changed or taken back before ``before`` (the history paging
        under ``order=best`` reads); returns how many."""
        ...

    async def purge_reaction_networks(self, before: int) -> int:
        """Unlink reactions given before ``before`` from their networks; returns how many."""
        ...

    async def purge_notifications(self, before: int) -> int:
        """Delete readers' notifications last changed before ``before``; returns how many."""
        ...

    async def purge_sessions(self, before: int) -> int: ...
    async def purge_invitations(self, now: int) -> int:
        """Forget invitations that expired; returns how many."""
        ...

    async def purge_password_resets(self, now: int) -> int: ...

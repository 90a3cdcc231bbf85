"""What a transaction offers on sites."""

from __future__ import annotations

from typing import Protocol

from server.core.models import Site


class SitesTx(Protocol):
    """The sites this server hosts, with their settings."""

    async def find_site(self, site_id: str) -> Site | None: ...
    async def list_sites(self) -> list[Site]: ...
    async def insert_site(self, site: Site) -> None: ...
    async def update_site(self, site: Site) -> None: ...
    async def site_counts(self, site_id: str) -> tuple[int, int, int]:
        """(pages, comments, moderators' grants) of a site."""
        ...

    async def delete_site(self, site_id: str) -> None:
        """Delete the site with its pages, comments, events, flags, bans, invitations, audit
        entries and grants (moderators' accounts stay)."""
        ...

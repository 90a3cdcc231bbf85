"""Sites: registering them, changing them, and a short-lived cache for request paths."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.core.context import Services
from server.core.errors import Conflict, Invalid, NotFound
from server.core.models import Filters, Mode, Notify, ReactionSet, Site, Sso, SsoPolicy
from server.core.origins import normalize_origin
from server.core.ports import Store
from server.core.singleflight import SingleFlight
from server.core.transactions.sites import SitesTx

_SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# A site changed by the CLI reaches running servers within this many seconds.
SITE_CACHE_SECONDS = 2.0


def check_site_id(value: object) -> str:
    if not isinstance(value, str) or not _SITE_ID.fullmatch(value):
        raise Invalid("invalid_site", "site ids are 1-64 lowercase letters, digits, '-' or '_'")
    return value


def clean_site_name(value: str | None, default: str) -> str:
    name = " ".join((value or "").split())[:200]
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid("invalid_site_name", "site names must not contain control characters")
    return name or default


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise Invalid(
            "invalid_moderation", "moderation must be one of: none, first-time, all"
        ) from None


def parse_sso_policy(value: str) -> SsoPolicy:
    try:
        return SsoPolicy(value)
    except ValueError:
        raise Invalid(
            "invalid_sso_policy",
            "the sign-in policy must be one of: " + ", ".join(p.value for p in SsoPolicy),
        ) from None


def clean_origins(values: Iterable[str]) -> tuple[str, ...]:
    origins = tuple(dict.fromkeys(normalize_origin(v) for v in values))
    if not origins:
        raise Invalid("no_origins", "a site needs at least one allowed origin")
    return origins


async def add_site(
    svc: Services,
    site_id: str,
    *,
    origins: Iterable[str],
    mode: str = "none",
    name: str | None = None,
) -> Site:
    site = Site(
        id=check_site_id(site_id),
        name=clean_site_name(name, site_id),
        origins=clean_origins(origins),
        moderation=parse_mode(mode),
        created_at=svc.now_ms(),
    )
    async with svc.store.write() as tx:
        if await tx.find_site(site.id) is not None:
            raise Conflict("site_exists", f"site {site.id!r} already exists")
        await tx.insert_site(site)
    return site


async def update_site(
    svc: Services,
    site_id: str,
    *,
    origins: Iterable[str] | None = None,
    add_origins: Iterable[str] = (),
    mode: str | None = None,
    name: str | None = None,
    filters: Filters | None = None,
    notify: Notify | None = None,
    sso: Sso | None = None,
    reactions: ReactionSet | None = None,
) -> Site:
    async with svc.store.write() as tx:
        return await change_site(
            tx,
            site_id,
            origins=origins,
            add_origins=add_origins,
            mode=mode,
            name=name,
            filters=filters,
            notify=notify,
            sso=sso,
            reactions=reactions,
        )


async def change_site(
    tx: SitesTx,
    site_id: str,
    *,
    origins: Iterable[str] | None = None,
    add_origins: Iterable[str] = (),
    mode: str | None = None,
    name: str | None = None,
    filters: Filters | None = None,
    notify: Notify | None = None,
    sso: Sso | None = None,
    reactions: ReactionSet | None = None,
) -> Site:
    """``update_site`` in the caller's transaction (which may audit it alongside)."""
    site = await tx.find_site(site_id)
    if site is None:
        raise NotFound("unknown_site", f"no site {site_id!r}")
    new_origins = tuple(origins) if origins is not None else site.origins
    updated = Site(
        id=site.id,
        name=clean_site_name(name, site.name),
        origins=clean_origins([*new_origins, *add_origins]),
        moderation=parse_mode(mode) if mode else site.moderation,
        filters=filters or site.filters,
        created_at=site.created_at,
        notify=notify or site.notify,
        sso=sso or site.sso,
        reactions=site.reactions if reactions is None else reactions,
    )
    await tx.update_site(updated)
    return updated


async def list_sites(svc: Services) -> list[Site]:
    async with svc.store.read() as tx:
        return await tx.list_sites()


@dataclass(frozen=True, slots=True)
class SiteContents:
    """What removing a site takes with it."""

    site: Site
    pages: int
    comments: int
    moderators: int  # accounts granted the site (the accounts themselves stay)


async def site_removal(svc: Services, site_id: str, *, erase: bool = False) -> SiteContents:
    """What :func:`remove_site` would take, refused as it would be: to ask before doing it."""
    async with svc.store.read() as tx:
        return await _removable(tx, site_id, erase)


async def remove_site(svc: Services, site_id: str, *, erase: bool = False) -> SiteContents:
    """Delete a site and everything of it: pages, comments, events, flags, bans,
    invitations, audit entries and moderators' grants. Refused while it has comments
    unless ``erase``: they cannot be brought back (export them first)."""
    async with svc.store.write() as tx:
        contents = await _removable(tx, site_id, erase)
        await tx.delete_site(site_id)
    return contents


async def _removable(tx: SitesTx, site_id: str, erase: bool) -> SiteContents:
    site = await tx.find_site(site_id)
    if site is None:
        raise NotFound("unknown_site", f"no site {site_id!r}")
    pages, comments, moderators = await tx.site_counts(site_id)
    if comments and not erase:
        raise Conflict(
            "site_has_comments",
            f"site {site_id!r} has {comments} comments, which removing it would erase for good",
        )
    return SiteContents(site, pages, comments, moderators)


class SiteDirectory:
    """Sites by id, cached briefly so a request costs no query, yet CLI changes land fast.
    An expired entry is still served while one background read refreshes it: under load,
    every request expiring together would otherwise all query the database at once."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = SITE_CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Site | None]] = {}
        self._flights: SingleFlight[str, Site | None] = SingleFlight()

    async def find(self, site_id: str) -> Site | None:
        hit = self._cache.get(site_id)
        if hit is not None:
            age = self._clock() - hit[0]
            if age < self._ttl:
                return hit[1]
            if age < self._ttl * 2:
                self._flights.refresh(site_id, lambda: self._read(site_id))
                return hit[1]
        if not _SITE_ID.fullmatch(site_id):
            return None
        return await self._flights.run(site_id, lambda: self._read(site_id))

    async def _read(self, site_id: str) -> Site | None:
        async with self._store.read() as tx:
            site = await tx.find_site(site_id)
        if len(self._cache) > 10_000:  # unknown ids are cached too; bound the memory
            self._cache.clear()
        self._cache[site_id] = (self._clock(), site)
        return site

    async def get(self, site_id: str) -> Site:
        site = await self.find(site_id)
        if site is None:
            raise NotFound("unknown_site", f"no site {site_id!r} is registered here")
        return site

    def forget(self, site_id: str) -> None:
        self._cache.pop(site_id, None)

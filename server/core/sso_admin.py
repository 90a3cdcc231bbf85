"""A site's single sign-on settings, as its owner (moderation pages) or the operator (CLI)
changes them: the policy, whether tokens may make moderators, and the signing keys, several
at once so that a new one can be rolled out before the old one is removed."""

from __future__ import annotations

import secrets
from dataclasses import replace

from server.core import audit
from server.core.authority import require_owner
from server.core.context import Services
from server.core.errors import Conflict, NotFound
from server.core.models import Moderator, Site, Sso, SsoKey, SsoPolicy
from server.core.sites import change_site, parse_sso_policy
from server.core.sso_tokens import check_key, check_kid, seal_key

KEYS_MAX = 10
SECRET_SHOWN = "(secret, sealed)"  # noqa: S105 -- what is shown instead of one


def new_shared_secret() -> str:
    """A fresh HS256 secret for a site's backend: 32 random bytes, base64url."""
    return secrets.token_urlsafe(32)


def _may(by: Moderator | None, site_id: str) -> None:
    if by is not None:
        require_owner(by, site_id, "change its sign-in settings")


async def set_sso(
    svc: Services,
    site_id: str,
    *,
    policy: str | None = None,
    moderators: bool | None = None,
    by: Moderator | None = None,
) -> Site:
    _may(by, site_id)
    async with svc.store.write() as tx:
        site = await tx.find_site(site_id)
        if site is None:
            raise NotFound("unknown_site", f"no site {site_id!r}")
        new_policy = parse_sso_policy(policy) if policy is not None else site.sso.policy
        trusts = site.sso.moderators if moderators is None else moderators
        # Turning sign-in off, or the trust in moderator claims, ends every session now:
        # a session must not outlive what vouched for it.
        withdrawn = (new_policy is SsoPolicy.ANONYMOUS) or (site.sso.moderators and not trusts)
        sso = Sso(new_policy, trusts, site.sso.epoch + 1 if withdrawn else site.sso.epoch)
        updated = await change_site(tx, site_id, sso=sso)
        await audit.record(
            tx,
            site_id,
            by,
            "settings",
            f"sign-in: {sso.policy.value}, moderators by token: {sso.moderators}",
            svc.now_ms(),
        )
    return updated


async def add_sso_key(
    svc: Services,
    site_id: str,
    *,
    kid: str,
    algorithm: str,
    material: str,
    by: Moderator | None = None,
) -> SsoKey:
    """Add a key (refused while one of that id exists: remove it first)."""
    _may(by, site_id)
    key = SsoKey(site_id, check_kid(kid), algorithm, check_key(algorithm, material), svc.now_ms())
    async with svc.store.write() as tx:
        if await tx.find_site(site_id) is None:
            raise NotFound("unknown_site", f"no site {site_id!r}")
        existing = await tx.sso_keys(site_id)
        if any(k.kid == key.kid for k in existing):
            raise Conflict("sso_key_exists", f"site {site_id!r} already has a key {kid!r}")
        if len(existing) >= KEYS_MAX:
            raise Conflict("too_many_sso_keys", f"a site has at most {KEYS_MAX} sign-in keys")
        await tx.insert_sso_key(seal_key(svc.secret, key))
        await audit.record(
            tx, site_id, by, "settings", f"sign-in key added: {kid} ({algorithm})", key.created_at
        )
    return _shown(key)


async def remove_sso_key(
    svc: Services, site_id: str, kid: str, *, by: Moderator | None = None
) -> None:
    _may(by, site_id)
    async with svc.store.write() as tx:
        site = await tx.find_site(site_id)
        if site is None or not await tx.delete_sso_key(site_id, kid):
            raise NotFound("unknown_sso_key", f"site {site_id!r} has no sign-in key {kid!r}")
        # Sessions do not say which key vouched for them: every one of the site ends (a
        # removed key may have leaked), and readers sign in again with a current one.
        await change_site(tx, site_id, sso=replace(site.sso, epoch=site.sso.epoch + 1))
        await audit.record(tx, site_id, by, "settings", f"sign-in key removed: {kid}", svc.now_ms())


async def list_sso_keys(
    svc: Services, site_id: str, *, by: Moderator | None = None
) -> list[SsoKey]:
    """The site's keys: public keys as given, shared secrets never shown again."""
    _may(by, site_id)
    async with svc.store.read() as tx:
        return [_shown(k) for k in await tx.sso_keys(site_id)]


def _shown(key: SsoKey) -> SsoKey:
    return replace(key, material=SECRET_SHOWN) if key.algorithm == "HS256" else key

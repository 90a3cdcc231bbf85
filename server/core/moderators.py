"""Moderator accounts: creating them, granting sites, passwords, listing, removing them."""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher

from server.core.audit import record
from server.core.context import Services
from server.core.errors import Invalid, NotFound
from server.core.models import Moderator, Role
from server.core.passwords import check_password
from server.core.ports import Store
from server.core.text import clean_name
from server.core.transactions.combined import PasswordChangeTx

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}")


def clean_email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise Invalid("invalid_email", f"{value!r} is not an e-mail address")
    return email


async def find_moderator(store: Store, email: str) -> Moderator | None:
    async with store.read() as tx:
        return await tx.find_moderator(clean_email(email))


async def add_moderator(
    svc: Services,
    ph: PasswordHasher,
    email: str,
    site_id: str,
    *,
    password: str | None,
    owner: bool = False,
) -> tuple[Moderator, bool]:
    """Create the account (a password is then required) or grant an existing one the site.
    Returns the moderator and whether it was created."""
    email = clean_email(email)
    role = Role.OWNER if owner else Role.MODERATOR
    now = svc.now_ms()
    async with svc.store.write() as tx:
        if await tx.find_site(site_id) is None:
            raise NotFound("unknown_site", f"no site {site_id!r}")
        existing = await tx.find_moderator(email)
        created = existing is None
        if existing is None:
            if password is None:
                raise Invalid("password_required", "a new moderator needs a password")
            existing = await tx.insert_moderator(email, ph.hash(check_password(password)), now)
        await tx.grant(existing.id, site_id, role)
        moderator = await tx.find_moderator_by_id(existing.id)
    assert moderator is not None
    return moderator, created


async def revoke_moderator(
    svc: Services, email: str, site_id: str | None = None, *, by: Moderator | None = None
) -> Moderator:
    """Revoke one site, or delete the account when no site is named; each site it loses gets
    an audit entry (``by`` None: the operator, from the CLI). Returns the account as it was."""
    email = clean_email(email)
    now = svc.now_ms()
    async with svc.store.write() as tx:
        moderator = await tx.find_moderator(email)
        if moderator is None:
            raise NotFound("unknown_moderator", f"no moderator {email!r}")
        if site_id is not None and site_id not in moderator.sites:
            raise NotFound("not_a_moderator", f"{email} does not moderate {site_id!r}")
        lost = sorted(moderator.sites) if site_id is None else [site_id]
        if site_id is None:
            await tx.delete_moderator(moderator.id)
        else:
            await tx.revoke(moderator.id, site_id)
        what = "deleted the account of" if site_id is None else "removed"
        for site in lost:
            await record(tx, site, by, "settings", f"{what} moderator {email}", now)
    return moderator


async def set_display_name(svc: Services, moderator_id: int, name: object) -> str | None:
    """The name a moderator signs public replies with, checked like an author's name;
    blank clears it (replies are then signed with the site's name)."""
    clean = clean_name(name)
    async with svc.store.write() as tx:
        await tx.set_display_name(moderator_id, clean)
    return clean


async def set_moderator_password(
    svc: Services, ph: PasswordHasher, email: str, password: str
) -> int:
    """Give the account a new password (`threadline moderator passwd`) and end every session
    it has, so a browser logged in with the old one (perhaps not the owner's) must log in
    again; any reset link sent to it stops working. Returns how many sessions ended."""
    email = clean_email(email)
    hashed = await asyncio.to_thread(ph.hash, check_password(password))
    async with svc.store.write() as tx:
        moderator = await tx.find_moderator(email)
        if moderator is None:
            raise NotFound("unknown_moderator", f"no moderator {email!r}")
        return await store_new_password(tx, moderator.id, hashed)


async def store_new_password(tx: PasswordChangeTx, moderator_id: int, password_hash: str) -> int:
    """In the caller's transaction: the new hash, no session left from before, no reset
    link left to use. Returns how many sessions ended."""
    await tx.set_password(moderator_id, password_hash)
    ended = await tx.delete_sessions_of(moderator_id)
    await tx.delete_password_resets(moderator_id)
    return ended


async def list_moderators(svc: Services, site_id: str | None = None) -> list[Moderator]:
    """Every moderator account by e-mail, or those of one site."""
    async with svc.store.read() as tx:
        if site_id is not None and await tx.find_site(site_id) is None:
            raise NotFound("unknown_site", f"no site {site_id!r}")
        everyone = await tx.list_moderators()
    return [m for m in everyone if site_id is None or site_id in m.sites]

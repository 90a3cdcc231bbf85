"""A moderator who forgot their password asks for a link by e-mail and chooses a new one.

The answer never says whether the address has an account: the caller answers the same either
way and sends the e-mail (if any) out of band. The link holds a secret token (256 random bits;
only its SHA-256 is stored, so a database reader cannot use it); it works once, for an hour,
and only the newest link sent to an account works. Using it ends every session the account
had and every other link."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher

from server.core.context import Services
from server.core.errors import Invalid, NotFound
from server.core.models import Moderator
from server.core.moderators import clean_email, store_new_password
from server.core.passwords import check_password
from server.core.privacy import ip_hash
from server.core.transactions.combined import ResetLinkTx

VALID_MS = 3_600_000
# Asking is limited before any lookup, the same for every address: the limits say nothing
# about accounts, and nobody can fill a mailbox with links.
PER_ADDRESS, PER_NETWORK, WINDOW = 3, 10, 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def check_reset_rate(svc: Services, email: str, client_ip: str) -> None:
    """Count one request for a link (RateLimited when there were too many)."""
    address = email.strip().lower()[:254]
    await svc.check_rate(
        f"reset:net:{ip_hash(svc.secret, client_ip)}",
        PER_NETWORK,
        WINDOW,
        "password reset requests",
    )
    await svc.check_rate(
        f"reset:acct:{address}", PER_ADDRESS, WINDOW, "password reset requests for this address"
    )


async def request_reset(svc: Services, email: str) -> tuple[str, str] | None:
    """A link for the account with this address: (address, token to send it), or None when
    there is no such account (say nothing of it to the asker)."""
    try:
        email = clean_email(email)
    except Invalid:
        return None
    token, now = secrets.token_urlsafe(32), svc.now_ms()
    async with svc.store.write() as tx:
        moderator = await tx.find_moderator(email)
        if moderator is None:
            return None
        await tx.insert_password_reset(_hash(token), moderator.id, now, now + VALID_MS)
    return email, token


async def _open(tx: ResetLinkTx, token: str, now: int) -> Moderator:
    found = await tx.find_password_reset(_hash(token))
    if found is not None and found[1] > now:
        moderator = await tx.find_moderator_by_id(found[0])
        if moderator is not None:
            return moderator
    raise NotFound(
        "reset_link_invalid",
        "this link does not work any more: it was used, a newer one was sent, or "
        "it is more than an hour old; ask for a new one",
    )


async def look_up(svc: Services, token: str) -> Moderator:
    """The account a reset link is for, while the link works."""
    async with svc.store.read() as tx:
        return await _open(tx, token, svc.now_ms())


async def reset_password(svc: Services, ph: PasswordHasher, token: str, password: str) -> Moderator:
    """Use a link once: the account gets the new password, and nothing from before works."""
    hashed = await asyncio.to_thread(ph.hash, check_password(password))
    async with svc.store.write() as tx:
        moderator = await _open(tx, token, svc.now_ms())
        await store_new_password(tx, moderator.id, hashed)
    return moderator

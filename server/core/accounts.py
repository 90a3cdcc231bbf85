"""Moderator login: argon2id verification, throttled failures, server-side sessions."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher

from server.core.context import Services
from server.core.errors import RateLimited, Unauthorized
from server.core.models import Moderator
from server.core.moderators import clean_email
from server.core.passwords import verify
from server.core.privacy import ip_hash

# Attempts (not failures: each is reserved before its password is checked) in a window: on
# one account from one network, from one network on any account, and on one account from
# everywhere. The last one bounds guessing spread over many networks; a browser that logged
# in to the account before (a known device) is exempt from it, so an attacker spending it
# cannot lock the owner out either.
ATTEMPTS = 5
NETWORK_ATTEMPTS = 20  # an office NAT may hold several moderators
ACCOUNT_ATTEMPTS = 50
WINDOW = 15 * 60
IDLE = 30 * 60  # a session unused this long ends
LIFETIME = 8 * 3600  # and every session ends after this
_TOUCH = 60  # seen_at is written at most this often per session
# Each argon2 verification takes 64 MiB and ~0.2 s of CPU: at most two at a time.
_hashing = asyncio.Semaphore(2)


@dataclass(frozen=True)
class Session:
    moderator: Moderator
    csrf: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(
    svc: Services,
    ph: PasswordHasher,
    email: str,
    password: str,
    client_ip: str,
    *,
    known_device: bool = False,
) -> tuple[str, Session]:
    """Check a password; returns the new session token (for the cookie) and the session.
    Unknown accounts take the same time and count failures the same way, so neither the
    answer nor the lockout says whether an account exists."""
    try:
        email = clean_email(email)
    except Exception:  # noqa: BLE001 -- treat like any wrong login
        email = email.strip().lower()[:254]
    network = ip_hash(svc.secret, client_ip)
    own, shared = f"login:acct:{email}:{network}", f"login:net:{network}"
    everywhere = f"login:acct:{email}"
    limits = [(own, ATTEMPTS), (shared, NETWORK_ATTEMPTS)]
    if not known_device:
        limits.append((everywhere, ACCOUNT_ATTEMPTS))
    await _reserve(svc, limits)
    async with svc.store.read() as tx:
        moderator = await tx.find_moderator(email)
    stored = moderator.password_hash if moderator else _dummy(ph)
    async with _hashing:
        ok = await asyncio.to_thread(verify, ph, stored, password)
    if moderator is None or not ok:
        raise Unauthorized("invalid_login", "that e-mail and password do not match")
    # A success is not an attempt to hold against anyone: the account's count starts over
    # and the network gets its slot back.
    await svc.limiter.reset(own)
    await svc.limiter.release(shared)
    if not known_device:
        await svc.limiter.release(everywhere)
    if ph.check_needs_rehash(stored):
        async with _hashing:
            fresh = await asyncio.to_thread(ph.hash, password)
        async with svc.store.write() as tx:
            await tx.set_password(moderator.id, fresh)
    return await start_session(svc, moderator)


async def _reserve(svc: Services, limits: list[tuple[str, int]]) -> None:
    """Take one attempt from each limit, atomically in the limiter, before any password is
    checked: concurrent guesses cannot all pass a check made before any of them counted."""
    taken: list[str] = []
    for key, limit in limits:
        wait = await svc.limiter.hit(key, limit, WINDOW)
        if wait:
            for earlier in taken:
                await svc.limiter.release(earlier)
            raise RateLimited(
                "login_locked",
                f"too many failed logins; try again in {max(1, round(wait / 60))} minutes",
                int(wait + 0.999),
            )
        taken.append(key)


_DUMMY: dict[int, str] = {}


def _dummy(ph: PasswordHasher) -> str:
    """A real hash to verify against when the account does not exist (same cost)."""
    key = id(ph)
    if key not in _DUMMY:
        _DUMMY[key] = ph.hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


async def start_session(svc: Services, moderator: Moderator) -> tuple[str, Session]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = svc.now_ms()
    async with svc.store.write() as tx:
        await tx.insert_session(_hash(token), moderator.id, csrf, now)
    return token, Session(moderator, csrf, _hash(token))


async def find_session(svc: Services, token: str) -> Session | None:
    """The live session behind a cookie, or None (unknown, idle too long, too old)."""
    return await session_by_hash(svc, _hash(token), touch=True)


async def session_by_hash(svc: Services, token_hash: str, *, touch: bool) -> Session | None:
    """The session stored as ``token_hash`` if it is still live; ``touch`` counts this as
    the moderator's activity (it postpones the idle timeout)."""
    now = svc.now_ms()
    async with svc.store.read() as tx:
        row = await tx.find_session(token_hash)
        if row is None:
            return None
        moderator_id, csrf, created_at, seen_at = row
        moderator = await tx.find_moderator_by_id(moderator_id)
    if moderator is None or now - seen_at > IDLE * 1000 or now - created_at > LIFETIME * 1000:
        async with svc.store.write() as tx:
            await tx.delete_session(token_hash)
        return None
    if touch and now - seen_at > _TOUCH * 1000:
        async with svc.store.write() as tx:
            await tx.touch_session(token_hash, now)
    return Session(moderator, csrf, token_hash)


def access_lost(session: Session | None, sites: list[str]) -> str | None:
    """Why a moderator's open live queue must close now (None: it may stay open)."""
    if session is None:
        return "your session ended: log in again"
    lost = [site for site in sites if not session.moderator.can_moderate(site)]
    if lost:
        return f"you no longer moderate {lost[0]}"
    return None


async def end_session(svc: Services, token: str) -> None:
    async with svc.store.write() as tx:
        await tx.delete_session(_hash(token))

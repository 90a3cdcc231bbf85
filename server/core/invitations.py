"""Owners invite moderators by e-mail: a site is offered, never granted, until the person
who reads that mailbox accepts it.

The owner names an address and nothing more: they never choose a password and learn nothing
about accounts on other sites (the answer is the same whether the address has an account).
The link holds a secret token (only its hash is stored); opening it, the invitee either logs
in to the account with that address or, if there is none, creates it with a password of
their own. Reading the mailbox is the proof: nobody else can create an account under an
address they do not hold."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher

from server.core.context import Services
from server.core.errors import Conflict, Forbidden, NotFound
from server.core.models import Invitation, Moderator, Role, Site
from server.core.moderators import clean_email
from server.core.passwords import check_password
from server.core.transactions.combined import InvitationLinkTx

VALID_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(
    svc: Services, email: str, site: Site, *, owner: bool, by: Moderator
) -> tuple[str, str]:
    """Offer ``site`` to ``email`` (inviting it again replaces the earlier link). Returns the
    address as stored and the token for the link: send it to that address only. Only an
    owner calls this (``site_admin.invite_moderator``)."""
    email = clean_email(email)
    token, now = secrets.token_urlsafe(32), svc.now_ms()
    role = Role.OWNER if owner else Role.MODERATOR
    async with svc.store.write() as tx:
        await tx.insert_invitation(
            _hash(token), site.id, email, role, by.id, now, now + VALID_DAYS * 86_400_000
        )
    return email, token


async def _open(tx: InvitationLinkTx, token: str, now: int) -> Invitation:
    """The invitation behind a link, if it still stands: not expired, and its sender still
    owns the site (an owner who lost a site loses the offers they made for it)."""
    found = await tx.find_invitation(_hash(token))
    if found is not None and found.expires_at > now:
        sender = await tx.find_moderator_by_id(found.invited_by)
        if sender is not None and sender.owns(found.site_id):
            return found
    raise NotFound(
        "invitation_not_found",
        "this invitation does not exist any more: it was used, withdrawn or expired",
    )


async def look_up(svc: Services, token: str) -> Invitation:
    async with svc.store.read() as tx:
        return await _open(tx, token, svc.now_ms())


async def accept(svc: Services, token: str, moderator: Moderator) -> Invitation:
    """The logged-in moderator takes the site; only the account of the invited address may."""
    async with svc.store.write() as tx:
        invitation = await _open(tx, token, svc.now_ms())
        if moderator.email != invitation.email:
            raise Forbidden(
                "invitation_for_another_address",
                f"this invitation is for {invitation.email}: log in as that address to accept it",
            )
        await tx.grant(moderator.id, invitation.site_id, invitation.role)
        await tx.delete_invitation(invitation.id, invitation.site_id)
    return invitation


async def join(svc: Services, ph: PasswordHasher, token: str, password: str) -> Moderator:
    """The invitee has no account yet: create it with their own password and take the
    site. An address that has an account must log in instead."""
    hashed = await asyncio.to_thread(ph.hash, check_password(password))
    now = svc.now_ms()
    async with svc.store.write() as tx:
        invitation = await _open(tx, token, now)
        if await tx.find_moderator(invitation.email) is not None:
            raise Conflict(
                "account_exists", f"{invitation.email} already has an account: log in to accept"
            )
        created = await tx.insert_moderator(invitation.email, hashed, now)
        await tx.grant(created.id, invitation.site_id, invitation.role)
        await tx.delete_invitation(invitation.id, invitation.site_id)
        moderator = await tx.find_moderator_by_id(created.id)
    assert moderator is not None
    return moderator


async def decline(svc: Services, token: str) -> Invitation:
    async with svc.store.write() as tx:
        invitation = await _open(tx, token, svc.now_ms())
        await tx.delete_invitation(invitation.id, invitation.site_id)
    return invitation

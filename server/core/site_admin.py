"""What a site's owners do to it: read its settings page, change settings, invite, withdraw
and remove moderators, export it. Each refuses anyone but an owner and writes the audit
entry in the same transaction as the change."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import emoji

from server.core import invitations
from server.core.audit import record
from server.core.authority import owned_site
from server.core.context import Services
from server.core.erasure import export_site
from server.core.errors import Invalid, Unavailable
from server.core.models import (
    MAX_EMOJI,
    Ban,
    Filters,
    Invitation,
    Moderator,
    Notify,
    ReactionKind,
    ReactionSet,
    Role,
    Site,
)
from server.core.moderators import clean_email
from server.core.sites import change_site

WEBHOOK_URL_MAX = 500
NOTIFY_EMAILS_MAX = 10
EMOJI_BYTES_MAX = 64  # a reaction is stored in a 64-character column, and sent on every frame
# Sends an invitation's link: (site, address, token). Raising means it was not sent.
InvitationSender = Callable[[Site, str, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SiteOverview:
    site: Site
    moderators: list[tuple[int, str, Role]]
    invited: list[Invitation]
    bans: list[Ban]


async def site_overview(svc: Services, owner: Moderator, site_id: str) -> SiteOverview:
    site = await owned_site(svc, owner, site_id)
    async with svc.store.read() as tx:
        return SiteOverview(
            site,
            await tx.site_moderators(site.id),
            await tx.site_invitations(site.id),
            await tx.list_bans([site.id]),
        )


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """A site's settings as the owner's form gives them (numbers still as typed)."""

    origins: Sequence[str]
    mode: str | None
    banned_words: Sequence[str]
    suspect_words: Sequence[str]
    max_links: str
    flag_threshold: str
    webhook_url: str | None
    emails: Sequence[str]
    # The reactions offered: a kind ("off", "upvote", "updown", "emoji") and, for "emoji",
    # the owner's emoji as typed (separated by spaces or commas). None: leave them.
    reactions: str | None = None
    reaction_emoji: str = ""

    def filters(self) -> Filters:
        return Filters(
            banned_words=tuple(self.banned_words),
            suspect_words=tuple(self.suspect_words),
            max_links=_whole_number(self.max_links, "max_links", 0, 100),
            flag_threshold=_whole_number(self.flag_threshold, "flag_threshold", 1, 1000),
        )


def reaction_set(kind: str, emoji_text: str = "") -> ReactionSet:
    """A site's reactions from a kind and, for ``emoji``, 1 to 6 distinct emoji (each one
    emoji, skin tones and joined sequences included) separated by spaces or commas."""
    try:
        parsed = ReactionKind(kind.strip())
    except ValueError:
        raise Invalid(
            "invalid_reactions",
            "reactions must be one of: " + ", ".join(k.value for k in ReactionKind),
        ) from None
    if parsed is not ReactionKind.EMOJI:
        return ReactionSet(kind=parsed)
    chosen = tuple(part for part in emoji_text.replace(",", " ").split() if part)
    if not 1 <= len(chosen) <= MAX_EMOJI:
        raise Invalid("invalid_reactions", f"choose 1 to {MAX_EMOJI} emoji")
    for one in chosen:
        if not emoji.is_emoji(one) or len(one.encode()) > EMOJI_BYTES_MAX:
            raise Invalid("invalid_reactions", f"{one[:20]!r} is not one emoji")
    if len(set(chosen)) != len(chosen):
        raise Invalid("invalid_reactions", "each emoji may be chosen once")
    return ReactionSet(kind=ReactionKind.EMOJI, emoji=chosen)


def parse_reactions(value: str) -> ReactionSet:
    """``off``, ``upvote``, ``updown`` or ``emoji:👍,❤️,😂`` (the command line's form)."""
    kind, _, emoji_text = value.partition(":")
    if emoji_text and kind.strip() != ReactionKind.EMOJI.value:
        raise Invalid("invalid_reactions", "only emoji reactions list their emoji")
    return reaction_set(kind, emoji_text)


def _whole_number(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"invalid_{name}", f"{name.replace('_', ' ')} must be a number") from None
    if not low <= number <= high:
        raise Invalid(f"invalid_{name}", f"{name.replace('_', ' ')} must be {low}-{high}")
    return number


def _notify(change: SettingsChange, current: Notify) -> Notify:
    url = change.webhook_url
    if url is not None:
        parts = urlsplit(url)
        if (
            parts.scheme not in ("https", "http")
            or not parts.hostname
            or len(url) > WEBHOOK_URL_MAX
        ):
            raise Invalid("invalid_webhook", "the webhook must be an http(s) URL")
    emails = tuple(clean_email(e) for e in change.emails[:NOTIFY_EMAILS_MAX])
    # The signing secret stays while the URL does: the receiver keeps verifying.
    secret = (
        current.webhook_secret
        if url and url == current.webhook_url
        else (secrets.token_urlsafe(32) if url else None)
    )
    return Notify(webhook_url=url, webhook_secret=secret, emails=emails)


async def change_site_settings(
    svc: Services, owner: Moderator, site_id: str, change: SettingsChange
) -> Site:
    site = await owned_site(svc, owner, site_id)
    filters = change.filters()
    notify = _notify(change, site.notify)
    reactions = (
        None if change.reactions is None else reaction_set(change.reactions, change.reaction_emoji)
    )
    async with svc.store.write() as tx:
        updated = await change_site(
            tx,
            site.id,
            origins=change.origins,
            mode=change.mode,
            filters=filters,
            notify=notify,
            reactions=reactions,
        )
        detail = f"mode {updated.moderation.value}, {len(updated.origins)} origins"
        if updated.reactions != site.reactions:
            detail += f", reactions {' '.join(updated.reactions.choices) or 'off'}"
        await record(tx, site.id, owner, "settings", detail, svc.now_ms())
    return updated


async def invite_moderator(
    svc: Services,
    owner: Moderator,
    site_id: str,
    email: str,
    *,
    as_owner: bool,
    send: InvitationSender | None,
) -> str:
    """Offer the site to ``email`` and send the link; an invitation that could not be sent
    is taken back (nobody holds its link). ``send`` None: this server sends no e-mail.
    Returns the address as stored."""
    site = await owned_site(svc, owner, site_id)
    if send is None:
        raise Invalid(
            "invitations_need_email",
            "inviting a moderator sends them a link by e-mail: set "
            "THREADLINE_SMTP_URL and THREADLINE_PUBLIC_URL, or have the operator run "
            "`threadline moderator add`",
        )
    address, token = await invitations.invite(svc, email, site, owner=as_owner, by=owner)
    try:
        await send(site, address, token)
    except Exception as exc:
        async with svc.store.write() as tx:
            for pending in await tx.site_invitations(site.id):
                if pending.email == address:
                    await tx.delete_invitation(pending.id, site.id)
        raise Unavailable(
            "invitation_not_sent", "the invitation e-mail could not be sent; try again later"
        ) from exc
    async with svc.store.write() as tx:
        await record(tx, site.id, owner, "settings", f"invited moderator {address}", svc.now_ms())
    return address


async def withdraw_invitation(
    svc: Services, owner: Moderator, site_id: str, invitation_id: int
) -> bool:
    site = await owned_site(svc, owner, site_id)
    async with svc.store.write() as tx:
        withdrawn = await tx.delete_invitation(invitation_id, site.id)
        if withdrawn:
            await record(tx, site.id, owner, "settings", "withdrew an invitation", svc.now_ms())
    return withdrawn


async def remove_site_moderator(
    svc: Services, owner: Moderator, site_id: str, moderator_id: int
) -> None:
    site = await owned_site(svc, owner, site_id)
    if moderator_id == owner.id:
        raise Invalid("cannot_remove_self", "you cannot remove yourself")
    async with svc.store.write() as tx:
        await tx.revoke(moderator_id, site.id)
        detail = f"removed moderator {moderator_id}"
        await record(tx, site.id, owner, "settings", detail, svc.now_ms())


async def export_owned_site(svc: Services, owner: Moderator, site_id: str) -> dict[str, Any]:
    site = await owned_site(svc, owner, site_id)
    return await export_site(svc, site)

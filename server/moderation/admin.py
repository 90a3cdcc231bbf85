"""Owners manage a site (origins, mode, word lists, notifications, moderators, bans);
everyone reads the audit log."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.core import invitations
from server.core.accounts import Session
from server.core.bans import lift_ban
from server.core.erasure import erase_author_of, export_site
from server.core.errors import Forbidden, Invalid, Unavailable
from server.core.models import AuditEntry, Filters, Notify, Site
from server.core.moderators import clean_email
from server.core.origins import origin_of_url
from server.core.queue import sites_for
from server.core.sites import update_site
from server.http.app_state import app_state
from server.http.responses import JSON
from server.i18n import N_
from server.moderation.auth import links_by_email
from server.moderation.forms import Posted, form_action, settings_page
from server.moderation.invitations import join_link
from server.moderation.render import done, page
from server.moderation.security import moderator_page
from server.notify import send_email

if TYPE_CHECKING:  # the app state imports this module
    from server.state import AppState

AUDIT_PAGE = 50
AUDIT_ACTIONS = ("approve", "reject", "spam", "delete", "edit", "ban", "unban", "settings", "erase")


async def _owned(request: Request, session: Session) -> Site:
    site_id = request.path_params["site"]
    if not session.moderator.owns(site_id):
        raise Forbidden("not_owner", "only the site's owners can change its settings")
    return await app_state(request).sites.get(site_id)


@moderator_page
async def site_page(request: Request, session: Session) -> Response:
    site = await _owned(request, session)
    state = app_state(request)
    async with state.store.read() as tx:
        moderators = await tx.site_moderators(site.id)
        invited = await tx.site_invitations(site.id)
        bans = await tx.list_bans([site.id])
    return page(
        request,
        "site.html",
        session,
        section=f"site:{site.id}",
        site=site,
        moderators=moderators,
        invited=invited,
        bans=bans,
        smtp=links_by_email(state),
    )


def _lines(form: FormData, name: str, limit: int = 200) -> list[str]:
    raw = str(form.get(name, ""))
    return [line.strip() for line in raw.splitlines() if line.strip()][:limit]


def _int(form: FormData, name: str, low: int, high: int) -> int:
    try:
        value = int(str(form.get(name, "")))
    except ValueError:
        raise Invalid(f"invalid_{name}", f"{name.replace('_', ' ')} must be a number") from None
    if not low <= value <= high:
        raise Invalid(f"invalid_{name}", f"{name.replace('_', ' ')} must be {low}-{high}")
    return value


def _notify(form: FormData, current: Notify) -> Notify:
    url = str(form.get("webhook_url", "")).strip() or None
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
            raise Invalid("invalid_webhook", "the webhook must be an http(s) URL")
    emails = tuple(clean_email(e) for e in _lines(form, "emails", 10))
    secret = (
        current.webhook_secret
        if url and url == current.webhook_url
        else (secrets.token_urlsafe(32) if url else None)
    )
    return Notify(webhook_url=url, webhook_secret=secret, emails=emails)


@form_action(back=settings_page)
async def site_update(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    form = posted.form
    site = await _owned(request, session)
    filters = Filters(
        banned_words=tuple(_lines(form, "banned_words")),
        suspect_words=tuple(_lines(form, "suspect_words")),
        max_links=_int(form, "max_links", 0, 100),
        flag_threshold=_int(form, "flag_threshold", 1, 1000),
    )
    updated = await update_site(
        state.store,
        site.id,
        origins=_lines(form, "origins", 50),
        mode=str(form.get("moderation", "")) or None,
        filters=filters,
        notify=_notify(form, site.notify),
    )
    await _audit(
        state,
        session,
        site.id,
        "settings",
        f"mode {updated.moderation.value}, {len(updated.origins)} origins",
    )
    state.sites.forget(site.id)
    return done(request, {"site": updated.id}, N_("Settings saved."), posted.back)


@form_action(back=settings_page)
async def site_invite_moderator(request: Request, session: Session, posted: Posted) -> Response:
    """Send an invitation link to an address: the same answer whether it has an account."""
    state = app_state(request)
    site = await _owned(request, session)
    smtp_url, public_url = state.settings.smtp_url, state.settings.public_url
    if not smtp_url or not public_url:
        # The link's address comes from THREADLINE_PUBLIC_URL, never from the Host a request
        # claims: an e-mail from this server must not point anywhere else.
        raise Invalid(
            "invitations_need_email",
            "inviting a moderator sends them a link by e-mail: set "
            "THREADLINE_SMTP_URL and THREADLINE_PUBLIC_URL, or have the operator run "
            "`threadline moderator add`",
        )
    email, token = await invitations.invite(
        state.store,
        str(posted.form.get("email", "")),
        site,
        owner=posted.form.get("owner") == "1",
        by=session.moderator,
        now=state.services.now_ms(),
    )
    link = join_link(origin_of_url(public_url), token)
    inviter = session.moderator
    who = f"{inviter.display_name} ({inviter.email})" if inviter.display_name else inviter.email
    text = (
        f"{who} invites you to moderate comments on {site.name} "
        f"({site.id}).\n\nAccept (or decline) within {invitations.VALID_DAYS} days: "
        f"{link}\n\nIf you did not expect this, ignore it: nothing happens unless you "
        "accept.\n"
    )
    try:
        await asyncio.to_thread(
            send_email,
            smtp_url,
            state.settings.smtp_from,
            [email],
            f"Moderate comments on {site.name}",
            text,
        )
    except Exception as exc:
        async with state.store.write() as tx:
            for pending in await tx.site_invitations(site.id):
                if pending.email == email:
                    await tx.delete_invitation(pending.id, site.id)
        raise Unavailable(
            "invitation_not_sent", "the invitation e-mail could not be sent; try again later"
        ) from exc
    await _audit(state, session, site.id, "settings", f"invited moderator {email}")
    return done(
        request, {"invited": email}, N_("Invitation sent to {email}."), posted.back, email=email
    )


@form_action(back=settings_page)
async def site_withdraw_invitation(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    site = await _owned(request, session)
    async with state.store.write() as tx:
        withdrawn = await tx.delete_invitation(int(request.path_params["invitation_id"]), site.id)
    if withdrawn:
        await _audit(state, session, site.id, "settings", "withdrew an invitation")
    return done(request, {"withdrawn": withdrawn}, N_("Invitation withdrawn."), posted.back)


@form_action(back=settings_page)
async def site_remove_moderator(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    site = await _owned(request, session)
    target = int(request.path_params["moderator_id"])
    if target == session.moderator.id:
        raise Invalid("cannot_remove_self", "you cannot remove yourself")
    async with state.store.write() as tx:
        await tx.revoke(target, site.id)
    await _audit(state, session, site.id, "settings", f"removed moderator {target}")
    return done(request, {"removed": target}, N_("Moderator removed."), posted.back)


@form_action(back=settings_page)
async def site_lift_ban(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    site = await _owned(request, session)
    await lift_ban(
        state.services, site, int(request.path_params["ban_id"]), moderator=session.moderator
    )
    return done(request, {"lifted": True}, N_("Ban lifted."), posted.back)


async def _audit(state: AppState, session: Session, site_id: str, action: str, detail: str) -> None:
    async with state.store.write() as tx:
        await tx.insert_audit(
            AuditEntry(
                site_id=site_id,
                moderator_id=session.moderator.id,
                action=action,
                comment_id=None,
                before_status=None,
                after_status=None,
                detail=detail[:500],
                created_at=state.services.now_ms(),
            )
        )


@moderator_page
async def site_export(request: Request, session: Session) -> Response:
    site = await _owned(request, session)
    data = await export_site(app_state(request).store, site, app_state(request).secret)
    return JSON(
        data, headers={"Content-Disposition": f'attachment; filename="threadline-{site.id}.json"'}
    )


@form_action()
async def erase_author_data(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    async with state.store.read() as tx:
        comment = await tx.find_comment(request.path_params["comment_id"])
    if comment is None or not session.moderator.owns(comment.site_id):
        raise Forbidden("not_owner", "only the site's owners can erase an author's data")
    site = await state.sites.get(comment.site_id)
    erased = await erase_author_of(state.services, site, comment.id, by=session.moderator)
    return done(
        request,
        {"erased": erased},
        N_("Comments by that author erased: {n}."),
        posted.back,
        n=erased,
    )


@moderator_page
async def audit_page(request: Request, session: Session) -> Response:
    state = app_state(request)
    q = request.query_params
    action = q.get("action") if q.get("action") in AUDIT_ACTIONS else None
    moderator = (q.get("moderator") or "").strip().lower() or None
    comment = q.get("comment", "")
    comment_id = int(comment) if comment.isdigit() and len(comment) < 18 else None
    page_no = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 6 else 1
    sites = sites_for(session.moderator, None)
    async with state.store.read() as tx:
        entries = (
            await tx.audit_entries(
                sites,
                action=action,
                moderator=moderator,
                comment_id=comment_id,
                limit=AUDIT_PAGE + 1,
                offset=(max(page_no, 1) - 1) * AUDIT_PAGE,
            )
            if sites
            else []
        )

    def page_link(n: int) -> str:
        params = {
            "action": action or "",
            "moderator": moderator or "",
            "comment": comment_id or "",
            "page": n,
        }
        return "/moderate/audit?" + urlencode({k: v for k, v in params.items() if v})

    return page(
        request,
        "audit.html",
        session,
        section="audit",
        entries=entries[:AUDIT_PAGE],
        has_next=len(entries) > AUDIT_PAGE,
        page=page_no,
        page_link=page_link,
        audit_actions=AUDIT_ACTIONS,
        filters={"action": action, "moderator": moderator, "comment": comment_id},
    )

"""Owners manage a site (origins, mode, word lists, notifications, moderators, bans, single
sign-on): the settings page and its forms. The rules (owners only, audited) are core's
``site_admin`` and ``sso_admin``."""

from __future__ import annotations

import asyncio

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.core import site_admin, sso_admin
from server.core.accounts import Session
from server.core.bans import lift_ban
from server.core.invitations import VALID_DAYS
from server.core.models import Moderator, Site, SsoKey
from server.core.origins import origin_of_url
from server.core.sso_tokens import ALGORITHMS
from server.http.errors import wants_json
from server.http.responses import JSON
from server.i18n import N_
from server.moderation.auth import links_by_email
from server.moderation.forms import Posted, form_action, settings_page
from server.moderation.invitations import join_link
from server.moderation.render import done, page
from server.moderation.security import moderator_page
from server.notify import send_email
from server.state import app_state


@moderator_page
async def site_page(request: Request, session: Session) -> Response:
    state = app_state(request)
    overview = await site_admin.site_overview(
        state.services, session.moderator, request.path_params["site"]
    )
    keys = await sso_admin.list_sso_keys(state.services, overview.site.id, by=session.moderator)
    return page(
        request,
        "site.html",
        session,
        section=f"site:{overview.site.id}",
        site=overview.site,
        moderators=overview.moderators,
        invited=overview.invited,
        bans=overview.bans,
        smtp=links_by_email(state),
        sso_keys=[(key, key_preview(key)) for key in keys],
        sso_algorithms=ALGORITHMS,
    )


def key_preview(key: SsoKey) -> str | None:
    """The first line of a public key's PEM body (the BEGIN line says nothing), enough to
    tell keys apart; None for a shared secret, which is never shown again."""
    if key.algorithm == "HS256":
        return None
    lines = [line.strip() for line in key.material.strip().splitlines() if line.strip()]
    body = [line for line in lines if not line.startswith("-----")]
    return (body or lines or [""])[0][:80]


def _lines(form: FormData, name: str, limit: int = 200) -> list[str]:
    raw = str(form.get(name, ""))
    return [line.strip() for line in raw.splitlines() if line.strip()][:limit]


@form_action(back=settings_page)
async def site_update(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    form = posted.form
    change = site_admin.SettingsChange(
        origins=_lines(form, "origins", 50),
        mode=str(form.get("moderation", "")) or None,
        banned_words=_lines(form, "banned_words"),
        suspect_words=_lines(form, "suspect_words"),
        max_links=str(form.get("max_links", "")),
        flag_threshold=str(form.get("flag_threshold", "")),
        webhook_url=str(form.get("webhook_url", "")).strip() or None,
        emails=_lines(form, "emails", site_admin.NOTIFY_EMAILS_MAX),
        reactions=str(form["reactions"]) if "reactions" in form else None,
        reaction_emoji=str(form.get("reaction_emoji", ""))[:500],
    )
    updated = await site_admin.change_site_settings(
        state.services, session.moderator, request.path_params["site"], change
    )
    state.sites.forget(updated.id)  # this process shows the change at once
    return done(request, {"site": updated.id}, N_("Settings saved."), posted.back)


def _invitation_text(inviter: Moderator, site: Site, link: str) -> str:
    who = f"{inviter.display_name} ({inviter.email})" if inviter.display_name else inviter.email
    return (
        f"{who} invites you to moderate comments on {site.name} "
        f"({site.id}).\n\nAccept (or decline) within {VALID_DAYS} days: "
        f"{link}\n\nIf you did not expect this, ignore it: nothing happens unless you "
        "accept.\n"
    )


@form_action(back=settings_page)
async def site_invite_moderator(request: Request, session: Session, posted: Posted) -> Response:
    """Send an invitation link to an address: the same answer whether it has an account."""
    state = app_state(request)
    smtp_url, public_url = state.settings.smtp_url, state.settings.public_url

    async def send(site: Site, address: str, token: str) -> None:
        assert smtp_url is not None
        assert public_url is not None
        # The link's address comes from THREADLINE_PUBLIC_URL, never from the Host a request
        # claims: an e-mail from this server must not point anywhere else.
        link = join_link(origin_of_url(public_url), token)
        text = _invitation_text(session.moderator, site, link)
        subject = f"Moderate comments on {site.name}"
        await asyncio.to_thread(
            send_email, smtp_url, state.settings.smtp_from, [address], subject, text
        )

    email = await site_admin.invite_moderator(
        state.services,
        session.moderator,
        request.path_params["site"],
        str(posted.form.get("email", "")),
        as_owner=posted.form.get("owner") == "1",
        send=send if links_by_email(state) else None,
    )
    return done(
        request, {"invited": email}, N_("Invitation sent to {email}."), posted.back, email=email
    )


@form_action(back=settings_page)
async def site_withdraw_invitation(request: Request, session: Session, posted: Posted) -> Response:
    withdrawn = await site_admin.withdraw_invitation(
        app_state(request).services,
        session.moderator,
        request.path_params["site"],
        int(request.path_params["invitation_id"]),
    )
    return done(request, {"withdrawn": withdrawn}, N_("Invitation withdrawn."), posted.back)


@form_action(back=settings_page)
async def site_remove_moderator(request: Request, session: Session, posted: Posted) -> Response:
    target = int(request.path_params["moderator_id"])
    await site_admin.remove_site_moderator(
        app_state(request).services, session.moderator, request.path_params["site"], target
    )
    return done(request, {"removed": target}, N_("Moderator removed."), posted.back)


@form_action(back=settings_page)
async def site_lift_ban(request: Request, session: Session, posted: Posted) -> Response:
    await lift_ban(
        app_state(request).services,
        request.path_params["site"],
        int(request.path_params["ban_id"]),
        moderator=session.moderator,
    )
    return done(request, {"lifted": True}, N_("Ban lifted."), posted.back)


@moderator_page
async def site_export(request: Request, session: Session) -> Response:
    site_id = request.path_params["site"]
    data = await site_admin.export_owned_site(
        app_state(request).services, session.moderator, site_id
    )
    return JSON(
        data, headers={"Content-Disposition": f'attachment; filename="threadline-{site_id}.json"'}
    )


@form_action(back=settings_page)
async def site_sso_update(request: Request, session: Session, posted: Posted) -> Response:
    """The sign-in policy, and whether a token's `role: moderator` claim is trusted."""
    state = app_state(request)
    updated = await sso_admin.set_sso(
        state.services,
        request.path_params["site"],
        policy=str(posted.form.get("policy", "")),
        moderators=posted.form.get("moderators") == "1",
        by=session.moderator,
    )
    state.sites.forget(updated.id)  # this process shows the change at once
    return done(
        request,
        {"site": updated.id, "sso": updated.sso.as_dict()},
        N_("Sign-in settings saved."),
        posted.back,
    )


@form_action(back=settings_page)
async def site_sso_key_add(request: Request, session: Session, posted: Posted) -> Response:
    """A public key (or an HS256 secret) the owner pastes."""
    form = posted.form
    key = await sso_admin.add_sso_key(
        app_state(request).services,
        request.path_params["site"],
        kid=str(form.get("kid", "")).strip(),
        algorithm=str(form.get("algorithm", "")),
        material=str(form.get("material", "")).strip(),
        by=session.moderator,
    )
    return done(
        request,
        {"kid": key.kid, "algorithm": key.algorithm},
        N_("Sign-in key {kid} added."),
        posted.back,
        kid=key.kid,
    )


@form_action(back=settings_page)
async def site_sso_secret_new(request: Request, session: Session, posted: Posted) -> Response:
    """A new HS256 secret made here, shown this once (only its sealed form is kept)."""
    site_id = request.path_params["site"]
    secret = sso_admin.new_shared_secret()
    key = await sso_admin.add_sso_key(
        app_state(request).services,
        site_id,
        kid=str(posted.form.get("kid", "")).strip(),
        algorithm="HS256",
        material=secret,
        by=session.moderator,
    )
    if wants_json(request):
        response: Response = JSON({"kid": key.kid, "algorithm": key.algorithm, "secret": secret})
    else:
        response = page(
            request,
            "sso_secret.html",
            session,
            section=f"site:{site_id}",
            sso_site=site_id,
            kid=key.kid,
            secret=secret,
        )
    # Shown once: no cache, history or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@form_action(back=settings_page)
async def site_sso_key_remove(request: Request, session: Session, posted: Posted) -> Response:
    kid = str(posted.form.get("kid", ""))
    await sso_admin.remove_sso_key(
        app_state(request).services, request.path_params["site"], kid, by=session.moderator
    )
    return done(request, {"removed": kid}, N_("Sign-in key {kid} removed."), posted.back, kid=kid)

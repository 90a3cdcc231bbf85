"""An invited moderator's side: the page the e-mailed link opens, accepting (logged in),
joining (a new account with their own password) and declining."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.core import invitations
from server.core.accounts import Session, start_session
from server.core.errors import DomainError, NotFound
from server.i18n import N_
from server.moderation.auth import form_page, form_posted_here, logged_in
from server.moderation.forms import Posted, form_action, form_again
from server.moderation.render import back, done
from server.moderation.security import current_session
from server.state import app_state

TOKEN_MAX = 64


def _token(request: Request) -> str:
    token: str = request.path_params["token"]
    if len(token) > TOKEN_MAX:
        raise NotFound("invitation_not_found", "this invitation does not exist any more")
    return token


def join_link(origin: str, token: str) -> str:
    return f"{origin}/moderate/join/{token}"


async def join_page(request: Request, message: str | None = None, status: int = 200) -> Response:
    state = app_state(request)
    session = await current_session(request)
    invitation = await invitations.look_up(state.services, _token(request))
    site = await state.sites.get(invitation.site_id)
    mine = session is not None and session.moderator.email == invitation.email
    return form_page(
        request,
        "join.html",
        status,
        invitation=invitation,
        site=site,
        mine=mine,
        session_csrf=session.csrf if session else "",
        token=_token(request),
        message=message,
        login_next=f"/moderate/join/{_token(request)}",
    )


@form_action(back=lambda request: "/moderate")
async def join_accept(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    invitation = await invitations.accept(state.services, _token(request), session.moderator)
    return done(
        request,
        {"site": invitation.site_id, "role": invitation.role.value},
        N_("Invitation accepted."),
        f"/moderate?site={invitation.site_id}",
    )


async def join_create(request: Request) -> Response:
    """A new account for the invited address, with a password of the invitee's own."""
    state = app_state(request)
    form = await request.form()
    if not form_posted_here(request, form):
        return await join_page(request, N_("The form expired; please try again."), 403)
    try:
        moderator = await invitations.join(
            state.services, state.passwords, _token(request), str(form.get("password", ""))[:1024]
        )
    except DomainError as exc:
        return await form_again(exc, lambda message, status: join_page(request, message, status))
    token, _ = await start_session(state.services, moderator)
    return logged_in(request, token, "/moderate")


async def join_decline(request: Request) -> Response:
    """Declining needs no account: holding the link is enough."""
    state = app_state(request)
    form = await request.form()
    if not form_posted_here(request, form):
        return await join_page(request, N_("The form expired; please try again."), 403)
    await invitations.decline(state.services, _token(request))
    return back(request, N_("Invitation declined."), return_to="/moderate/login")

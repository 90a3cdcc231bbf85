"""A forgotten password: asking for a link by e-mail, and choosing a new password with it."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from server.core import resets
from server.core.accounts import start_session
from server.core.errors import DomainError, NotFound, RateLimited
from server.core.origins import origin_of_url
from server.http.clientip import client_ip
from server.i18n import N_
from server.moderation.auth import form_page, form_posted_here, links_by_email, logged_in
from server.moderation.forms import form_again
from server.moderation.render import add_flash
from server.notify import send_email
from server.state import AppState, app_state

RESET = "/moderate/reset"
TOKEN_MAX = 64


async def reset_page(
    request: Request,
    message: str | None = None,
    status: int = 200,
    *,
    email: str = "",
    sent: bool = False,
    gone: bool = False,
) -> Response:
    """Asking for a link; ``gone``: the link just opened no longer works."""
    return form_page(
        request,
        "reset.html",
        status,
        available=links_by_email(app_state(request)),
        message=message,
        email=email,
        sent=sent,
        gone=gone,
    )


async def reset_ask(request: Request) -> Response:
    """The same answer whether or not the address has an account: the link (if any) is made
    and sent after the response, so not even its timing tells."""
    state = app_state(request)
    form = await request.form()
    email = str(form.get("email", "")).strip()[:254]
    if not links_by_email(state):
        return await reset_page(request, status=404)
    if not form_posted_here(request, form):
        return await reset_page(
            request, N_("The form expired; please try again."), 403, email=email
        )
    try:
        await resets.check_reset_rate(
            state.services, email, client_ip(request.scope, state.settings.trusted_proxies)
        )
    except RateLimited as exc:

        async def again(message: str, status: int) -> Response:
            return await reset_page(request, message, status, email=email)

        return await form_again(
            exc, again, N_("Too many requests for a link; try again in an hour.")
        )
    state.spawn(_send_link(state, email), "password-reset-email")
    return await reset_page(request, email=email, sent=True)


async def _send_link(state: AppState, email: str) -> None:
    found = await resets.request_reset(state.services, email)
    if found is None or not state.settings.smtp_url or not state.settings.public_url:
        return
    address, token = found
    link = f"{origin_of_url(state.settings.public_url)}{RESET}/{token}"
    text = (
        f"Someone, hopefully you, asked to reset the password of the comment moderator "
        f"account {address}.\n\nChoose a new password within an hour: {link}\n\nThe link "
        "works once. If you did not ask for this, ignore this e-mail: your password stays "
        "as it is.\n"
    )
    await asyncio.to_thread(
        send_email,
        state.settings.smtp_url,
        state.settings.smtp_from,
        [address],
        "Reset your moderator password",
        text,
    )


def _token(request: Request) -> str:
    token: str = request.path_params["token"]
    return token if len(token) <= TOKEN_MAX else ""


async def reset_form(request: Request, message: str | None = None, status: int = 200) -> Response:
    state = app_state(request)
    try:
        moderator = await resets.look_up(state.services, _token(request))
    except NotFound:
        return await reset_page(request, status=404, gone=True)
    return form_page(
        request,
        "reset_choose.html",
        status,
        email=moderator.email,
        token=_token(request),
        message=message,
    )


async def reset_choose(request: Request) -> Response:
    """Use the link: a new password, every earlier session ended, and logged in anew."""
    state = app_state(request)
    form = await request.form()
    if not form_posted_here(request, form):
        return await reset_form(request, N_("The form expired; please try again."), 403)
    try:
        moderator = await resets.reset_password(
            state.services, state.passwords, _token(request), str(form.get("password", ""))[:1024]
        )
    except NotFound:
        return await reset_page(request, status=404, gone=True)
    except DomainError as exc:
        return await form_again(exc, lambda message, status: reset_form(request, message, status))
    token, _ = await start_session(state.services, moderator)
    response = logged_in(request, token, "/moderate")
    add_flash(request, response, N_("Your new password is set."))
    return response

"""Logging in and out."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.clientip import client_ip
from server.core.accounts import Session, end_session, login
from server.core.errors import DomainError, RateLimited
from server.i18n import N_
from server.moderation.render import page
from server.moderation.security import (
    app_state,
    cookie_name,
    moderator_action,
    safe_next,
    same_origin,
    session_token,
    set_cookie,
    signer,
)

LOGIN_CSRF = "tl_login"


async def login_page(request: Request, message: str | None = None, status: int = 200,
                     email: str | None = None) -> Response:
    # Shown even to a logged-in moderator: logging in again (perhaps as someone else)
    # replaces the session.
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, status=status, message=message, email=email,
                    login_csrf=token, next=safe_next(request.query_params.get("next")))
    signed = signer(app_state(request), "login").sign(token).decode()
    set_cookie(response, app_state(request), LOGIN_CSRF, signed, path="/moderate", max_age=3600)
    return response


async def login_submit(request: Request) -> Response:
    state = app_state(request)
    form = await request.form()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1024]
    cookie = request.cookies.get(LOGIN_CSRF, "")
    try:
        expected = signer(state, "login").unsign(cookie).decode() if cookie else ""
    except Exception:  # noqa: BLE001 -- a forged or stale cookie
        expected = ""
    sent = str(form.get("csrf", ""))
    if not same_origin(request) or not expected or not hmac.compare_digest(sent, expected):
        return await login_page(request, N_("The form expired; please try again."), 403, email)
    try:
        token, _ = await login(state.services, state.passwords, email, password,
                               client_ip(request.scope, state.settings.trusted_proxies))
    except RateLimited as exc:
        response = await login_page(request, exc.message, 429, email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError:
        return await login_page(request, N_("That e-mail and password do not match."), 401, email)
    old = session_token(request)
    if old:
        await end_session(state.services, old)  # a new session id at every login
    response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
    set_cookie(response, state, cookie_name(state),
               signer(state, "session").sign(token).decode(), max_age=8 * 3600)
    response.delete_cookie(LOGIN_CSRF, path="/moderate")
    return response


@moderator_action
async def logout(request: Request, session: Session) -> Response:
    token = session_token(request)
    if token:
        await end_session(app_state(request).services, token)
    response = RedirectResponse("/moderate/login", status_code=303)
    response.delete_cookie(cookie_name(app_state(request)), path="/")
    return response

"""Logging in and out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.core.accounts import Session, end_session, login
from server.core.errors import DomainError, RateLimited
from server.http.clientip import client_ip
from server.i18n import N_
from server.moderation.forms import form_again
from server.moderation.render import page
from server.moderation.security import (
    cookie_name,
    moderator_action,
    safe_next,
    same_origin,
    session_token,
    set_cookie,
    signer,
)
from server.state import app_state

if TYPE_CHECKING:  # the app state imports this module
    from server.state import AppState

LOGIN_CSRF = "tl_login"


def form_page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A page with a form posted before there is a session (log in, join by invitation):
    its CSRF token travels in the form and, signed, in a cookie."""
    token = secrets.token_urlsafe(24)
    response = page(request, template, None, status=status, login_csrf=token, **context)
    signed = signer(app_state(request), "login").sign(token).decode()
    set_cookie(response, app_state(request), LOGIN_CSRF, signed, path="/moderate", max_age=3600)
    return response


def form_posted_here(request: Request, form: FormData) -> bool:
    """The pre-session form came from our own page: origin, and token matching the cookie."""
    cookie = request.cookies.get(LOGIN_CSRF, "")
    try:
        expected = signer(app_state(request), "login").unsign(cookie).decode() if cookie else ""
    except Exception:  # noqa: BLE001 -- a forged or stale cookie
        expected = ""
    sent = str(form.get("csrf", ""))
    return same_origin(request) and bool(expected) and hmac.compare_digest(sent, expected)


def logged_in(request: Request, token: str, to: str) -> Response:
    """Redirect with the new session's cookie (a new session id at every login)."""
    state = app_state(request)
    response = RedirectResponse(safe_next(to), status_code=303)
    set_cookie(
        response,
        state,
        cookie_name(state),
        signer(state, "session").sign(token).decode(),
        max_age=8 * 3600,
    )
    response.delete_cookie(LOGIN_CSRF, path="/moderate")
    return response


async def login_page(
    request: Request, message: str | None = None, status: int = 200, email: str | None = None
) -> Response:
    # Shown even to a logged-in moderator: logging in again (perhaps as someone else)
    # replaces the session.
    return form_page(
        request,
        "login.html",
        status,
        message=message,
        email=email,
        next=safe_next(request.query_params.get("next")),
        reset=links_by_email(app_state(request)),
    )


def links_by_email(state: AppState) -> bool:
    """Whether this server sends links by e-mail (password resets, invitations): it needs
    e-mail, and THREADLINE_PUBLIC_URL for the link's address (never the Host a request
    claims: anyone could ask for a link to someone else's account with a Host of their
    own, and an e-mail from this server must not point anywhere else)."""
    return bool(state.settings.smtp_url and state.settings.public_url)


async def login_submit(request: Request) -> Response:
    state = app_state(request)
    form = await request.form()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1024]
    if not form_posted_here(request, form):
        return await login_page(request, N_("The form expired; please try again."), 403, email)
    try:
        token, _ = await login(
            state.services,
            state.passwords,
            email,
            password,
            client_ip(request.scope, state.settings.trusted_proxies),
            known_device=account_key(email) in known_accounts(request),
        )
    except DomainError as exc:

        async def again(message: str, status: int) -> Response:
            return await login_page(request, message, status, email)

        if isinstance(exc, RateLimited):
            return await form_again(exc, again)
        return await form_again(exc, again, N_("That e-mail and password do not match."), 401)
    old = session_token(request)
    if old:
        await end_session(state.services, old)  # a new session id at every login
    response = logged_in(request, token, str(form.get("next", "")))
    remember_device(request, response, email)
    return response


# A browser that logged in to an account before is a known device for it: the guesses
# counted against the account from everywhere do not lock it out. The cookie names up to
# five accounts by a hash (never an address in clear), signed so it cannot be made up.
DEVICE = "tl_device"
DEVICE_ACCOUNTS = 5
DEVICE_DAYS = 365


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def known_accounts(request: Request) -> list[str]:
    raw = request.cookies.get(DEVICE, "")
    try:
        keys = signer(app_state(request), "device").unsign(raw).decode() if raw else ""
    except BadSignature:
        return []
    return [k for k in keys.split(".") if k][:DEVICE_ACCOUNTS]


def remember_device(request: Request, response: Response, email: str) -> None:
    key = account_key(email)
    keys = [key, *(k for k in known_accounts(request) if k != key)][:DEVICE_ACCOUNTS]
    value = signer(app_state(request), "device").sign(".".join(keys)).decode()
    set_cookie(
        response, app_state(request), DEVICE, value, path="/moderate", max_age=DEVICE_DAYS * 86400
    )


@moderator_action
async def logout(request: Request, session: Session) -> Response:
    token = session_token(request)
    if token:
        await end_session(app_state(request).services, token)
    response = RedirectResponse("/moderate/login", status_code=303)
    response.delete_cookie(cookie_name(app_state(request)), path="/")
    return response

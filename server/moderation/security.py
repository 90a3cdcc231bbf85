"""Moderator sessions over signed cookies, CSRF tokens, same-origin checks."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from server.core.accounts import Session, find_session
from server.core.errors import DomainError, Forbidden
from server.core.origins import normalize_origin, origin_of_url
from server.http.errors import wants_json
from server.http.responses import domain_error, error
from server.state import app_state

if TYPE_CHECKING:  # the app state imports this module
    from server.state import AppState

SessionHandler = Callable[[Request, Session], Awaitable[Response]]
Handler = Callable[[Request], Awaitable[Response]]


def cookie_name(state: AppState) -> str:
    # __Host- makes browsers refuse the cookie unless Secure, Path=/ and no Domain.
    return "__Host-tl_session" if state.settings.production else "tl_session"


def signer(state: AppState, purpose: str) -> Signer:
    return Signer(state.settings.secret_key, salt=f"threadline.{purpose}")


def set_cookie(
    response: Response,
    state: AppState,
    name: str,
    value: str,
    *,
    path: str = "/",
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=state.settings.production,
    )


async def current_session(conn: HTTPConnection) -> Session | None:
    """The moderator's session, looked up once per request: the error page drawn after a
    refusal shows the same moderator the handler saw."""
    if hasattr(conn.state, "session"):
        known: Session | None = conn.state.session
        return known
    token = session_token(conn)
    session = await find_session(app_state(conn).services, token) if token else None
    conn.state.session = session
    return session


def session_token(conn: HTTPConnection) -> str | None:
    state = app_state(conn)
    raw = conn.cookies.get(cookie_name(state))
    if not raw:
        return None
    try:
        return signer(state, "session").unsign(raw).decode()
    except BadSignature:
        return None


def same_origin(conn: HTTPConnection) -> bool:
    """Origin (or Sec-Fetch-Site) must say the request came from our own pages: the same
    scheme, host and port (http://host is another origin than https://host)."""
    fetch_site = conn.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # old browsers and non-browser clients; the CSRF token still applies
    try:
        return normalize_origin(origin) == own_origin(conn)
    except DomainError:
        return False


def own_origin(conn: HTTPConnection) -> str:
    """Our origin as browsers see it: THREADLINE_PUBLIC_URL's when set; otherwise the Host
    the request came to, over https in production (cookies there are Secure, so the pages
    are served over TLS, perhaps by a proxy in front), else the request's own scheme."""
    settings = app_state(conn).settings
    if settings.public_url:
        return origin_of_url(settings.public_url)
    scheme = (
        "https"
        if settings.production
        else ("https" if conn.url.scheme in ("https", "wss") else "http")
    )
    try:
        return normalize_origin(f"{scheme}://{conn.headers.get('host', '')}")
    except DomainError:
        return ""


def safe_next(value: str | None, default: str = "/moderate") -> str:
    """Only our own relative paths: never //evil, /\\evil or a scheme."""
    if (
        not value
        or not value.startswith("/moderate")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 32 for ch in value)
    ):
        return default
    return value


def moderator_page(handler: SessionHandler) -> Handler:
    """A page for logged-in moderators; others go to the login page."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            target = quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(f"/moderate/login?next={target}", status_code=303)
        return await handler(request, session)

    return wrapper


def moderator_action(handler: SessionHandler) -> Handler:
    """A state-changing request: needs a session (401), our origin and the CSRF token (403).
    These refusals are JSON whatever was asked for, and never reach the error page: a forged
    or expired form gets no page of ours to act from."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            if wants_json(request):
                # Not Unauthorized: that invites a bearer token, and moderators log in.
                return error(401, "login_required", "log in as a moderator first")
            return RedirectResponse("/moderate/login", status_code=303)
        if not same_origin(request):
            return domain_error(
                Forbidden("cross_origin", "moderation requests must come from this site")
            )
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = str((await request.form()).get("csrf", ""))
        if not sent or not hmac.compare_digest(sent, session.csrf):
            return domain_error(
                Forbidden(
                    "csrf_failed",
                    "the form expired or did not come from this site; "
                    "reload the page and try again",
                )
            )
        return await handler(request, session)

    return wrapper

"""Rendering moderation pages: Jinja2 with autoescaping, flash messages, errors."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from itsdangerous import BadSignature
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server.core.accounts import Session
from server.core.decisions import RESTORE_DAYS, AlreadyHandled
from server.core.errors import Conflict, DomainError
from server.core.models import iso
from server.http.errors import ErrorPages, wants_json
from server.http.responses import JSON
from server.i18n import N_, Translator, accept_language, negotiate
from server.moderation.security import current_session, safe_next, set_cookie, signer
from server.state import app_state

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# User text is only ever autoescaped here; nothing from a reader is marked safe.
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
FLASH = "tl_flash"


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


env.globals.update(iso=iso, when=when, restore_days=RESTORE_DAYS)


def translator(request: Request) -> Translator:
    """The moderator's language, from what their browser asks for."""
    return Translator(negotiate(accept_language(request.headers.get("accept-language"))))


def page(
    request: Request, template: str, session: Session | None, status: int = 200, **context: Any
) -> Response:
    tr = translator(request)
    flash = _read_flash(request, tr)
    html = env.get_template(f"moderate/{template}").render(
        moderator=session.moderator if session else None,
        csrf=session.csrf if session else "",
        flash=flash,
        _=tr,
        _n=tr.n,
        lang=tr.lang,
        messages=tr.messages,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if flash:
        response.delete_cookie(FLASH, path="/moderate")
    return response


def back(
    request: Request, text: str, kind: str = "ok", return_to: str | None = None, **values: Any
) -> Response:
    """After a form post: redirect (303) to where the moderator was, with a message (a
    catalogue message id, filled with ``values``)."""
    response = RedirectResponse(safe_next(return_to), status_code=303)
    add_flash(request, response, text, kind, **values)
    return response


def add_flash(
    request: Request, response: Response, text: str, kind: str = "ok", **values: Any
) -> None:
    """The message the next page shows once."""
    # The message id and its values, translated when shown: a cookie holds Latin-1 only,
    # and the moderator's language is the one of the page that shows it.
    packed = base64.urlsafe_b64encode(orjson.dumps([kind, text, values])[:600])
    value = signer(app_state(request), "flash").sign(packed).decode()
    set_cookie(response, app_state(request), FLASH, value, path="/moderate", max_age=60)


def _read_flash(request: Request, tr: Translator) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH)
    if not raw:
        return None
    try:
        packed = signer(app_state(request), "flash").unsign(raw)
        kind, text, values = orjson.loads(base64.urlsafe_b64decode(packed))
        return {"kind": str(kind), "text": tr(str(text), **dict(values))}
    except (
        BadSignature,
        binascii.Error,
        orjson.JSONDecodeError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ):
        return None


def explained(request: Request, exc: DomainError) -> DomainError:
    """A refusal in the moderator's words: who already handled a comment, in their language
    (for the page's script as for the page)."""
    if not isinstance(exc, AlreadyHandled):
        return exc
    tr = translator(request)
    status = tr(exc.status.value)
    text = (
        tr(
            N_("{by} already changed this comment to {status}; reload to see it."),
            by=exc.by,
            status=status,
        )
        if exc.by
        else tr(
            N_("This comment was changed to {status} meanwhile; reload to see it."),
            status=status,
        )
    )
    return Conflict(exc.code, text)


async def error_page(request: Request, exc: DomainError, status: int) -> Response:
    """A refused action or page: the reason, and a link back to where the moderator was
    (the form's ``return_to``, kept by ``form_action``)."""
    return page(
        request,
        "error.html",
        await current_session(request),
        status=status,
        title=N_("Already handled") if exc.code == "already_handled" else N_("Not done"),
        message=exc.message,
        back=safe_next(getattr(request.state, "return_to", None)),
    )


# How every refusal under /moderate reaches a person (scripts still get JSON).
ERROR_PAGES = ErrorPages("/moderate", render=error_page, explain=explained)


def done(
    request: Request, body: dict[str, Any], text: str, return_to: str | None, **values: Any
) -> Response:
    if wants_json(request):
        return JSON(body)
    return back(request, text, return_to=return_to, **values)

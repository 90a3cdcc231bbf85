"""The pages behind the links in readers' e-mail: confirm a subscription, unsubscribe (with
RFC 8058 one-click POST), and list or remove an address's subscriptions on a site.

The signed link is the capability: no cookie, no CSRF token (a forged POST would need the
link itself). A GET never changes anything (mail scanners follow links): confirming and
unsubscribing by hand are a button on the page, a POST. Pages name what is followed, never
an address. Texts: English here, the other languages under ``"mailpages"`` in
``server/i18n/*.json``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.core import subscriptions
from server.core.errors import DomainError, Invalid
from server.http.statuses import status_of
from server.i18n import accept_language, catalogue, negotiate
from server.state import app_state

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
FORM_MAX = 4096

ENGLISH: dict[str, str] = {
    "confirmTitle": "Confirm your subscription",
    "confirmText": "Press the button to start receiving e-mail about new comments. If you "
    "did not ask for this, close this page: nothing more will be sent.",
    "confirmButton": "Confirm",
    "confirmedTitle": "Subscription confirmed",
    "confirmedText": "You will receive e-mail about new comments. Every e-mail has a link "
    "to unsubscribe.",
    "unsubscribeTitle": "Unsubscribe",
    "unsubscribeText": "Stop the e-mail of this subscription?",
    "unsubscribeButton": "Unsubscribe",
    "unsubscribedTitle": "You are unsubscribed",
    "unsubscribedText": "You will receive no more e-mail for this subscription.",
    "manageTitle": "Your subscriptions",
    "manageEmpty": "This address follows nothing on this site.",
    "scopeReplies": "Replies to your comment",
    "scopeThread": "Every new comment on",
    "remove": "Remove",
    "removeAll": "Remove all",
    "invalidTitle": "This link does not work",
    "invalidText": "It is invalid or has expired. Use the link in a newer e-mail.",
}


class _Texts:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        found = catalogue(lang).get("mailpages", {})
        self.messages = {k: v for k, v in found.items() if isinstance(v, str)}

    def __call__(self, key: str) -> str:
        return self.messages.get(key) or ENGLISH[key]


def _page(
    request: Request, template: str, title_key: str, status: int = 200, **context: Any
) -> Response:
    lang = negotiate(accept_language(request.headers.get("accept-language")))
    texts = _Texts(lang)
    html = env.get_template(template).render(lang=lang, t=texts, title=texts(title_key), **context)
    return HTMLResponse(
        html,
        status_code=status,
        # The token is in the address: keep it out of caches and of Referer headers.
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refused(request: Request, exc: DomainError) -> Response:
    status = status_of(exc)
    if exc.code != "invalid_link":
        status = 400 if status >= 500 else status
    return _page(
        request, "done.html", "invalidTitle", status, text=_Texts(_lang(request))("invalidText")
    )


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the one-click body, or a page's button)."""
    body = await request.body()
    if len(body) > FORM_MAX:
        raise Invalid("invalid_link", "the form is too large")
    try:
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True, max_num_fields=8)
    except ValueError:  # more fields than any of these forms has
        raise Invalid("invalid_link", "the form has too many fields") from None
    return {key: found[0] for key, found in values.items() if found}


def _token(request: Request, form: dict[str, str] | None = None) -> str:
    return (form or {}).get("t") or request.query_params.get("t") or ""


def _button_page(request: Request, purpose: str) -> Response:
    """A GET of a link: its page with the button that POSTs it (link scanners change
    nothing), or why the link is refused."""
    token = _token(request)
    try:
        subscriptions.read_link(app_state(request).settings.secret_key, purpose, token)
    except DomainError as exc:
        return _refused(request, exc)
    return _page(request, f"{purpose}.html", f"{purpose}Title", token=token)


async def confirm_page(request: Request) -> Response:
    return _button_page(request, "confirm")


async def confirm_post(request: Request) -> Response:
    try:
        form = await _form(request)
        await subscriptions.confirm(app_state(request).services, _token(request, form))
    except DomainError as exc:
        return _refused(request, exc)
    return _page(
        request, "done.html", "confirmedTitle", text=_Texts(_lang(request))("confirmedText")
    )


def _lang(request: Request) -> str:
    return negotiate(accept_language(request.headers.get("accept-language")))


async def unsubscribe_page(request: Request) -> Response:
    return _button_page(request, "unsubscribe")


async def unsubscribe_post(request: Request) -> Response:
    """RFC 8058: a mail client POSTs ``List-Unsubscribe=One-Click`` to the link (token in
    the query); the page's button POSTs the token as a form field. Both answer 200."""
    try:
        form = await _form(request)
        await subscriptions.unsubscribe(app_state(request).services, _token(request, form))
    except DomainError as exc:
        return _refused(request, exc)
    return _page(
        request, "done.html", "unsubscribedTitle", text=_Texts(_lang(request))("unsubscribedText")
    )


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        url = row["page"]["url"]
        if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            row["page"]["url"] = None
    return rows


async def manage_page(request: Request) -> Response:
    token = _token(request)
    try:
        rows = await subscriptions.manage(app_state(request).services, token)
    except DomainError as exc:
        return _refused(request, exc)
    return _page(request, "manage.html", "manageTitle", token=token, rows=_shown(rows))


async def manage_post(request: Request) -> Response:
    try:
        form = await _form(request)
        token = _token(request, form)
        chosen = form.get("id", "all")
        # ASCII digits only: str.isdigit() takes "²", which int() refuses.
        if chosen != "all" and not (
            re.fullmatch(r"[0-9]{1,18}", chosen) and 0 < int(chosen) < 2**62
        ):
            raise Invalid("invalid_subscription", "choose a subscription or all")
        services = app_state(request).services
        await subscriptions.remove(services, token, None if chosen == "all" else int(chosen))
        rows = await subscriptions.manage(services, token)
    except DomainError as exc:
        return _refused(request, exc)
    return _page(request, "manage.html", "manageTitle", token=token, rows=_shown(rows))

"""A moderator's form post, handled in one shape: ``moderator_action`` checks the session,
origin and CSRF token; the form is read once; and where the moderator returns afterwards is
kept, so that a refused action (a ``DomainError``, answered by the app's one handler) links
back there too. A form shown again with the reason uses ``form_again``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.core.accounts import Session
from server.core.errors import DomainError, RateLimited
from server.http.statuses import headers_of, status_of
from server.moderation.security import Handler, moderator_action


@dataclass(frozen=True, slots=True)
class Posted:
    form: FormData
    back: str  # where the moderator returns afterwards


PostHandler = Callable[[Request, Session, Posted], Awaitable[Response]]


def form_action(
    *, back: Callable[[Request], str] | None = None
) -> Callable[[PostHandler], Handler]:
    """Wrap a handler of a moderator's post. It returns to the form's ``return_to`` (the
    queue view it was sent from) unless ``back`` names the page."""

    def decorate(handler: PostHandler) -> Handler:
        async def checked(request: Request, session: Session) -> Response:
            form = await request.form()
            to = back(request) if back else str(form.get("return_to", ""))
            request.state.return_to = to  # for the error page, should the action be refused
            return await handler(request, session, Posted(form, to))

        checked.__name__ = checked.__qualname__ = handler.__name__
        checked.__doc__ = handler.__doc__
        return moderator_action(checked)

    return decorate


def settings_page(request: Request) -> str:
    """The site settings page an owner's action came from."""
    return f"/moderate/sites/{request.path_params['site']}"


FormPage = Callable[[str, int], Awaitable[Response]]


async def form_again(
    exc: DomainError, show: FormPage, message: str | None = None, status: int | None = None
) -> Response:
    """A form posted before there is a session (log in, join, reset), shown again with why it
    was refused: ``message`` (default: the refusal's own) and ``status`` (default: the one
    table's), saying when to retry if it was one too many."""
    response = await show(message or exc.message, status or status_of(exc))
    if isinstance(exc, RateLimited):
        response.headers.update(headers_of(exc) or {})
    return response

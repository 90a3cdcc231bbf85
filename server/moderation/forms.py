"""A moderator's form post, handled in one shape: ``moderator_action`` checks the session,
origin and CSRF token; the form is read once; and a refused action (a ``DomainError``) is
answered in one place, as JSON for the page's script or as an error page that links back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from server.core.accounts import Session
from server.core.errors import DomainError
from server.moderation.render import failure
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
            try:
                return await handler(request, session, Posted(form, to))
            except DomainError as exc:
                return failure(request, session, exc, to)

        checked.__name__ = checked.__qualname__ = handler.__name__
        checked.__doc__ = handler.__doc__
        return moderator_action(checked)

    return decorate


def settings_page(request: Request) -> str:
    """The site settings page an owner's action came from."""
    return f"/moderate/sites/{request.path_params['site']}"

"""The one place a ``DomainError`` becomes a response, negotiated like Datasette's
``handle_exception``: JSON for the API, for scripts (``Accept: application/json``) and for any
path without pages of its own; a page for people where a part of the site has pages
(``ErrorPages``). Handlers only raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from server.core.errors import DomainError
from server.http.responses import domain_error
from server.http.statuses import status_of

PageRenderer = Callable[[Request, DomainError, int], Awaitable[Response]]
Explainer = Callable[[Request, DomainError], DomainError]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


def as_is(request: Request, exc: DomainError) -> DomainError:
    return exc


@dataclass(frozen=True, slots=True)
class ErrorPages:
    """How the pages under ``prefix`` show a refusal: ``render`` draws the page (given the
    status from the one table); ``explain`` may first reword the refusal for this reader
    (their language, say), for the page and for the JSON their script receives alike."""

    prefix: str
    render: PageRenderer
    explain: Explainer = as_is


def wants_json(connection: HTTPConnection) -> bool:
    return "application/json" in connection.headers.get("accept", "")


def domain_error_handler(*pages: ErrorPages) -> ExceptionHandler:
    """The ``DomainError`` handler ``create_app`` registers."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        refusal = exc
        for section in pages:
            if request.url.path.startswith(section.prefix):
                refusal = section.explain(request, exc)
                if not wants_json(request):
                    return await section.render(request, refusal, status_of(refusal))
                break
        return domain_error(refusal)

    return handle

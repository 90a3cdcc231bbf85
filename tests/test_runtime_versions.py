"""server/runtime/ leans on uvicorn's, httptools' and Starlette's internals: these tests pin
the versions it was written against and the internals it touches, so an upgrade fails here,
by name, instead of quietly losing a deadline or a header limit in production."""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.runtime.http_protocol import DeadlineHttpToolsProtocol
from server.runtime.websocket_protocol import WebSocketProtocol

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# What server/runtime/ was read against. Upgrading one: read server/runtime/ again against
# the new release's source, then change the pin here and in pyproject.toml together.
RELIED_ON = {
    "uvicorn": "0.54.0",
    "starlette": "1.10.0",
    "httptools": "0.9.0",
    "websockets": "17.4",
}

# httptools calls these when a protocol defines them; uvicorn's does not.
PARSER_CALLBACKS_ADDED = {"on_chunk_header"}


def pinned() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins: dict[str, str] = {}
    for requirement in dependencies:
        name, _, exact = requirement.partition("==")
        pins[name.split("[")[0]] = exact
    return pins


@pytest.mark.parametrize(("package", "expected"), sorted(RELIED_ON.items()))
def test_installed_and_pinned_versions_are_the_ones_runtime_was_written_for(
    package: str, expected: str
) -> None:
    assert version(package) == expected
    assert pinned().get(package) == expected, f"pin {package}=={expected} in pyproject.toml"


@pytest.mark.parametrize(
    ("subclass", "base"),
    [(DeadlineHttpToolsProtocol, HttpToolsProtocol), (WebSocketProtocol, WebSocketsSansIOProtocol)],
)
def test_every_overridden_method_still_exists_upstream_with_the_same_parameters(
    subclass: type, base: type
) -> None:
    for name, method in vars(subclass).items():
        if name.startswith("_") or not callable(method) or name in PARSER_CALLBACKS_ADDED:
            continue
        upstream = getattr(base, name, None)
        assert upstream is not None, f"{base.__name__}.{name} is gone"
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(upstream).parameters
        ), f"{base.__name__}.{name} changed its parameters"


def test_the_internals_runtime_reads_are_still_there() -> None:
    assert {413, 414, 429, 431} <= set(STATUS_LINE)
    http_source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.parser", "self.flow", "self.cycle", "self.server_state", "self.url"):
        assert attribute in http_source, attribute
    websocket_source = inspect.getsource(WebSocketsSansIOProtocol)
    for attribute in ("self.close_timer", "self.close_sent", "self.close_timeout"):
        assert attribute in websocket_source, attribute
    assert callable(WebSocketsSansIOProtocol.keepalive_timeout)

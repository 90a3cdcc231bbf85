"""The one typed way from a request or websocket to this process's ``AppState``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:  # the app state is built from the parts that use this
    from server.state import AppState


def app_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.tl
    return state

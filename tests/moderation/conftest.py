"""Moderator clients for the in-process app and real servers, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.moderation import moderator_of


@pytest.fixture
def make_mod(api: Api) -> Callable[..., Any]:
    """Create a moderator of some sites, logged in, as its own browser."""

    def make(*sites: str, owner: bool = False, login: bool = True) -> Any:
        return moderator_of(api, *sites, owner=owner, login=login)

    return make

"""API fuzzing: schemathesis drives every documented operation with generated (and broken)
input. No 5xx, and every answer, error or not, matches the document."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.api.openapi import openapi_document
from server.app import create_app
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.migrate import migrate
from tests.support.config import SECRET, settings_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class FreshApp:
    """Builds a migrated database, a site and the app at lifespan startup, inside the loop
    schemathesis runs the app in; importing this module does no I/O."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            data = Path(tempfile.mkdtemp(prefix="tl-fuzz-"))
            url = f"sqlite:///{data}/fuzz.db"
            store = SqlStore(url)
            await migrate(store)
            await add_site(command_services(store, SECRET), "fuzz", origins=["https://blog.test"])
            await store.close()
            self.app = create_app(settings_for(url, data))
        await self.app(scope, receive, send)


def _document() -> dict[str, Any]:
    document = openapi_document()
    # Aim the fuzzer at a real site: unknown sites would only ever get the same 404.
    for ops in document["paths"].values():
        for op in ops.values():
            for param in op["parameters"]:
                if param["name"] == "site":
                    param["schema"] = {"enum": ["fuzz"]}
    return document


schema = schemathesis.openapi.from_dict(_document())
schema.app = FreshApp()
# Valid requests, and requests that break the document on purpose (wrong types, missing
# fields, oversized values): both must get documented answers, never a 5xx.
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=True
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_matches_the_document(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)

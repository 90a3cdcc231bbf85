"""The OpenAPI document is served and lists exactly the API's routes."""

from __future__ import annotations

import re

from starlette.routing import Route

from server.api.routes import routes
from tests.support.api import Api


def routed() -> set[tuple[str, str]]:
    out = set()
    for route in routes():
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD" and not path.endswith("openapi.json"):
                out.add((path, method.lower()))
    return out


async def test_document_lists_exactly_the_routes(api: Api) -> None:
    r = await api.http.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == routed()
    for ops in doc["paths"].values():
        for op in ops.values():
            assert "4XX" in op["responses"]
            assert op["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }

"""The demo page, health probes, and error rendering for non-API paths."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.http.responses import JSON, error
from server.state import app_state

WIDGET_DIR = Path(__file__).resolve().parent.parent.parent / "widget"
DEMO = WIDGET_DIR / "demo.html"
DEMO_CSS = WIDGET_DIR / "demo.css"


async def demo_page(request: Request) -> Response:
    html = DEMO.read_text() if DEMO.exists() else "<!doctype html><p>Threadline</p>"
    return HTMLResponse(html)


async def demo_css(request: Request) -> Response:
    return Response(
        DEMO_CSS.read_text() if DEMO_CSS.exists() else "",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    app = app_state(request)
    checks: dict[str, str] = {}
    ok = not app.shutting_down
    checks["process"] = "shutting down" if app.shutting_down else "ok"
    try:
        await app.store.ping()
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 -- any failure means not ready
        checks["database"] = "unreachable"
        ok = False
    if app.settings.redis_url:
        try:
            await app.broker.ping()
            checks["redis"] = "ok" if app.broker.connected else "reconnecting"
        except Exception:  # noqa: BLE001
            checks["redis"] = "unreachable"
            ok = False
    return JSON(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    if _is_api(request) or exc.status_code not in (404, 405):
        return error(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
    return HTMLResponse(
        f"<!doctype html><title>{exc.status_code}</title><h1>{exc.status_code}</h1>",
        status_code=exc.status_code,
    )


async def server_error(request: Request, exc: Exception) -> Response:
    return error(500, "internal_error", "something went wrong on our side; it was logged")

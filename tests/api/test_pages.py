"""The widget script, the demo page and the health probes over HTTP."""

from __future__ import annotations

import gzip

from tests.support.api import Api


async def test_widget_js_is_javascript_gzipped_with_an_etag(api: Api) -> None:
    r = await api.http.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "Accept-Encoding" in r.headers["vary"]
    assert "max-age" in r.headers["cache-control"]
    assert r.headers["content-encoding"] == "gzip"
    assert "attachShadow" in r.text  # httpx decoded the gzip body
    etag = r.headers["etag"]
    again = await api.http.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_widget_js_without_gzip_is_the_plain_file(api: Api) -> None:
    r = await api.http.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    assert len(r.content) > len(gzip.compress(r.content))


async def test_demo_page_embeds_the_widget(api: Api) -> None:
    r = await api.http.get("/")
    assert r.status_code == 200
    assert 'src="/widget.js"' in r.text
    assert 'data-site="demo"' in r.text


async def test_health_probes(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"

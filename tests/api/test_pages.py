"""The widget script, the demo page and the health probes over HTTP."""

from __future__ import annotations

import gzip
import hashlib
import re

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


async def test_widget_engage_js_is_an_immutable_module_any_origin_may_import(api: Api) -> None:
    """The widget's second chunk: under the digest the widget names, cached for a year; under
    any other v= (an old page's), briefly; readable cross-origin, as a module script must be."""
    widget = (await api.http.get("/widget.js")).text
    found = re.search(r"/widget-engage\.js\?v=([0-9a-f]{16})", widget)
    assert found is not None
    r = await api.http.get(found.group(0), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["content-encoding"] == "gzip"
    assert "export const install" in r.text
    assert hashlib.sha256(r.content).hexdigest()[:16] == found.group(1)
    old = await api.http.get("/widget-engage.js?v=0123456789abcdef")
    assert old.headers["cache-control"].startswith("public, max-age=300")
    assert old.content == r.content
    again = await api.http.get(found.group(0), headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


async def test_widget_notify_js_is_an_immutable_module_the_engage_chunk_names(api: Api) -> None:
    """The third chunk, the notification centre: imported by the second under its digest,
    served as the second is."""
    widget = (await api.http.get("/widget.js")).text
    engage = re.search(r"/widget-engage\.js\?v=[0-9a-f]{16}", widget)
    assert engage is not None
    found = re.search(
        r"/widget-notify\.js\?v=([0-9a-f]{16})", (await api.http.get(engage.group(0))).text
    )
    assert found is not None
    r = await api.http.get(found.group(0), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "export const follow" in r.text
    assert hashlib.sha256(r.content).hexdigest()[:16] == found.group(1)
    old = await api.http.get("/widget-notify.js?v=0123456789abcdef")
    assert old.headers["cache-control"].startswith("public, max-age=300")
    assert old.content == r.content


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

"""Serving /widget.js, its chunks /widget-engage.js and /widget-notify.js, and /count.js:
made once, gzipped once, ETag and conditional requests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from server.web.widget_source import (
    engage_version,
    notify_version,
    served_engage,
    served_notify,
    served_widget,
)

COUNT = Path(__file__).resolve().parent.parent.parent / "widget" / "count.js"


def file_or_error(path: Path) -> bytes:
    """A script as it is on disk, or one that says in the console which file is missing."""
    if path.exists():
        return path.read_bytes()
    return (
        f"console.error('[threadline] widget/{path.name} is missing from this install');".encode()
    )


# Short: an unversioned URL (or an old version's) must reach pages soon after a release.
SHORT_CACHE = "public, max-age=300, stale-while-revalidate=86400"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


class WidgetAsset:
    def __init__(self, path: Path | None = None, body: bytes | None = None) -> None:
        # The widget is assembled and minified from widget/src; other scripts serve as they are.
        if body is None:
            body = served_widget() if path is None else file_or_error(path)
        self.body = body
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        # Over the bytes served: a new minifier or source part is a new ETag.
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def headers(self, request: Request) -> dict[str, str]:
        return {
            "ETag": self.etag,
            "Cache-Control": SHORT_CACHE,
            "Vary": "Accept-Encoding",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }

    async def serve(self, request: Request) -> Response:
        headers = self.headers(request)
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = self.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


class ChunkAsset(WidgetAsset):
    """One of the widget's chunks, /widget-NAME.js?v=DIGEST: an ES module, which a host page
    imports across origins only with CORS. The URL with the current digest names these bytes
    forever, so caches keep it a year; any other v= (an old page's) gets today's bytes briefly."""

    def __init__(self, body: bytes, version: str) -> None:
        super().__init__(body=body)
        self.version = version

    def headers(self, request: Request) -> dict[str, str]:
        headers = super().headers(request)
        headers["Access-Control-Allow-Origin"] = "*"
        if request.query_params.get("v") == self.version:
            headers["Cache-Control"] = IMMUTABLE_CACHE
        return headers


class EngageAsset(ChunkAsset):
    """/widget-engage.js: reactions, sorting, pins and links, which the widget imports."""

    def __init__(self) -> None:
        super().__init__(served_engage(), engage_version())


class NotifyAsset(ChunkAsset):
    """/widget-notify.js: the notification centre, which the engage chunk imports for a
    reader with a credential."""

    def __init__(self) -> None:
        super().__init__(served_notify(), notify_version())

"""Serving /widget.js and /count.js: made once, gzipped once, ETag and conditional requests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from server.web.widget_source import served_widget

COUNT = Path(__file__).resolve().parent.parent.parent / "widget" / "count.js"


def file_or_error(path: Path) -> bytes:
    """A script as it is on disk, or one that says in the console which file is missing."""
    if path.exists():
        return path.read_bytes()
    return (
        f"console.error('[threadline] widget/{path.name} is missing from this install');".encode()
    )


class WidgetAsset:
    def __init__(self, path: Path | None = None) -> None:
        # The widget is assembled and minified from widget/src; other scripts serve as they are.
        self.body = served_widget() if path is None else file_or_error(path)
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        # Over the bytes served: a new minifier or source part is a new ETag.
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    async def serve(self, request: Request) -> Response:
        headers = {
            "ETag": self.etag,
            # Short: the URL is not versioned, so a new release must reach pages soon.
            "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
            "Vary": "Accept-Encoding",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = self.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)

"""Serving /widget.js and /count.js: read once, gzipped once, ETag and conditional requests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

WIDGET = Path(__file__).resolve().parent.parent.parent / "widget" / "threadline.js"
COUNT = WIDGET.with_name("count.js")


class WidgetAsset:
    def __init__(self, path: Path = WIDGET) -> None:
        self.path = path
        self.body = (
            path.read_bytes()
            if path.exists()
            else (
                f"console.error('[threadline] widget/{path.name} is missing from this install');"
            ).encode()
        )
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
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

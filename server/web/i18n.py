"""``GET /i18n?lang=de-AT,en``: the widget's texts in the best shipped language. Public and
the same for every site (like /widget.js), so any origin may read it and caches may keep it."""

from __future__ import annotations

import hashlib

import orjson
from starlette.requests import Request
from starlette.responses import Response

from server.i18n import LANGUAGES, catalogue, negotiate

MAX_TAGS = 10


def _bodies() -> dict[str, tuple[bytes, str]]:
    out = {}
    for lang in LANGUAGES:
        body = orjson.dumps({"lang": lang, "messages": catalogue(lang)["widget"]})
        out[lang] = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return out


_BODIES = _bodies()


async def widget_messages(request: Request) -> Response:
    wanted = request.query_params.get("lang", "")[:200].split(",")[:MAX_TAGS]
    body, etag = _BODIES[negotiate(wanted)]
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)

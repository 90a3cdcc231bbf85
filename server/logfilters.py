"""Log hygiene for the servers we run under."""

from __future__ import annotations

import logging

_DENIAL_NOISE = "ASGI callable returned without completing handshake."


class _DenialNoise(logging.Filter):
    """uvicorn's websockets-sansio logs an ERROR after every handshake refused through the
    websocket.http.response extension, though the client got the right answer
    (Kludex/uvicorn PR #3138). Threadline always accepts or refuses explicitly, so this
    record carries no information; alerting on it would page someone for every CSWSH probe."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DENIAL_NOISE


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        logging.getLogger("uvicorn.error").addFilter(_DenialNoise())
        _installed = True

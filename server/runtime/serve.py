"""How `threadline serve` runs uvicorn: the production defaults live here, in one place."""

from __future__ import annotations

from typing import Any

from server.live.frames import MAX_FRAME
from server.settings import Settings

APP = "server.app:app"


def uvicorn_options(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    reload: bool = False,
) -> dict[str, Any]:
    return {
        "app": APP,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": 1 if reload else (workers or settings.workers),
        "reload": reload,
        "loop": "uvloop",
        # httptools, with deadlines; websockets-sansio, with a bounded send buffer.
        "http": "server.runtime.http_protocol:DeadlineHttpToolsProtocol",
        "ws": "server.runtime.websocket_protocol:WebSocketProtocol",
        "ws_max_size": MAX_FRAME,
        # Per-message deflate costs ~35 KiB per idle socket and a decompression-bomb surface
        # for frames of a few hundred bytes.
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "lifespan": "on",
        # Threadline reads X-Forwarded-For itself, from THREADLINE_TRUSTED_PROXIES only.
        "proxy_headers": False,
        "limit_concurrency": 20000,
        "backlog": 4096,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        # Threadline's own access records (THREADLINE_ACCESS_LOG) carry the request id.
        "access_log": False,
        "log_level": settings.log_level,
        # Logging is set up by server.runtime.logs (JSON or text), not by uvicorn's dictConfig.
        "log_config": None,
    }

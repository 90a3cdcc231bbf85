"""Django Channels with channels_redis: RedisChannelLayer (``BENCH_LAYER=core``) or
RedisPubSubChannelLayer (``BENCH_LAYER=pubsub``). One group per page."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

import django
from django.conf import settings

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": LAYERS[os.environ.get("BENCH_LAYER", "core")],
            "CONFIG": {"hosts": [os.environ["BENCH_REDIS_URL"]]},
        }
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.sut.common import open_loop, spawn, start_params  # noqa: E402


class Reader(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        self.page = query.get("page", ["p"])[0]
        await self.channel_layer.group_add(self.page, self.channel_name)
        await self.accept()
        await self.send(text_data="ready")

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.page, self.channel_name)

    async def bench_event(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/_bench/start":
        rate, count, page, size = start_params(scope["query_string"].decode())
        layer = get_channel_layer()

        async def publish(text: str, _i: int) -> None:
            await layer.group_send(page, {"type": "bench.event", "text": text})

        spawn(open_loop(rate, count, size, publish))
        status, body = 202, b"started"
    else:
        status, body = 404, b"not found"
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = ProtocolTypeRouter({"http": http, "websocket": URLRouter([path("ws", Reader.as_asgi())])})

"""An open websocket keeps no copy of its handshake (issue 19: a socket's memory). uvicorn's
protocol holds the handshake request and response for the connection's life; ours lets
them go once the socket is accepted. Driven through uvicorn's real protocol code."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from server.runtime.websocket_protocol import WebSocketProtocol

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Origin: https://blog.test\r\n\r\n"
)


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


async def test_an_accepted_socket_lets_its_handshake_go() -> None:
    accepted = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        accepted.set()
        await receive()  # open until the peer leaves

    config = Config(app=app, ws="websockets-sansio", lifespan="off", log_level="warning")
    config.load()
    protocol = WebSocketProtocol(config, ServerState(), {})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(HANDSHAKE)
    async with asyncio.timeout(5):
        await accepted.wait()
    assert transport.written.startswith(b"HTTP/1.1 101")
    kept = vars(protocol)  # (uvicorn types them as always set)
    assert kept["request"] is None and kept["response"] is None
    protocol.connection_lost(None)
    await asyncio.sleep(0)

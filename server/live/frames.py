"""The websocket wire protocol (version 1): frames, close codes, what clients may send.

Documented for clients in docs/protocol.md; keep the two in step."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from server.core.models import Event

VERSION = 1
MAX_FRAME = 8192  # bytes a client frame may have; uvicorn closes bigger ones with 1009


class Close(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003  # binary frame
    INVALID_PAYLOAD = 1007  # not JSON, or not a JSON object with a type
    POLICY = 1008  # unknown type, bad subscribe, flood, no subscribe in time
    TOO_BIG = 1009
    RESTART = 1012  # server restarting: reconnect elsewhere and resume from seq
    TRY_AGAIN = 1013  # too slow to keep up, or server overloaded


class ProtocolError(Exception):
    def __init__(self, code: Close, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


CLIENT_TYPES = frozenset({"subscribe", "typing", "ping", "sync"})


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: str
    page: object = None
    seq: int | None = None
    url: object = None
    title: object = None
    token: str | None = None


def parse_client(text: str) -> ClientMessage:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(Close.INVALID_PAYLOAD, "frame is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(Close.INVALID_PAYLOAD, "frame must be a JSON object with a type")
    kind = data["type"]
    if kind not in CLIENT_TYPES:
        raise ProtocolError(Close.POLICY, f"unknown frame type {kind[:40]!r}")
    seq = data.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq < 2**62):
        raise ProtocolError(Close.POLICY, "seq must be a whole number >= 0")
    token = data.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError(Close.POLICY, "token must be a string")
    return ClientMessage(kind, data.get("page"), seq, data.get("url"), data.get("title"), token)


class Frame:
    """A text message for readers: its UTF-8 bytes, and on demand its str and wire form."""

    __slots__ = ("_text", "_wire", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._text: str | None = None
        self._wire: bytes | None = None

    @classmethod
    def of(cls, text: str) -> Frame:
        frame = cls(text.encode())
        frame._text = text
        return frame

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode()
        return self._text

    @property
    def wire(self) -> bytes:
        """The complete RFC 6455 server frame: FIN + text opcode, length, payload."""
        if self._wire is None:
            n = len(self.data)
            if n < 126:
                head = struct.pack("!BB", 0x81, n)
            elif n < 65536:
                head = struct.pack("!BBH", 0x81, 126, n)
            else:
                head = struct.pack("!BBQ", 0x81, 127, n)
            self._wire = head + self.data
        return self._wire

    def __len__(self) -> int:
        return len(self.data)


def frame(type_: str, page: str, seq: int = 0, data: Any = None) -> Frame:
    return Frame(orjson.dumps({"type": type_, "page": page, "seq": seq, "data": data}))


def event_frame(event: Event) -> Frame:
    return Frame(orjson.dumps(event.envelope()))

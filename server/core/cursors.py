"""Opaque keyset cursors: where the next page of comments or replies starts."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from server.core.errors import Invalid
from server.core.models import Order


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last item shown: its creation time and id, in a given order."""

    created_at: int
    id: int
    order: Order

    def encode(self) -> str:
        raw = orjson.dumps([1, self.order.value, self.created_at, self.id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        bad = Invalid("invalid_cursor", "cursor is not one this server issued")
        if not isinstance(text, str) or len(text) > 200:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            version, order, created_at, ident = orjson.loads(raw)
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise bad from None
        if (
            version != 1
            or order not in ("newest", "oldest")
            or type(created_at) is not int
            or type(ident) is not int
        ):
            raise bad
        if not (0 <= created_at < 2**62 and 0 <= ident < 2**62):
            raise bad
        return cls(created_at, ident, Order(order))

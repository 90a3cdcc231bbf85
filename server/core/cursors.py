"""Opaque keyset cursors: where the next page of comments or replies starts."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import orjson

from server.core.errors import Invalid
from server.core.models import Order

MAX_ID = 2**62


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last item shown: its creation time and id, in a given order.

    Under ``order=best`` it also carries the snapshot moment ``at`` (ms) whose ranking the
    listing pages through, and the last item's ``score`` in that ranking."""

    created_at: int
    id: int
    order: Order
    at: int | None = None
    score: float | None = None

    def encode(self) -> str:
        if self.order is Order.BEST:
            raw = orjson.dumps([2, self.order.value, self.created_at, self.id, self.at, self.score])
        else:
            raw = orjson.dumps([1, self.order.value, self.created_at, self.id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        bad = Invalid("invalid_cursor", "cursor is not one this server issued")
        if not isinstance(text, str) or len(text) > 200:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            fields = orjson.loads(raw)
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise bad from None
        if not isinstance(fields, list) or not fields:
            raise bad
        if fields[0] == 1 and len(fields) == 4:  # newest / oldest (and every older cursor)
            _, order, created_at, ident = fields
            if order not in ("newest", "oldest"):
                raise bad
            _check_position(created_at, ident, bad)
            return cls(created_at, ident, Order(order))
        if fields[0] == 2 and len(fields) == 6:  # best: snapshot moment and score too
            _, order, created_at, ident, at, score = fields
            if order != "best" or type(at) is not int or not 0 <= at < MAX_ID:
                raise bad
            if type(score) not in (int, float) or not (math.isfinite(score) and 0 <= score <= 1):
                raise bad
            _check_position(created_at, ident, bad)
            return cls(created_at, ident, Order.BEST, at, float(score))
        raise bad


def _check_position(created_at: object, ident: object, bad: Invalid) -> None:
    if type(created_at) is not int or type(ident) is not int:
        raise bad
    if not (0 <= created_at < MAX_ID and 0 <= ident < MAX_ID):
        raise bad

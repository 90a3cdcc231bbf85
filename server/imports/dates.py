"""Timestamps in the forms exports write them, as milliseconds since the epoch (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from server.core.imports import bad_file


def iso_ms(value: str, where: str, what: str = "createdAt") -> int:
    """RFC 3339 (``2012-01-31T08:00:00Z``); a time without a zone is taken as UTC."""
    try:
        when = datetime.fromisoformat(value.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return round(when.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise bad_file(where, f"{what} {value!r} is not a date and time") from None


def sql_ms(value: str, where: str, what: str) -> int | None:
    """WordPress's ``2012-01-31 08:00:00``; its all-zero date means unknown."""
    text = value.strip()
    if not text or text.startswith("0000-00-00"):
        return None
    return iso_ms(text.replace(" ", "T"), where, what)

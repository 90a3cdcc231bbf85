"""Reading a setting's text into its value, checking a database URL, and showing a value
without its secrets."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """One or more environment variables are wrong; the message names each of them."""


def database_url_problem(url: str) -> str | None:
    """What is wrong with the form of a database URL, or None."""
    if url.startswith("sqlite:///"):
        return (
            None
            if url.removeprefix("sqlite:///").split("?")[0]
            else "expected sqlite:///PATH, with a path"
        )
    if not url.startswith(("postgresql://", "postgres://")):
        return "expected sqlite:///PATH or postgresql://USER@HOST/DB"
    try:
        urlsplit(url).port  # noqa: B018 -- parsing it is the check
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    return None


def parse_value(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind == "int":
        try:
            value: Any = int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
        low, high = f.metadata.get("min"), f.metadata.get("max")
        if low is not None and value < low:
            raise ValueError(f"expected a number >= {low}")
        if high is not None and value > high:
            raise ValueError(f"expected a number <= {high}")
        return value
    if kind.startswith("tuple"):
        return parse_networks(raw)
    if kind == "str | None":
        return raw or None
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError("expected 1 or 0")
    choices = f.metadata.get("choices")
    if choices and raw not in choices:
        raise ValueError("expected one of " + ", ".join(choices))
    return raw


def parse_networks(raw: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in raw.split(",") if part.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"expected IP addresses or CIDR ranges, got {item!r}") from None
    return items


def shown(value: object, *, hidden: bool) -> str:
    if value is None or value == "":
        return "(unset)"
    if hidden:
        return "(hidden)"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(value) or "(unset)"
    text = str(value)
    scheme, sep, rest = text.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        # Whatever stands before the last @ may be a password (redis://SECRET@host is one,
        # and a sentinel URL's authority is no single host urlsplit could read).
        user, colon, _ = authority.rpartition("@")[0].partition(":")
        host = authority.rpartition("@")[2]
        shown_user = f"{user}:***" if colon else "***"
        return f"{scheme}://{shown_user}@{host}{slash}{path}"
    return text

"""Validation of the plain text readers send: bodies, names, page keys, titles, URLs."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from server.core.errors import Invalid

BODY_MAX = 5000
NAME_MAX = 50
PAGE_KEY_MAX = 512
TITLE_MAX = 300
URL_MAX = 2048

_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def forbidden(ch: str, allow_newlines: bool) -> bool:
    """A character no reader text may hold."""
    if ch in "\n\t" and allow_newlines:
        return False
    # Cc: C0/C1 controls (NUL, ESC, BEL...). Cs: lone surrogates. Noncharacters U+FFFE/F.
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"


def _bad_char(text: str, allow_newlines: bool) -> str | None:
    return next((ch for ch in text if forbidden(ch, allow_newlines)), None)


def clean_body(value: object) -> str:
    """A comment body: text, trimmed, 1 to 5,000 characters, no control characters."""
    if not isinstance(value, str):
        raise Invalid("invalid_body", "body must be a string")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise Invalid("body_empty", "body must not be empty")
    if len(text) > BODY_MAX:
        raise Invalid("body_too_long", f"body must be at most {BODY_MAX} characters")
    bad = _bad_char(text, allow_newlines=True)
    if bad is not None:
        raise Invalid("body_control_character",
                      f"body must not contain control character U+{ord(bad):04X}")
    return text


def clean_name(value: object) -> str | None:
    """An author name: optional, trimmed, at most 50 characters; blank means `No Name`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("invalid_name", "name must be a string or null")
    text = " ".join(value.split())
    if len(text) > NAME_MAX:
        raise Invalid("name_too_long", f"name must be at most {NAME_MAX} characters")
    bad = _bad_char(text, allow_newlines=False)
    if bad is not None:
        raise Invalid("name_control_character",
                      f"name must not contain control character U+{ord(bad):04X}")
    return text or None


def clean_page_key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("invalid_page", "page must be a non-empty string")
    key = value.strip()
    if len(key) > PAGE_KEY_MAX:
        raise Invalid("page_too_long", f"page must be at most {PAGE_KEY_MAX} characters")
    if _bad_char(key, allow_newlines=False) is not None:
        raise Invalid("invalid_page", "page must not contain control characters")
    return key


def clean_title(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("invalid_title", "title must be a string or null")
    text = " ".join(value.split())[:TITLE_MAX]
    if _bad_char(text, allow_newlines=False) is not None:
        raise Invalid("invalid_title", "title must not contain control characters")
    return text or None


def clean_url(value: object) -> str | None:
    """A page URL as the embed reports it: http(s) only; the caller checks its origin."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > URL_MAX:
        raise Invalid("invalid_url", f"url must be a string of at most {URL_MAX} characters")
    if _bad_char(value, allow_newlines=False) is not None or any(c.isspace() for c in value):
        raise Invalid("invalid_url", "url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        raise Invalid("invalid_url", "url is malformed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("invalid_url", "url must be an absolute http or https URL")
    return value


def count_links(body: str) -> int:
    return len(_LINK.findall(body))

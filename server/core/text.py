"""Validation of the plain text readers send: bodies, names, page keys, titles, URLs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from enum import StrEnum

from server.core.errors import Invalid
from server.core.invisible import BLANKS, invisible, variation_selector
from server.core.urls import UrlAmbiguous, UrlMalformed, read_web_url

BODY_MAX = 5000
NAME_MAX = 50
PAGE_KEY_MAX = 512
TITLE_MAX = 300
URL_MAX = 2048

_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


# Embeddings, overrides and isolates: they reorder the text around them, so what a moderator
# reads is not the order it was written in (Trojan Source).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters prose has no use for: a byte-order mark inside text (the old word
# joiner), the word joiner, the invisible maths operators, interlinear annotation marks.
# Bodies keep the ones writing needs: ZWSP (Thai word breaks), ZWNJ and ZWJ (Persian, Indic
# scripts, emoji), LRM, RLM and ALM (mixed-direction text), soft hyphens.
BODY_INVISIBLE = frozenset("\ufeff\u2060\u2061\u2062\u2063\u2064\ufff9\ufffa\ufffb")
JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ
KEYCAP_BASES = frozenset("#*0123456789")  # "1" + VS16 + U+20E3 KEYCAP: 1️⃣


class Unwanted(StrEnum):
    """Why a character may not stand in reader text; also the tail of the error code."""

    CONTROL = "control character"
    BIDI = "bidi control"
    INVISIBLE = "invisible character"
    BLANK = "blank character"


def forbidden(ch: str, allow_newlines: bool) -> bool:
    """A character no reader text may hold."""
    if ch in "\n\t" and allow_newlines:
        return False
    # Cc: C0/C1 controls (NUL, ESC, BEL...). Cs: lone surrogates. Noncharacters U+FFFE/F.
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"


def unwanted_in_body(text: str) -> Iterator[tuple[int, Unwanted]]:
    """Where a comment body holds characters it may not, and why."""
    for index, ch in enumerate(text):
        if forbidden(ch, allow_newlines=True):
            yield index, Unwanted.CONTROL
        elif ch in BIDI_CONTROLS:
            yield index, Unwanted.BIDI
        elif ch in BODY_INVISIBLE:
            yield index, Unwanted.INVISIBLE


def unwanted_in_name(text: str) -> Iterator[tuple[int, Unwanted]]:
    """Where a name holds characters it may not: every character drawn as nothing (format
    characters and Unicode's other default-ignorables) or as a blank that is not a space
    (a Hangul filler: a name that looks empty, or like another) makes a name that looks
    like another; except ZWNJ and ZWJ where a script or an emoji needs them, and a
    variation selector on the character it selects a form of."""
    for index, ch in enumerate(text):
        if forbidden(ch, allow_newlines=False):
            yield index, Unwanted.CONTROL
        elif ch in BIDI_CONTROLS:
            yield index, Unwanted.BIDI
        elif ch in BLANKS:
            yield index, Unwanted.BLANK
        elif invisible(ch) and not _needed(text, index):
            yield index, Unwanted.INVISIBLE


def _needed(text: str, index: int) -> bool:
    ch = text[index]
    if ch in JOINERS:
        return _joins(text, index)
    return variation_selector(ch) and _selects(text, index)


def _joins(text: str, index: int) -> bool:
    """A joiner between two visible non-ASCII characters (Persian letters, a Devanagari
    conjunct, an emoji sequence); beside ASCII it only hides inside a Latin name."""
    if not 0 < index < len(text) - 1:
        return False
    return all(
        not ch.isascii() and not ch.isspace() and unicodedata.category(ch) != "Cf"
        for ch in (text[index - 1], text[index + 1])
    )


def _selects(text: str, index: int) -> bool:
    """A variation selector after what it selects a form of: an emoji (❤️), an ideograph, a
    Mongolian letter, a keycap's digit; after ASCII or nothing it only hides."""
    if index == 0:
        return False
    before = text[index - 1]
    if before in KEYCAP_BASES:
        return text[index + 1 : index + 2] == "\u20e3"
    return not before.isascii() and not before.isspace() and not invisible(before)


def without(text: str, unwanted: Iterator[tuple[int, Unwanted]]) -> str:
    """``text`` less the characters ``unwanted`` points at (imports clean rather than
    refuse)."""
    drop = {index for index, _ in unwanted}
    return "".join(ch for index, ch in enumerate(text) if index not in drop) if drop else text


def _refuse_first(field: str, text: str, unwanted: Iterator[tuple[int, Unwanted]]) -> None:
    first = next(unwanted, None)
    if first is not None:
        index, why = first
        ch = text[index]
        name = unicodedata.name(ch, "")
        described = f"U+{ord(ch):04X}" + (f" ({name})" if name else "")
        raise Invalid(
            f"{field}_{why.value.replace(' ', '_')}",
            f"{field} must not contain {why.value} {described}",
        )


def _bad_char(text: str, allow_newlines: bool) -> str | None:
    return next((ch for ch in text if forbidden(ch, allow_newlines)), None)


def clean_body(value: object) -> str:
    """A comment body: text, trimmed, 1 to 5,000 characters, no control characters, bidi
    controls or invisible junk."""
    if not isinstance(value, str):
        raise Invalid("invalid_body", "body must be a string")
    # A byte-order mark in front is what a pasted file starts with, not part of the text.
    text = value.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise Invalid("body_empty", "body must not be empty")
    if len(text) > BODY_MAX:
        raise Invalid("body_too_long", f"body must be at most {BODY_MAX} characters")
    _refuse_first("body", text, unwanted_in_body(text))
    return text


def clean_name(value: object) -> str | None:
    """An author name: optional, trimmed, at most 50 characters, no invisible characters;
    blank means `No Name`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("invalid_name", "name must be a string or null")
    text = " ".join(value.split())
    if len(text) > NAME_MAX:
        raise Invalid("name_too_long", f"name must be at most {NAME_MAX} characters")
    _refuse_first("name", text, unwanted_in_name(text))
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
    """A page URL as the embed reports it: http(s), read as browsers read it and kept in
    their serialisation, so the moderation page, the feed and any later reader follow it
    to the host the origin check saw. The caller checks that origin."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > URL_MAX:
        raise Invalid("invalid_url", f"url must be a string of at most {URL_MAX} characters")
    # Browsers drop tabs, newlines and surrounding controls and spaces that other readers
    # keep: no URL a browser reports has them.
    if _bad_char(value, allow_newlines=False) is not None or any(c.isspace() for c in value):
        raise Invalid("invalid_url", "url must not contain spaces or control characters")
    try:
        url = read_web_url(value)
    except UrlAmbiguous:
        raise Invalid(
            "url_ambiguous",
            "url names another host to browsers than to other "
            "software (a backslash, a missing //, an encoded or shortened host): "
            "send it as the browser's location shows it",
        ) from None
    except UrlMalformed as exc:
        raise Invalid("invalid_url", f"url {exc}") from None
    if url.credentials:
        raise Invalid("url_credentials", "url must not carry a user name or password")
    if len(url.href) > URL_MAX:
        raise Invalid("invalid_url", f"url must be at most {URL_MAX} characters once encoded")
    return url.href


def count_links(body: str) -> int:
    return len(_LINK.findall(body))

"""Message catalogues: the widget's and the moderation pages' texts in every language we
ship, the choice of language from what a reader's browser asks for, and plural forms.

English is the source language: the widget carries its English texts, and the moderation
pages' message ids are their English texts, so English needs no catalogue file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = "en"
LANGUAGES = (SOURCE, "de", "fr", "es", "sr-Latn", "sr-Cyrl")
Message = str | dict[str, str]  # a text, or its plural forms by CLDR category


@cache
def catalogue(lang: str) -> dict[str, dict[str, Message]]:
    """``{"widget": {...}, "moderate": {...}}`` for one shipped language."""
    if lang == SOURCE:
        return {"widget": {}, "moderate": {}}
    data: dict[str, dict[str, Message]] = json.loads((HERE / f"{lang}.json").read_text("utf-8"))
    return data


def negotiate(wanted: Iterable[str]) -> str:
    """The first shipped language among ``wanted`` (BCP 47 tags, best first): exact, then
    by script for Serbian (Cyrillic unless Latin is asked for), then by language."""
    for raw in wanted:
        tag = raw.strip().split(";")[0].strip().replace("_", "-").lower()
        if not tag or tag == "*":
            continue
        parts = tag.split("-")
        if parts[0] == "sr":
            return "sr-Latn" if "latn" in parts[1:] else "sr-Cyrl"
        for lang in LANGUAGES:
            if tag == lang.lower() or parts[0] == lang.lower():
                return lang
    return SOURCE


def accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, by descending quality."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


def plural(lang: str, n: int) -> str:
    """The CLDR plural category of a whole number ``n`` in ``lang``."""
    if lang.startswith("sr"):
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "other"
    if lang == "fr":
        return "one" if n in (0, 1) else "other"
    return "one" if n == 1 else "other"


class Translator:
    """``_("Queue")`` and ``_n("{n} reader", "{n} readers", n)`` for one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalogue(lang)["moderate"]

    def __call__(self, msgid: str, **values: Any) -> str:
        found = self.messages.get(msgid, msgid)
        text = found if isinstance(found, str) else found.get("other", msgid)
        return text.format(**values) if values else text

    def n(self, singular: str, plural_: str, n: int, **values: Any) -> str:
        found = self.messages.get(singular)
        if isinstance(found, dict):
            text = found.get(plural(self.lang, n)) or found.get("other") or plural_
        else:
            text = singular if plural(SOURCE, n) == "one" else plural_
        return text.format(n=n, **values)


def N_(msgid: str) -> str:
    """Marks a moderation message id in Python code, for the catalogue test; translated
    where it is shown."""
    return msgid


# Moderation texts the pages build from data (tab, action, status, role and ban names).
DATA_IDS = (
    "Pending",
    "Flagged",
    "Approved",
    "Rejected",
    "Spam",
    "Deleted",
    "Approve",
    "Reject",
    "Delete",
    "Restore",
    "pending",
    "approved",
    "rejected",
    "spam",
    "deleted",
    "owner",
    "moderator",
    "reject",
    "hold",
    "None: publish at once",
    "First-time authors are held",
    "Hold every comment",
    "Anyone, without signing in (no single sign-on)",
    "Anyone; readers your site signs in are verified",
    "Only readers your site signs in",
    "Up and down",
    "Up only",
    "Emoji of your choice",
    "None (reactions off)",
)

"""The message catalogues: every language carries every widget and moderation text, with
the same placeholders and its own plural forms; language negotiation; the /i18n endpoint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.i18n import DATA_IDS, LANGUAGES, SOURCE, accept_language, catalogue, negotiate
from tests.support.api import Api

ROOT = Path(__file__).resolve().parent.parent
PLURALS = {
    "de": {"one", "other"},
    "fr": {"one", "other"},
    "es": {"one", "other"},
    "sr-Latn": {"one", "few", "other"},
    "sr-Cyrl": {"one", "few", "other"},
}
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def english_of(part: str) -> dict[str, object]:
    text = (ROOT / "widget" / "src" / part).read_text()
    found = re.search(r"/\*catalogue\*/(\{.*?\})/\*end\*/", text, re.S)
    assert found is not None, f"widget/src/{part} lost its /*catalogue*/ markers"
    data: dict[str, object] = json.loads(found.group(1))
    return data


def widget_english() -> dict[str, object]:
    """The widget's English texts, its second chunk's (reactions, sorting, pins, links) and
    its third's (the notification centre), which the one catalogue per language carries
    together."""
    main, engage = english_of("texts.js"), english_of("engage/texts.js")
    notify = english_of("notify/texts.js")
    assert not set(main) & set(engage), "a key of the chunk's would hide the widget's"
    assert not (set(main) | set(engage)) & set(notify), "a key of the centre's would hide one"
    return {**main, **engage, **notify}


def moderation_ids() -> set[str]:
    """Every message id the moderation pages, their script and their handlers use."""
    ids = set(DATA_IDS)
    sources = [
        *(ROOT / "server" / "templates" / "moderate").glob("*.html"),
        ROOT / "server" / "static" / "moderate.js",
    ]
    for path in sources:
        ids |= set(re.findall(r'\b_n?\("((?:[^"\\]|\\.)*)"', path.read_text()))
    for path in (ROOT / "server" / "moderation").glob("*.py"):
        ids |= set(re.findall(r'\bN_\("([^"]+)"\)', path.read_text()))
    return ids


def placeholders(text: object) -> set[str]:
    values = text.values() if isinstance(text, dict) else [text]
    return {p for v in values for p in re.findall(r"\{(\w+)\}", str(v))}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != SOURCE])
def test_every_language_has_every_text_with_its_placeholders(lang: str) -> None:
    data = catalogue(lang)
    english = widget_english()
    assert set(data["widget"]) == set(english)
    for key, text in data["widget"].items():
        assert placeholders(text) == placeholders(english[key]), (lang, key)
        if isinstance(english[key], dict):
            assert isinstance(text, dict) and set(text) == PLURALS[lang], (lang, key)
    ids = moderation_ids()
    assert len(ids) > 100
    assert set(data["moderate"]) == ids, ids ^ set(data["moderate"])
    for msgid, text in data["moderate"].items():
        assert placeholders(text) == placeholders(msgid), (lang, msgid)
        if isinstance(text, dict):
            assert set(text) == PLURALS[lang], (lang, msgid)
    script_is_cyrillic = [bool(CYRILLIC.search(str(v))) for v in data["widget"].values()]
    assert all(script_is_cyrillic) if lang == "sr-Cyrl" else not any(script_is_cyrillic)


@pytest.mark.parametrize(
    ("wanted", "lang"),
    [
        (["sr-RS"], "sr-Cyrl"),
        (["sr"], "sr-Cyrl"),
        (["sr-Latn-RS"], "sr-Latn"),
        (["sr_Latn"], "sr-Latn"),
        (["de-AT", "en"], "de"),
        (["ja", "fr-CA"], "fr"),
        (["es-419"], "es"),
        (["ja", "ko"], "en"),
        ([], "en"),
        (["*"], "en"),
        (["EN-gb", "de"], "en"),
    ],
)
def test_language_is_negotiated_from_the_readers_list(wanted: list[str], lang: str) -> None:
    assert negotiate(wanted) == lang


def test_accept_language_is_ordered_by_quality() -> None:
    assert accept_language("en;q=0.3, sr-Latn-RS, de;q=0.8, fr;q=0") == ["sr-Latn-RS", "de", "en"]
    assert accept_language(None) == []
    assert accept_language("de;q=abc, es") == ["es"]


async def test_widget_messages_endpoint_serves_the_best_language(api: Api) -> None:
    r = await api.http.get("/i18n", params={"lang": "sr-Latn-RS,de"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["lang"] == "sr-Latn"
    assert body["messages"]["empty"] == "Budite prvi koji će ostaviti komentar."
    again = await api.http.get(
        "/i18n", params={"lang": "sr-Latn-RS,de"}, headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    english = await api.http.get("/i18n", params={"lang": "x" * 5000})
    assert english.status_code == 200 and english.json() == {"lang": "en", "messages": {}}

"""Validation of reader text and origins: pure functions, no I/O."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.cursors import Cursor
from server.core.errors import Invalid
from server.core.models import Order
from server.core.origins import normalize_origin, origin_allowed
from server.core.privacy import ip_hash, network_of
from server.core.text import clean_body, clean_name, count_links
from server.imports.native import read_export


def test_body_is_trimmed_and_newlines_normalised() -> None:
    assert clean_body("  a\r\nb\rc  ") == "a\nb\nc"


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\u0085", "\ud800", "\ufffe"])
def test_body_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        clean_body(f"hi {bad} there")


def test_body_keeps_emoji_and_rtl_text() -> None:
    text = "שלום 👋🏽 مرحبا 家族👨‍👩‍👧"
    assert clean_body(text) == text


BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                 "\u2068", "\u2069"]
# Invisible characters with no use in prose: a byte-order mark inside text, the word joiner,
# the invisible maths operators and the interlinear annotation marks.
BODY_INVISIBLE = ["\ufeff", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\ufff9",
                  "\ufffa", "\ufffb"]


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_body_bidi_controls_are_refused_by_name(control: str) -> None:
    # Trojan Source: "RLO" reorders what follows, so a moderator reads another text.
    with pytest.raises(Invalid) as refused:
        clean_body(f"approve me {control}txet neddih")
    assert refused.value.code == "body_bidi_control"
    assert f"U+{ord(control):04X} ({unicodedata.name(control)})" in str(refused.value)


@pytest.mark.parametrize("invisible", BODY_INVISIBLE)
def test_body_invisible_junk_is_refused_by_name(invisible: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_body(f"free{invisible}money")
    assert refused.value.code == "body_invisible_character"
    assert f"U+{ord(invisible):04X}" in str(refused.value)


@pytest.mark.parametrize("text", [
    "ภาษาไทย\u200bไม่มีช่องว่าง",  # Thai marks word breaks with zero-width spaces
    "می\u200cخواهم",  # Persian: ZWNJ keeps the letters apart
    "क्\u200dष",  # Devanagari: ZWJ picks the half form
    "👩\u200d💻 family 👨\u200d👩\u200d👧",  # emoji ZWJ sequences
    "שלום \u200eWorld\u200f!",  # LRM and RLM place neutral characters in mixed text
    "مرحبا \u061c123",  # Arabic letter mark
    "Donau\u00addampf\u00adschiff",  # soft hyphens: where a long word may break
])
def test_body_keeps_the_invisible_characters_writing_needs(text: str) -> None:
    assert clean_body(text) == text


def test_body_drops_a_leading_byte_order_mark() -> None:
    # What a pasted file starts with; inside text it is refused as a word joiner.
    assert clean_body("\ufeffHello") == "Hello"


NAME_FORMAT = [*BIDI_CONTROLS, "\u200e", "\u200f", "\u061c", "\u200b", "\u2060", "\ufeff",
               "\u00ad", "\U000e0041", "\U000e0001", "\u180e", "\u2062", "\ufff9"]


@pytest.mark.parametrize("invisible", NAME_FORMAT)
def test_name_format_characters_are_refused_by_name(invisible: str) -> None:
    # "Ann" and "Ann<ZWSP>" look alike; a bidi control makes "nnA" read "Ann".
    for name in (f"Ann{invisible}", f"A{invisible}nn", f"{invisible}Ann"):
        with pytest.raises(Invalid) as refused:
            clean_name(name)
        kind = "bidi_control" if invisible in BIDI_CONTROLS else "invisible_character"
        assert refused.value.code == f"name_{kind}"
        assert f"U+{ord(invisible):04X}" in str(refused.value)


@pytest.mark.parametrize("name", ["علی\u200cرضا", "क्\u200dष", "👨\u200d👩\u200d👧",
                                  "Ann 👩\u200d💻"])
def test_name_keeps_joiners_between_non_ascii_characters(name: str) -> None:
    assert clean_name(name) == name


@pytest.mark.parametrize("name", ["An\u200dn", "Ann\u200c", "\u200dعلی", "علی\u200d \u200dرضا",
                                  "علی\u200c\u200cرضا", "Ann\u200d👩"])
def test_name_refuses_joiners_anywhere_else(name: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_name(name)
    assert refused.value.code == "name_invisible_character"


def test_imported_text_is_cleaned_not_refused(tmp_path: Path) -> None:
    export = {"site": {"id": "blog"}, "pages": [{"id": 1, "key": "p"}], "comments": [{
        "id": 7, "page_id": 1, "name": "An\u200bn\u202e", "body": "abc\u202edef\u2060 ok \u200b",
        "status": "approved", "created_at": "2024-01-02T03:04:05+00:00", "moderator": False,
        "flags": 0}]}
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(export))
    [comment] = read_export(path).comments
    assert (comment.name, comment.body) == ("Ann", "abcdef ok \u200b")


def test_body_length_counts_characters_not_bytes() -> None:
    assert clean_body("é" * 5000) == "é" * 5000
    with pytest.raises(Invalid, match="5000"):
        clean_body("é" * 5001)


def test_name_folds_whitespace_and_blank_is_none() -> None:
    assert clean_name("  Ann   Lee ") == "Ann Lee"
    assert clean_name("   ") is None
    assert clean_name(None) is None
    with pytest.raises(Invalid):
        clean_name("a\nb" + "\x07")


@given(st.text(max_size=200))
def test_clean_body_output_is_always_valid_or_refused(text: str) -> None:
    try:
        out = clean_body(text)
    except Invalid:
        return
    assert out == out.strip() and 1 <= len(out) <= 5000 and "\r" not in out


def test_links_are_counted() -> None:
    assert count_links("see http://a.test and https://b.test/x?y=1, not ftp://c") == 2


@pytest.mark.parametrize(("raw", "normal"), [
    ("HTTPS://Blog.Example:443/", "https://blog.example"),
    ("http://localhost:8000", "http://localhost:8000"),
    ("http://[::1]:8000", "http://[::1]:8000"),
    ("https://*.example.com", "https://*.example.com"),
])
def test_origins_are_normalised(raw: str, normal: str) -> None:
    assert normalize_origin(raw) == normal


@pytest.mark.parametrize("bad", ["blog.example", "ftp://x", "https://x/path", "https://u@x",
                                 "https://x:99999", "null", ""])
def test_bad_origins_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        normalize_origin(bad)


def test_origin_matching_is_exact_or_subdomain_wildcard() -> None:
    allow = ("https://blog.example", "https://*.shop.example")
    assert origin_allowed("https://blog.example", allow)
    assert origin_allowed("https://BLOG.example:443", allow)
    assert not origin_allowed("http://blog.example", allow)
    assert not origin_allowed("https://blog.example.evil.test", allow)
    assert origin_allowed("https://a.shop.example", allow)
    assert not origin_allowed("https://shop.example", allow)
    assert not origin_allowed("https://evilshop.example", allow)
    assert not origin_allowed("null", allow)


def test_cursor_round_trips_and_rejects_tampering() -> None:
    cursor = Cursor(1_700_000_000_000, 42, Order.NEWEST)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ["", "!!!", "e30", "WzEsIm5ld2VzdCIsIngiLDFd", "x" * 300]:
        with pytest.raises(Invalid):
            Cursor.decode(bad)


def test_ip_hash_groups_networks_and_hides_the_address() -> None:
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2::1") == "2001:db8:1::/48"
    assert ip_hash("k", "203.0.113.77") == ip_hash("k", "203.0.113.5")
    assert ip_hash("k", "203.0.113.77") != ip_hash("k", "203.0.114.77")
    assert "203" not in ip_hash("k", "203.0.113.77")

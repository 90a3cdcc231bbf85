"""Validation of reader text and origins: pure functions, no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.cursors import Cursor
from server.core.errors import Invalid
from server.core.models import Order
from server.core.origins import normalize_origin, origin_allowed
from server.core.privacy import ip_hash, network_of
from server.core.text import clean_body, clean_name, count_links


def test_body_is_trimmed_and_newlines_normalised() -> None:
    assert clean_body("  a\r\nb\rc  ") == "a\nb\nc"


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\u0085", "\ud800", "\ufffe"])
def test_body_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        clean_body(f"hi {bad} there")


def test_body_keeps_emoji_and_rtl_text() -> None:
    text = "שלום 👋🏽 مرحبا 家族👨‍👩‍👧"
    assert clean_body(text) == text


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

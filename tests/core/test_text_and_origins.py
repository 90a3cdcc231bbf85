"""Validation of reader text and origins: pure functions, no I/O."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.comments import page_ref
from server.core.cursors import Cursor
from server.core.errors import Invalid
from server.core.imports import ImportedPage, PageKey, page_key
from server.core.models import Order, Site
from server.core.origins import normalize_origin, origin_allowed, origin_of_url
from server.core.privacy import ip_hash, network_of
from server.core.sites import clean_origins
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


BIDI_CONTROLS = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]
# Invisible characters with no use in prose: a byte-order mark inside text, the word joiner,
# the invisible maths operators and the interlinear annotation marks.
BODY_INVISIBLE = [
    "\ufeff",
    "\u2060",
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\ufff9",
    "\ufffa",
    "\ufffb",
]


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


@pytest.mark.parametrize(
    "text",
    [
        "ภาษาไทย\u200bไม่มีช่องว่าง",  # Thai marks word breaks with zero-width spaces
        "می\u200cخواهم",  # Persian: ZWNJ keeps the letters apart
        "क्\u200dष",  # Devanagari: ZWJ picks the half form
        "👩\u200d💻 family 👨\u200d👩\u200d👧",  # emoji ZWJ sequences
        "שלום \u200eWorld\u200f!",  # LRM and RLM place neutral characters in mixed text
        "مرحبا \u061c123",  # Arabic letter mark
        "Donau\u00addampf\u00adschiff",  # soft hyphens: where a long word may break
    ],
)
def test_body_keeps_the_invisible_characters_writing_needs(text: str) -> None:
    assert clean_body(text) == text


def test_body_drops_a_leading_byte_order_mark() -> None:
    # What a pasted file starts with; inside text it is refused as a word joiner.
    assert clean_body("\ufeffHello") == "Hello"


NAME_FORMAT = [
    *BIDI_CONTROLS,
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\U000e0041",
    "\U000e0001",
    "\u180e",
    "\u2062",
    "\ufff9",
]


@pytest.mark.parametrize("invisible", NAME_FORMAT)
def test_name_format_characters_are_refused_by_name(invisible: str) -> None:
    # "Ann" and "Ann<ZWSP>" look alike; a bidi control makes "nnA" read "Ann".
    for name in (f"Ann{invisible}", f"A{invisible}nn", f"{invisible}Ann"):
        with pytest.raises(Invalid) as refused:
            clean_name(name)
        kind = "bidi_control" if invisible in BIDI_CONTROLS else "invisible_character"
        assert refused.value.code == f"name_{kind}"
        assert f"U+{ord(invisible):04X}" in str(refused.value)


@pytest.mark.parametrize(
    "name", ["علی\u200cرضا", "क्\u200dष", "👨\u200d👩\u200d👧", "Ann 👩\u200d💻"]
)
def test_name_keeps_joiners_between_non_ascii_characters(name: str) -> None:
    assert clean_name(name) == name


# Blanks that are not white space: a name that looks empty, or like another name.
NAME_BLANK = ["\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"]


@pytest.mark.parametrize("blank", NAME_BLANK)
def test_name_blank_characters_are_refused_by_name(blank: str) -> None:
    for name in (blank, f"Ann{blank}", f"Ann{blank}Lee", f"{blank} Ann"):
        with pytest.raises(Invalid) as refused:
            clean_name(name)
        assert refused.value.code == "name_blank_character"
        assert f"U+{ord(blank):04X} ({unicodedata.name(blank)})" in str(refused.value)


# Default-ignorable characters beyond the format characters: drawn as nothing.
NAME_IGNORABLE = [
    "\u034f",
    "\u17b4",
    "\u17b5",
    "\u180b",
    "\ufe0f",
    "\U000e0100",
    "\u2065",
    "\ufff0",
    "\U000e0fff",
]


@pytest.mark.parametrize("invisible", NAME_IGNORABLE)
def test_name_default_ignorable_characters_are_refused_by_name(invisible: str) -> None:
    for name in (f"Ann{invisible}", f"A{invisible}nn", f"{invisible}Ann", f"Ann {invisible}"):
        with pytest.raises(Invalid) as refused:
            clean_name(name)
        assert refused.value.code == "name_invisible_character"
        assert f"U+{ord(invisible):04X}" in str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "Ann \u2764\ufe0f",  # an emoji's emoji presentation
        "\U0001f3f3\ufe0f\u200d\U0001f308 Pride",  # the rainbow flag
        "1\ufe0f\u20e3 fan",  # a keycap
        "\u845b\U000e0100\u98fe",  # an ideograph's registered variant
        "\u182e\u180b\u1823",  # a Mongolian letter's other form
    ],
)
def test_name_keeps_variation_selectors_on_what_they_vary(name: str) -> None:
    assert clean_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "An\u200dn",
        "Ann\u200c",
        "\u200dعلی",
        "علی\u200d \u200dرضا",
        "علی\u200c\u200cرضا",
        "Ann\u200d👩",
    ],
)
def test_name_refuses_joiners_anywhere_else(name: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_name(name)
    assert refused.value.code == "name_invisible_character"


def test_imported_text_is_cleaned_not_refused(tmp_path: Path) -> None:
    export = {
        "site": {"id": "blog"},
        "pages": [{"id": 1, "key": "p"}],
        "comments": [
            {
                "id": 7,
                "page_id": 1,
                "name": "An\u200bn\u202e\u3164",
                "body": "abc\u202edef\u2060 ok \u200b",
                "status": "approved",
                "created_at": "2024-01-02T03:04:05+00:00",
                "moderator": False,
                "flags": 0,
            }
        ],
    }
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


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("HTTPS://Blog.Example:443/", "https://blog.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://*.example.com", "https://*.example.com"),
    ],
)
def test_origins_are_normalised(raw: str, normal: str) -> None:
    assert normalize_origin(raw) == normal


@pytest.mark.parametrize(
    "bad",
    ["blog.example", "ftp://x", "https://x/path", "https://u@x", "https://x:99999", "null", ""],
)
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


# A site at http://a.test:9000 (and a few more origins), and URLs that a browser (WHATWG) and
# Python's urlsplit read differently, or that only look odd: each is refused with a code, or
# stored as the browser's serialisation of it, whose host is on the site's origins.
TRICKY_SITE = Site(
    id="tricky",
    name="Tricky",
    origins=clean_origins(
        [
            "http://a.test:9000",
            "http://b.test",
            "http://bücher.test",
            "https://*.shop.test",
            "http://127.0.0.1:9000",
        ]
    ),
)

REFUSED_URLS = [
    ("http://evil.test\\@a.test:9000/", "url_ambiguous"),  # browsers: evil.test; Python: a.test
    ("http://a.test:9000\\@evil.test/", "url_ambiguous"),  # the other way round
    ("http:\\\\evil.test\\@a.test:9000/", "url_ambiguous"),
    ("http:evil.test", "url_ambiguous"),  # browsers add the //; Python finds no host
    ("http:/a.test:9000/", "url_ambiguous"),  # even with an allowed host
    ("http:///a.test:9000/", "url_ambiguous"),
    ("http://%61.test:9000/", "url_ambiguous"),  # browsers decode the host; Python does not
    ("http://a%2etest:9000/", "url_ambiguous"),
    ("http://127.1:9000/", "url_ambiguous"),  # browsers: 127.0.0.1
    ("http://0x7f.0.0.1:9000/", "url_ambiguous"),
    ("http://a.te\tst:9000/", "invalid_url"),  # browsers drop tabs and newlines
    ("http://a.test:9000/p\nath", "invalid_url"),
    ("http://a.test:9000/\r", "invalid_url"),
    (" http://a.test:9000/", "invalid_url"),  # and leading or trailing spaces and C0 controls
    ("http://a.test:9000/ ", "invalid_url"),
    ("\x00http://a.test:9000/", "invalid_url"),
    ("http://a.test:9000/\x1f", "invalid_url"),
    ("http://a.test:9000/\u3000", "invalid_url"),
    ("http://user:pw@a.test:9000/", "url_credentials"),
    ("http://a.test:9000@evil.test/", "url_credentials"),  # the host is evil.test
    ("http://a.test:9000:@evil.test/", "url_credentials"),
    ("http://evil.test#@a.test:9000/", "url_not_allowed"),  # every reader: evil.test
    ("http://evil.test?@a.test:9000/", "url_not_allowed"),
    ("http://a.test:9000.evil.test/", "invalid_url"),
    ("http://a.test:65536/", "invalid_url"),
    ("http://a.test./", "url_not_allowed"),  # another origin to a browser
    ("https://a.test:9000/", "url_not_allowed"),
    ("http://xn--80ak6aa92e.test/", "url_not_allowed"),
    ("http://*.shop.test/", "url_not_allowed"),  # a wildcard is no page's origin
    ("https://shop.test/", "url_not_allowed"),
    ("javascript:alert(1)", "invalid_url"),
    ("//a.test:9000/", "invalid_url"),
    ("a.test:9000/p", "invalid_url"),
    ("http://", "invalid_url"),
    ("http://a.test:9000/" + "é" * 700, "invalid_url"),  # over 2,048 once encoded
]

STORED_URLS = [
    ("http://a.test:9000/x\\y", "http://a.test:9000/x/y"),  # the path only: same host
    ("HTTP://A.TEST:9000", "http://a.test:9000/"),
    ("http://a.test:09000/p", "http://a.test:9000/p"),
    ("http://b.test:0080/p", "http://b.test/p"),  # the default port, written oddly
    ("http://b.test:80/p", "http://b.test/p"),
    ("http://bücher.test/", "http://xn--bcher-kva.test/"),  # IDN: ASCII for every reader
    ("http://BÜCHER.test/", "http://xn--bcher-kva.test/"),
    ("http://ａ.test:9000/", "http://a.test:9000/"),  # fullwidth: UTS #46 maps it for both
    ("http://a.test:9000/a/../b/./c", "http://a.test:9000/b/c"),
    ("http://a.test:9000/%2e%2e/x", "http://a.test:9000/x"),
    ('http://a.test:9000/?q=<x>&r="#frag', "http://a.test:9000/?q=%3Cx%3E&r=%22#frag"),
    ("http://a.test:9000/é", "http://a.test:9000/%C3%A9"),
    ("http://a.test:9000/\u202egnp.exe", "http://a.test:9000/%E2%80%AEgnp.exe"),
    ("https://x.shop.test/p", "https://x.shop.test/p"),
    ("http://127.0.0.1:9000/", "http://127.0.0.1:9000/"),
]


@pytest.mark.parametrize(("url", "code"), REFUSED_URLS)
def test_tricky_page_urls_are_refused_with_a_code(url: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        page_ref(TRICKY_SITE, "p", url, None)
    assert refused.value.code == code


@pytest.mark.parametrize(("url", "stored"), STORED_URLS)
def test_tricky_page_urls_are_stored_as_browsers_serialise_them(url: str, stored: str) -> None:
    assert page_ref(TRICKY_SITE, "p", url, None)[1] == stored
    # Whoever reads it later, a browser or Python, finds a host on the site's origins.
    assert origin_allowed(origin_of_url(stored), TRICKY_SITE.origins)
    parts = urlsplit(stored)
    assert origin_allowed(f"{parts.scheme}://{parts.netloc}", TRICKY_SITE.origins)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://*.Shop.Test:443", "https://*.shop.test"),
        ("https://*.bücher.test", "https://*.xn--bcher-kva.test"),
        ("http://a.test:0080", "http://a.test"),
        ("  https://a.test/  ", "https://a.test"),
        ("https://a.test?", "https://a.test"),
    ],
)
def test_configured_origins_are_read_as_browsers_read_them(raw: str, normal: str) -> None:
    assert normalize_origin(raw) == normal


@pytest.mark.parametrize(
    "bad",
    [
        "http://evil.test\\@a.test",
        "http://a.test\\",
        "http:a.test",
        "http://%61.test",
        "http://127.1",
        "https://a.te\tst",
        "https://x.*.test",
        "https://a*b.test",
        "https://*.1.2.3.4",
        "https://*.[::1]",
        "https://*.",
        "https://a.test#x",
        "https://a.test/?q",
        "https://u:p@a.test",
    ],
)
def test_configured_origins_that_readers_disagree_on_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        normalize_origin(bad)


def test_origin_checks_read_origins_as_browsers_do() -> None:
    allow = ("https://xn--bcher-kva.test", "https://*.shop.test")
    assert origin_allowed("https://bücher.test", allow)
    assert not origin_allowed("https://*.shop.test", allow)  # no browser sends a wildcard
    assert not origin_allowed("https://evil.test\\@x.shop.test", allow)
    # An allowlist stored before origins were read this way still matches.
    assert origin_allowed("https://xn--bcher-kva.test", ("https://bücher.test",))


def test_imported_page_urls_keep_only_what_every_reader_reads_alike() -> None:
    def imported(url: str) -> tuple[str, str | None]:
        return page_key(ImportedPage("1", url, None, None, "here"), PageKey.URL, None)

    # The key stays what earlier imports made; the link shown is the browser's reading.
    assert imported("http://Blog.test/a/../b") == ("http://Blog.test/a/../b", "http://blog.test/b")
    assert imported("http://evil.test\\@blog.test/p")[1] is None


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

"""E-mails: what each says, that reader text stays text (XSS corpus through every field,
header injection), the six languages, RFC 8058 headers, and a real SMTP round trip."""

from __future__ import annotations

import base64
import json
import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from server.i18n import LANGUAGES, SOURCE, catalogue
from server.mail import messages, smtp
from server.mail.messages import Mail, ReplyItem
from server.notify import send_email
from tests.browser.test_widget_xss import HOSTILE_NAMES, PAYLOADS
from tests.support.services import free_port

UNSUBSCRIBE = "https://comments.example/mail/unsubscribe?t=abc.def"
MANAGE = "https://comments.example/mail/manage?t=ghi.jkl"
T0 = 1_790_000_000_000
ROOT = Path(__file__).resolve().parent.parent.parent


def item(n: int = 1, **changes: Any) -> ReplyItem:
    values: dict[str, Any] = {
        "author_name": f"Reader {n}",
        "excerpt": f"Reply number {n}",
        "page_title": "A page",
        "page_url": "https://blog.example/a-page",
        "comment_url": f"https://blog.example/a-page#threadline-comment-{n}",
        "created_at": T0 + n * 1000,
        "moderator": False,
    }
    values.update(changes)
    return ReplyItem(**values)


def parsed(message: EmailMessage) -> EmailMessage:
    """What a recipient's mail program sees: the bytes on the wire, parsed again."""
    found = BytesParser(policy=default).parsebytes(message.as_bytes())
    assert isinstance(found, EmailMessage)
    return found


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_a_reply_mail_names_the_site_and_quotes_the_reply() -> None:
    mail = messages.replies("Blog", "en", "replies", [item()], UNSUBSCRIBE, MANAGE)
    assert mail.subject == "\u201cReader 1\u201d replied to your comment on Blog"
    for body in (mail.text, mail.html):
        assert "Blog" in body and "Reply number 1" in body
        assert "https://blog.example/a-page#threadline-comment-1" in body
    assert dict(mail.headers) == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_smtp_round_trip_of_a_built_message() -> None:
    got: list[EmailMessage] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(BytesParser(policy=default).parsebytes(envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Box(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = messages.replies("Blog", "de", "replies", [item(1), item(2)], UNSUBSCRIBE, MANAGE)
        smtp.send(
            f"smtp://127.0.0.1:{port}",
            messages.to_message(mail, "comments@blog.example", "reader@example.org", "blog"),
        )
    finally:
        controller.stop()
    [message] = got
    assert message["To"] == "reader@example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "<blog.blog.example>"
    text, html = bodies(message)
    assert "Reply number 2" in text and "Reply number 2" in html


def test_a_digest_lists_every_reply_oldest_first_with_a_plural_subject() -> None:
    items = [item(n) for n in (3, 1, 5, 2, 4)]
    mail = messages.replies("Blog", "en", "replies", items, UNSUBSCRIBE, MANAGE)
    assert mail.subject == "5 new replies to your comment on Blog"
    for body in (mail.text, mail.html):
        assert "5 new comments since the last e-mail:" in body
        found = [body.index(f"Reply number {n}") for n in range(1, 6)]
        assert found == sorted(found)
        assert "Blog" in body
    thread = messages.replies("Blog", "en", "thread", items[:1], UNSUBSCRIBE, MANAGE)
    assert thread.subject == "\u201cReader 3\u201d commented on Blog"
    thread = messages.replies("Blog", "en", "thread", items, UNSUBSCRIBE, MANAGE)
    assert thread.subject == "5 new comments on Blog"
    moderator = messages.replies(
        "Blog", "en", "replies", [item(1, moderator=True)], UNSUBSCRIBE, MANAGE
    )
    assert moderator.subject == "A moderator replied to your comment on Blog"
    assert "A moderator wrote:" in moderator.text


def test_no_items_is_no_mail() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        messages.replies("Blog", "en", "replies", [], UNSUBSCRIBE, MANAGE)


def test_reply_mails_carry_one_click_unsubscribe_and_confirmation_only_a_manage_link() -> None:
    mail = messages.replies("Blog", "en", "replies", [item()], UNSUBSCRIBE, MANAGE)
    message = parsed(messages.to_message(mail, "Comments <c@blog.example>", "r@x.example", "b"))
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "<b.blog.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] and message["Date"]
    text, html = bodies(message)
    assert UNSUBSCRIBE in text and MANAGE in text
    assert UNSUBSCRIBE.replace("&", "&amp;") in html

    confirm_url = "https://comments.example/mail/confirm?t=xyz"
    mail = messages.confirmation("Blog", "en", "thread", confirm_url, MANAGE)
    assert mail.subject == "Confirm your e-mail subscription on Blog"
    assert mail.headers == ()
    message = parsed(messages.to_message(mail, "c@blog.example", "r@x.example", "b"))
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    text, html = bodies(message)
    for body in (text, html):
        assert confirm_url in body and MANAGE in body and "Blog" in body


def test_an_unsubscribe_link_that_is_not_https_gets_no_header() -> None:
    mail = messages.replies("Blog", "en", "replies", [item()], "javascript:alert(1)", MANAGE)
    assert mail.headers == ()
    assert "javascript:" not in mail.html


# -- languages ---------------------------------------------------------------------------

PLURALS = {
    "de": {"one", "other"},
    "fr": {"one", "other"},
    "es": {"one", "other"},
    "sr-Latn": {"one", "few", "other"},
    "sr-Cyrl": {"one", "few", "other"},
}


def placeholders(text: object) -> set[str]:
    values = text.values() if isinstance(text, dict) else [text]
    return {p for v in values for p in re.findall(r"\{(\w+)\}", str(v))}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != SOURCE])
def test_every_catalogue_has_every_mail_text_with_its_placeholders(lang: str) -> None:
    section = catalogue(lang)["mail"]
    assert set(section) == set(messages.ENGLISH)
    for key, text in section.items():
        english = messages.ENGLISH[key]
        assert placeholders(text) == placeholders(english), (lang, key)
        assert isinstance(text, dict) == isinstance(english, dict), (lang, key)
        if isinstance(text, dict):
            assert set(text) == PLURALS[lang], (lang, key)
        for value in text.values() if isinstance(text, dict) else [text]:
            latin = re.search(r"[A-Za-z]", re.sub(r"\{\w+\}", "", value))
            assert (latin is None) == (lang == "sr-Cyrl"), (lang, key, value)
    assert list(json.loads((ROOT / "server" / "i18n" / f"{lang}.json").read_text()))[-1] in (
        "mail",
        "mailpages",  # slice C1's section, added at the end after this one
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_mail_renders_in_every_language(lang: str) -> None:
    english = {
        "single": "\u201cReader 1\u201d replied to your comment on Blog",
        "confirm": "Confirm your e-mail subscription on Blog",
        "held": "New comment awaiting moderation on Blog",
    }
    single = messages.replies("Blog", lang, "replies", [item()], UNSUBSCRIBE, MANAGE)
    confirm = messages.confirmation("Blog", lang, "replies", UNSUBSCRIBE, MANAGE)
    held = messages.held_comment(
        "Blog", lang, "Ann", "p", "https://blog.example/p", "first_time", "Held body", None
    )
    for name, mail in (("single", single), ("confirm", confirm), ("held", held)):
        assert "Blog" in mail.subject
        assert (mail.subject == english[name]) == (lang == SOURCE), (lang, name)
        assert "Blog" in mail.text and "Blog" in mail.html
        assert f'<html lang="{lang}">' in mail.html
    assert "Reply number 1" in single.text and "Held body" in held.text
    counts = {
        n: messages.replies("Blog", lang, "replies", [item(i) for i in range(n)], "", "")
        for n in (2, 3, 5, 21, 22)
    }
    subjects = {n: mail.subject for n, mail in counts.items()}
    for n, subject in subjects.items():
        assert str(n) in subject
    if lang.startswith("sr"):
        # Serbian: 21 takes "one", 2, 3 and 22 "few", 5 "other".
        assert subjects[21].replace("21", "") != subjects[5].replace("5", "")
        assert subjects[2].replace("2", "") == subjects[22].replace("22", "")
        assert subjects[3].replace("3", "") != subjects[5].replace("5", "")
    else:
        assert subjects[2].replace("2", "") == subjects[5].replace("5", "")


def test_an_unknown_language_falls_back_by_negotiation() -> None:
    assert messages.Texts("de-AT").lang == "de"
    assert messages.Texts("sr").lang == "sr-Cyrl"
    assert messages.Texts("xx").lang == SOURCE


# -- reader text stays text ---------------------------------------------------------------

ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "p", "div", "strong", "a", "br"}
ALLOWED_ATTRIBUTES = {"lang", "charset", "style", "href"}


class Inspector(HTMLParser):
    """Every element and attribute of an HTML part, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def inert(html: str, links: set[str]) -> str:
    """Asserts that ``html`` holds only the templates' own elements and attributes, with
    links only to ``links`` and styles only our own; returns its text."""
    inspector = Inspector()
    inspector.feed(html)
    inspector.close()
    for tag, attrs in inspector.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES, (tag, name)
            if name == "href":
                assert value in links, value
                assert urlsplit(value or "").scheme in ("http", "https")
            if name == "style":
                assert "url(" not in (value or "") and "javascript" not in (value or "")
    return "".join(inspector.data)


def corpus() -> list[str]:
    return [*PAYLOADS, *HOSTILE_NAMES]


@pytest.mark.parametrize("payload", corpus())
def test_the_xss_corpus_through_every_field_is_inert(payload: str) -> None:
    good = {UNSUBSCRIBE, MANAGE, "https://blog.example/a-page"}
    good |= {f"https://blog.example/a-page#threadline-comment-{n}" for n in (1, 2)}
    hostile = item(
        1,
        author_name=payload,
        excerpt=payload,
        page_title=payload,
        page_url=payload,
        comment_url=payload,
    )
    # A payload that is itself an http(s) address without spaces may be a link (escaped):
    # that is where it would lead anyway, and the page embedding the widget chose it.
    allowed = good | ({payload} if messages.web_link(payload) else set())
    mails = [
        messages.replies(payload, "en", "replies", [hostile], payload, payload),
        messages.replies(
            payload, "fr", "thread", [hostile, item(2, excerpt=payload)], UNSUBSCRIBE, MANAGE
        ),
        messages.confirmation(payload, "de", "replies", payload, payload),
        messages.held_comment(payload, "en", payload, payload, payload, payload, payload, payload),
    ]
    for mail in mails:
        text = inert(mail.html, allowed)
        visible = messages.plain(payload).strip()[:100]
        assert visible in text or messages.one_line(payload)[:100] in text
        assert visible in mail.text or messages.one_line(payload)[:100] in mail.text
        message = parsed(messages.to_message(mail, "c@blog.example", "r@x.example", "blog"))
        assert set(message.keys()) <= HEADERS
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]


HEADERS = {
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
}
INJECTIONS = [
    "x\r\nBcc: victim@evil.test",
    "x\nBcc: victim@evil.test",
    "x\rBcc: victim@evil.test",
    "x\u2028Bcc: victim@evil.test",
    "x\u2029Bcc: victim@evil.test",
    "x\x85Bcc: victim@evil.test",
    "x\x0bBcc: victim@evil.test\x0c",
    "x\r\n\r\n<html>body</html>",
    "=?utf-8?q?x=0D=0ABcc:_victim@evil.test?=",
    "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: victim@evil.test").decode() + "?=",
    "=?iso-8859-1?q?x=0ABcc=3A_victim=40evil.test?= tail",
    "x =?utf-8?q?=0D=0A?=Bcc: victim@evil.test",
    "\u202eBcc: victim@evil.test",
]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_no_header_can_be_injected_through_a_site_name_or_author_name(hostile: str) -> None:
    mails = [
        messages.replies(
            hostile, "en", "replies", [item(1, author_name=hostile)], UNSUBSCRIBE, MANAGE
        ),
        messages.replies(
            "Blog", "de", "thread", [item(1, author_name=hostile)], UNSUBSCRIBE, MANAGE
        ),
        messages.confirmation(hostile, "es", "thread", UNSUBSCRIBE, MANAGE),
        messages.held_comment(hostile, "en", hostile, hostile, hostile, hostile, hostile, None),
        Mail(hostile, hostile, hostile, (("List-Unsubscribe", hostile),)),
    ]
    for mail in mails:
        message = parsed(messages.to_message(mail, "c@blog.example", "r@x.example", "blog"))
        assert message["Bcc"] is None
        assert set(message.keys()) <= HEADERS, message.keys()
        subject = str(message["Subject"])
        assert not re.search(r"[\r\n\x0b\x0c\x85\u2028\u2029]", subject), subject
        for name in ("List-Unsubscribe", "Subject"):
            for value in message.get_all(name) or []:
                assert not re.search(r"[\r\n\x85\u2028\u2029]", str(value)), value
        assert message["To"] == "r@x.example"
        assert message.get_all("To") == ["r@x.example"]


@pytest.mark.parametrize(
    "address",
    ["r@x.example\r\nBcc: v@evil.test", "r@x.example\u2028", "=?utf-8?q?r=0A?= <r@x.example>"],
)
def test_an_address_with_a_line_break_is_refused(address: str) -> None:
    mail = messages.replies("Blog", "en", "replies", [item()], UNSUBSCRIBE, MANAGE)
    with pytest.raises(ValueError, match="line break"):
        messages.to_message(mail, "c@blog.example", address, "blog")
    with pytest.raises(ValueError, match="line break"):
        messages.to_message(mail, address, "r@x.example", "blog")


def test_a_header_name_that_is_not_a_token_is_refused() -> None:
    for name in ("List-Id\r\nBcc", "X Y", "X:Y", ""):
        with pytest.raises(ValueError, match="not a header name"):
            messages.to_message(
                Mail("s", "t", "h", ((name, "v"),)), "c@b.example", "r@x.example", "b"
            )


def test_a_held_comment_mail_tells_moderators_what_and_where() -> None:
    mail = messages.held_comment(
        "Blog",
        "en",
        None,
        "p",
        "https://blog.example/p",
        "first_time",
        "Line one\nLine two",
        "https://comments.example/moderate?tab=pending&site=blog",
    )
    assert mail.subject == "New comment awaiting moderation on Blog"
    assert mail.headers == ()
    for body in (mail.text, mail.html):
        assert "From: No Name" in body and "Held because: first_time" in body
    assert "Line one\nLine two" in mail.html
    assert "> Line one\n> Line two" in mail.text
    assert "Moderate it: https://comments.example/moderate?tab=pending&site=blog" in mail.text
    assert 'href="https://comments.example/moderate?tab=pending&amp;site=blog"' in mail.html
    assert 'Page: <a href="https://blog.example/p">https://blog.example/p</a>' in mail.html
    keyed = messages.held_comment("Blog", "en", "Ann", "page-key", None, None, "b", None)
    assert "Page: page-key" in keyed.html and "Moderate it" not in keyed.html
    assert "Held because: -" in keyed.text


def test_send_email_flattens_a_subject_shaped_like_an_encoded_line_break() -> None:
    got: list[EmailMessage] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(BytesParser(policy=default).parsebytes(envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Box(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        send_email(
            f"smtp://127.0.0.1:{port}",
            "c@blog.example",
            ["m@blog.example"],
            "Moderate =?utf-8?q?x=0D=0ABcc:_victim@evil.test?= now",
            "text",
        )
    finally:
        controller.stop()
    [message] = got
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert message["Subject"].startswith("Moderate =")

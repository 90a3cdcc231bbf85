"""The e-mails Threadline sends, built from data: pure functions, no I/O.

Every mail is plain text with a simple HTML alternative, rendered by Jinja2 from
``server/templates/mail_messages/`` (HTML autoescaped; the text templates are not escaped
because plain text has no markup to break out of). Texts come from the ``"mail"`` section of
the catalogues (English, the source, lives here).

Two lines of defence keep reader text in its place:
- header values (subjects carry names and titles) are flattened to one line: CR, LF, every
  Unicode line and paragraph separator and control character become spaces, and ``=?`` is
  broken so text shaped like an RFC 2047 encoded word cannot decode to a line break when the
  ``email`` package refolds it (it does: an encoded ``=0D=0A`` comes out as a real one);
- links from data (page and comment URLs) are only links when they are http(s); anything
  else is shown as text or left out.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from server.i18n import LANGUAGES, Message, catalogue, negotiate, plural

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail_messages"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
SUBJECT_MAX = 200
EXCERPT_MAX = 600
SCOPES = ("replies", "thread")
UNSUBSCRIBE_MAX = 900  # a header line with room to spare (RFC 5322: 998)
DIGEST_SHOWN = 20  # a digest lists this many comments and counts the rest

# The source texts; the catalogues' "mail" sections translate these keys.
ENGLISH: dict[str, Message] = {
    "noName": "No Name",
    "confirmSubject": "Confirm your e-mail subscription on {site}",
    "confirmReplies": "Someone, hopefully you, asked for an e-mail from {site} when someone "
    "replies to their comment.",
    "confirmThread": "Someone, hopefully you, asked for an e-mail from {site} for every new "
    "comment on a page.",
    "confirmAction": "Confirm the subscription",
    "confirmIgnore": "If you did not ask for this, ignore this e-mail: without confirmation "
    "nothing more is sent to you.",
    "replySubject": "{name} replied to your comment on {site}",
    "moderatorReplySubject": "A moderator replied to your comment on {site}",
    "commentSubject": "{name} commented on {site}",
    "digestRepliesSubject": {
        "one": "{n} new reply to your comment on {site}",
        "other": "{n} new replies to your comment on {site}",
    },
    "digestThreadSubject": {
        "one": "{n} new comment on {site}",
        "other": "{n} new comments on {site}",
    },
    "digestIntro": {
        "one": "{n} new comment since the last e-mail:",
        "other": "{n} new comments since the last e-mail:",
    },
    "digestMore": {
        "one": "... and {n} more comment on the page.",
        "other": "... and {n} more comments on the page.",
    },
    "wrote": "{name} wrote:",
    "moderatorWrote": "A moderator wrote:",
    "onPage": "On: {page}",
    "open": "Read it on the page",
    "whyReplies": "You get this e-mail because you subscribed to replies to your comment on "
    "{site}.",
    "whyThread": "You get this e-mail because you subscribed to new comments on a page of {site}.",
    "unsubscribe": "Unsubscribe",
    "manage": "Manage your e-mail subscriptions",
    "heldSubject": "New comment awaiting moderation on {site}",
    "heldIntro": "A comment on {site} is waiting for a moderator.",
    "heldFrom": "From: {name}",
    "heldPage": "Page: {page}",
    "heldReason": "Held because: {reason}",
    "heldAction": "Moderate it",
}


@dataclass(frozen=True)
class ReplyItem:
    """One published comment a subscriber hears about."""

    author_name: str | None
    excerpt: str
    page_title: str | None
    page_url: str | None
    comment_url: str | None
    created_at: int  # ms since the epoch
    moderator: bool


@dataclass(frozen=True)
class Mail:
    """A built e-mail, before addressing: ``to_message`` turns it into bytes to send."""

    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...]  # e.g. List-Unsubscribe, List-Unsubscribe-Post


class Texts:
    """The ``"mail"`` texts of one language, English for a key a catalogue lacks."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else negotiate([lang])
        self.messages: dict[str, Message] = catalogue(self.lang).get("mail", {})

    def _text(self, key: str) -> str:
        found = self.messages.get(key, ENGLISH[key])
        return found if isinstance(found, str) else found["other"]

    def __call__(self, key: str, **values: Any) -> str:
        return self._text(key).format(**values)

    def n(self, key: str, n: int, **values: Any) -> str:
        found = self.messages.get(key)
        if isinstance(found, dict):
            text = found.get(plural(self.lang, n)) or found["other"]
        else:
            english = ENGLISH[key]
            assert isinstance(english, dict)
            text = english[plural("en", n)]
        return text.format(n=n, **values)

    def markup(self, key: str, **values: Any) -> Markup:
        """A sentence for the HTML part with markup placed in it: the catalogue text is
        escaped first, and ``Markup.format`` escapes every value that is not Markup."""
        return escape(self._text(key)).format(**values)


_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """``text`` safe as a header value: one line, no controls, no encoded-word syntax."""
    text = _BREAKS.sub(" ", text)
    # Format characters (bidi overrides, zero-width) have no place in a subject either.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    # A word joiner between "=" and "?" keeps the text as typed while making it no longer
    # an RFC 2047 encoded word: the email package would decode one, line breaks included.
    text = " ".join(text.split()).replace("=?", "=\u2060?")
    return text[:limit].rstrip()


def plain(text: str) -> str:
    """Reader text for a body: line breaks kept, other control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    text = plain(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def web_link(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) address without whitespace, else None: the
    only links from data an e-mail may carry (never ``javascript:`` or ``data:``)."""
    if not url or len(url) > 2000:
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def quoted(text: str) -> str:
    """Reader text in the plain-text part, each line after "> ": it cannot pass for the
    mail's own lines (a fake footer or an "Unsubscribe:" link of its own)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


env.filters.update(link=web_link, when=when, quoted=quoted)


def _render(template: str, texts: Texts, **context: Any) -> tuple[str, str]:
    context.update(_=texts, _n=texts.n, _m=texts.markup, anchor=_anchor, lang=texts.lang)
    text = env.get_template(f"{template}.txt").render(**context)
    html = env.get_template(f"{template}.html").render(**context)
    return text, html


def _anchor(url: str, label: str) -> Markup:
    """``<a href="url">label</a>``, both escaped; callers pass only ``web_link`` URLs."""
    return Markup('<a href="{}">{}</a>').format(url, label)


def _unsubscribe_headers(unsubscribe_url: str) -> tuple[tuple[str, str], ...]:
    """RFC 8058 one-click unsubscribe: mail clients POST ``List-Unsubscribe=One-Click`` to
    the (signed, https) link; the link alone is the capability."""
    link = web_link(unsubscribe_url)
    # Checked, never rewritten: a header a client cannot parse is worse than none.
    if (
        link is None
        or len(link) > UNSUBSCRIBE_MAX
        or not link.isascii()
        or any(c in link for c in "<>,")
        or "=?" in link
    ):
        return ()
    return (
        ("List-Unsubscribe", f"<{link}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )


def confirmation(
    site_name: str,
    lang: str,
    scope: str,
    confirm_url: str,
    manage_url: str,
) -> Mail:
    """The double opt-in: nothing else goes to an address until its owner clicks.

    No ``List-Unsubscribe`` here: there is nothing to unsubscribe from yet (ignoring the
    mail is the way to say no), and a one-click POST from a mail client's button must not be
    mistaken for consent or refusal of a subscription that does not exist. The manage link is
    in the body. Nothing a commenter wrote (not even a page title) is in it: it goes to an
    address nobody has vouched for yet, and must not carry someone else's words there."""
    texts = Texts(lang)
    site = one_line(site_name)
    text, html = _render(
        "confirmation",
        texts,
        site=site,
        scope=scope if scope in SCOPES else "replies",
        confirm_url=confirm_url,
        manage_url=manage_url,
    )
    return Mail(one_line(texts("confirmSubject", site=site)), text, html, ())


def replies(
    site_name: str,
    lang: str,
    scope: str,
    items: Sequence[ReplyItem],
    unsubscribe_url: str,
    manage_url: str,
) -> Mail:
    """One new comment: a reply mail; several: one digest listing them, oldest first."""
    if not items:
        raise ValueError("a replies mail needs at least one item")
    texts = Texts(lang)
    site = one_line(site_name)
    scope = scope if scope in SCOPES else "replies"
    ordered = sorted(items, key=lambda item: item.created_at)
    if len(ordered) == 1:
        [item] = ordered
        name = reader_name(item.author_name, texts)
        if item.moderator:
            subject = texts("moderatorReplySubject", site=site)
        elif scope == "thread":
            subject = texts("commentSubject", name=name, site=site)
        else:
            subject = texts("replySubject", name=name, site=site)
    else:
        key = "digestThreadSubject" if scope == "thread" else "digestRepliesSubject"
        subject = texts.n(key, len(ordered), site=site)
    text, html = _render(
        "replies",
        texts,
        site=site,
        scope=scope,
        items=[_item_view(item, texts) for item in ordered[:DIGEST_SHOWN]],
        more=max(0, len(ordered) - DIGEST_SHOWN),
        digest=len(ordered) > 1,
        unsubscribe_url=unsubscribe_url,
        manage_url=manage_url,
    )
    return Mail(one_line(subject), text, html, _unsubscribe_headers(unsubscribe_url))


def reader_name(name: str | None, texts: Texts) -> str:
    """A reader's name as mail shows it: in quotation marks, so no name can read as the
    server's own words ("A moderator" replied is not: A moderator replied)."""
    shown = one_line(name or "", 80)
    return f"\u201c{shown}\u201d" if shown else texts("noName")


def _item_view(item: ReplyItem, texts: Texts) -> dict[str, Any]:
    name = reader_name(item.author_name, texts)
    return {
        "who": texts("moderatorWrote") if item.moderator else texts("wrote", name=name),
        "excerpt": excerpt(item.excerpt),
        "page": one_line(item.page_title or item.page_url or "", 300) or None,
        "page_link": web_link(item.page_url),
        "link": web_link(item.comment_url) or web_link(item.page_url),
        "created_at": item.created_at,
    }


def held_comment(
    site_name: str,
    lang: str,
    author_name: str | None,
    page_key: str,
    page_url: str | None,
    held_reason: str | None,
    body: str,
    moderate_url: str | None,
) -> Mail:
    """To a site's moderators: a comment waits in the Pending tab. Only ``page_url`` (which
    core checked against the site's origins) is ever a link; the page key is whatever the
    commenter sent, so it is shown as text even when it looks like an address."""
    texts = Texts(lang)
    site = one_line(site_name)
    text, html = _render(
        "held_comment",
        texts,
        site=site,
        name=reader_name(author_name, texts),
        page=one_line(page_url or page_key, 500),
        page_link=web_link(page_url),
        reason=one_line(held_reason or "", 200) or "-",
        body=plain(body),
        moderate_url=web_link(moderate_url),
    )
    return Mail(one_line(texts("heldSubject", site=site)), text, html, ())


_LIST_LABEL = re.compile(r"[^a-z0-9-]+")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,76}")


def to_message(mail: Mail, sender: str, to: str, site_id: str) -> EmailMessage:
    """The e-mail to send: headers from ``mail`` (flattened again: this is the last gate),
    ``List-Id`` per site so recipients can filter, ``Auto-Submitted`` so auto-responders
    stay quiet (RFC 3834), text first and HTML as the alternative.

    ``sender`` and ``to`` are addresses, not prose: one with a line break or control
    character is refused (ValueError) rather than flattened into a different address."""
    for address in (sender, to):
        if _BREAKS.search(address) or "=?" in address:
            raise ValueError("an address with a line break or encoded word")
    domain = sender.rpartition("@")[2].strip(" >") or "threadline.invalid"
    domain = re.sub(r"[^a-z0-9.-]+", "", domain.lower()).strip(".") or "threadline.invalid"
    label = _LIST_LABEL.sub("-", site_id.lower()).strip("-") or "site"
    message = EmailMessage()
    message["Subject"] = one_line(mail.subject)
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(datetime.fromtimestamp(time.time(), UTC))
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = f"<{label}.{domain}>"
    for name, value in mail.headers:
        # Names come from this module, never from data: anything but a token is a bug.
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"not a header name: {name!r}")
        message[name] = one_line(value, 2000)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message

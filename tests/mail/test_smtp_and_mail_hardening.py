"""What a hostile review of the mail pipeline found, each proven against real servers
(aiosmtpd, a raw dripping socket, a TLS server with a self-signed certificate): STARTTLS
fails closed off this machine, certificates are checked, a send has a whole deadline, no
address reaches a log, and reader text cannot pass for the mail's own words or links."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.mail import messages, smtp
from server.mail.messages import ReplyItem
from tests.support.services import free_port, unavailable


def message_to(address: str) -> Any:
    mail = messages.held_comment("Blog", "en", "Ann", "p", None, None, "body", None)
    return messages.to_message(mail, "threadline@blog.example", address, "blog")


class Box:
    def __init__(self) -> None:
        self.got: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append(envelope.content)
        return "250 OK"


class Refusing:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected"


@contextlib.contextmanager
def smtp_server(handler: Any, host: str = "127.0.0.1", **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname=host, port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def a_non_loopback_address() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if (
                address.family == socket.AF_INET
                and not ipaddress.ip_address(address.address).is_loopback
            ):
                return str(address.address)
    return None


def test_a_server_off_this_machine_without_starttls_gets_nothing() -> None:
    host = a_non_loopback_address()
    if host is None:
        unavailable("a network address other than loopback")
        return
    box = Box()
    # aiosmtpd logs its peers' addresses; this one is not loopback (and no client's).
    quiet = logging.getLogger("mail.log")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with (
            smtp_server(box, host=host) as port,
            pytest.raises(smtp.MailFailed, match="SMTPNotSupportedError"),
        ):
            smtp.send(f"smtp://user:secret@{host}:{port}", message_to("r@reader.example"))
    finally:
        quiet.setLevel(level)
    assert box.got == []


def test_a_relay_on_this_machine_is_spoken_to_in_plain_text() -> None:
    box = Box()
    with smtp_server(box) as port:
        smtp.send(f"smtp://127.0.0.1:{port}", message_to("r@reader.example"))
    assert len(box.got) == 1


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_a_certificate_nobody_vouches_for_is_refused_before_the_password(
    tmp_path: Path,
) -> None:
    class Watching(Box):
        def __init__(self) -> None:
            super().__init__()
            self.logins: list[Any] = []

        async def auth_PLAIN(self, server: Any, args: Any) -> Any:
            self.logins.append(args)
            return None

    box = Watching()
    with (
        smtp_server(box, ssl_context=self_signed(tmp_path)) as port,
        pytest.raises(smtp.MailFailed, match=r"SSLCertVerificationError|SSLError"),
    ):
        smtp.send(f"smtps://user:secret@localhost:{port}", message_to("r@reader.example"))
    assert box.got == [] and box.logins == []


def test_a_server_dripping_lines_cannot_hold_a_sender_past_the_whole_deadline() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            while not stop.wait(0.1):
                try:
                    connection.sendall(b"220-still here\r\n")
                except OSError:
                    return

    worker = threading.Thread(target=drip, daemon=True)
    worker.start()
    try:
        # Each line comes well within the step timeout; only the whole deadline ends it.
        with pytest.raises(smtp.MailFailed):
            smtp.send(f"smtp://127.0.0.1:{port}", message_to("r@reader.example"), timeout=0.5)
    finally:
        stop.set()
        listener.close()
        worker.join(5)


def test_a_refused_recipient_is_logged_without_the_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = "secret.reader@mail.example"  # (a traceback shows source lines: not this one)
    with smtp_server(Refusing()) as port, pytest.raises(smtp.MailFailed) as failed:
        smtp.send(f"smtp://127.0.0.1:{port}", message_to(address))
    assert "secret.reader" not in str(failed.value) and "550" in str(failed.value)
    # Nor in a traceback of it: the original error (which quotes the address) is not chained.
    with caplog.at_level(logging.ERROR):
        logging.getLogger("t").exception("x", exc_info=failed.value)
    ours = "\n".join(caplog.handler.format(r) for r in caplog.records if r.name == "t")
    assert "x" in ours and "secret.reader" not in ours
    assert "<address>" in smtp.failure_summary(OSError("no route for a@b.example"))


async def test_the_held_comment_mail_of_a_refused_moderator_address_logs_no_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The notifier's own retry log, fed what a failing send raises.
    from server.notify import Delivery, Notifier

    notifier = Notifier.__new__(Notifier)
    notifier.retries = ()
    site: Any = type("S", (), {"id": "blog"})()
    with smtp_server(Refusing()) as port:
        try:
            await asyncio.to_thread(
                smtp.send, f"smtp://127.0.0.1:{port}", message_to("mod.secret@mail.example")
            )
        except smtp.MailFailed as exc:
            with caplog.at_level(logging.ERROR, logger="threadline.notify"):
                notifier._retry(Delivery("email", site, {}), exc)
    ours = "\n".join(
        caplog.handler.format(r) for r in caplog.records if r.name == "threadline.notify"
    )
    assert "giving up" in ours and "mod.secret" not in ours


def test_a_page_key_shaped_like_an_address_is_never_a_link_for_moderators() -> None:
    phishing = "https://blog.example.login-verify.evil.example/moderate?tab=pending"
    mail = messages.held_comment("Blog", "en", "Ann", phishing, None, None, "b", None)
    assert "href" not in mail.html.split("<body", 1)[1].split("Moderate it")[0]
    assert phishing in mail.html  # shown, as text
    checked = messages.held_comment(
        "Blog", "en", "Ann", "p", "https://blog.example/p", None, "b", None
    )
    assert 'href="https://blog.example/p"' in checked.html


def test_a_reader_named_a_moderator_does_not_read_as_one() -> None:
    def item(name: str, moderator: bool) -> ReplyItem:
        return ReplyItem(name, "hi", "Page", None, None, 1, moderator)

    real = messages.replies("Blog", "en", "replies", [item("Mod", True)], "https://x/u", "m")
    fake = messages.replies(
        "Blog", "en", "replies", [item("A moderator", False)], "https://x/u", "m"
    )
    assert real.subject == "A moderator replied to your comment on Blog"
    assert fake.subject != real.subject and "\u201cA moderator\u201d" in fake.subject
    assert "A moderator wrote:" in real.text and "A moderator wrote:" not in fake.text


def test_reader_text_in_the_plain_part_cannot_pass_for_the_footer() -> None:
    forged = "Nice.\n--\nUnsubscribe: https://evil.example/unsub"
    mail = messages.replies(
        "Blog",
        "en",
        "replies",
        [ReplyItem("Ann", forged, "Page", None, None, 1, False)],
        "https://comments.example/mail/unsubscribe?t=abc",
        "https://comments.example/mail/manage?t=abc",
    )
    lines = mail.text.splitlines()
    assert "> Unsubscribe: https://evil.example/unsub" in lines
    assert "Unsubscribe: https://evil.example/unsub" not in lines
    assert "Unsubscribe: https://comments.example/mail/unsubscribe?t=abc" in lines


@pytest.mark.parametrize(
    "link",
    [
        "https://comments.example/u?t=" + "a" * 2000,
        "https://comments.example/u?t=a=?b",
        "https://comments.example/u?t=\u00e9",
        "https://comments.example/u?t=a,b",
    ],
)
def test_an_unsubscribe_link_a_client_could_not_parse_is_left_out_not_rewritten(
    link: str,
) -> None:
    item = ReplyItem("Ann", "hi", "Page", None, None, 1, False)
    mail = messages.replies("Blog", "en", "replies", [item], link, "https://x/m")
    assert mail.headers == ()


def test_a_digest_lists_twenty_and_counts_the_rest() -> None:
    items = [ReplyItem(f"R{i}", f"reply {i}", "Page", None, None, i, False) for i in range(50)]
    mail = messages.replies("Blog", "en", "thread", items, "https://x/u", "https://x/m")
    assert "reply 19" in mail.text and "reply 20" not in mail.text
    assert "and 30 more comments on the page" in mail.text
    assert "and 30 more comments on the page" in mail.html
    assert mail.subject == "50 new comments on Blog"

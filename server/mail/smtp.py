"""Handing one finished message to the operator's SMTP server.

``THREADLINE_SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (port 587 by default) or
``smtps://...`` (TLS from the first byte, port 465). Certificates and host names are checked.
Over ``smtp://`` a server on another machine must offer STARTTLS, or nothing is sent: a
password or a reader's address never crosses a network in clear text, and an attacker on the
path cannot strip the offer to make it so. A relay on this machine (loopback) is spoken to
in plain text: the traffic never leaves it."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

# Every step has ``timeout`` seconds; the whole exchange at most this many times that (a
# server that drips a line just within the step timeout cannot hold a sender forever).
WHOLE_SEND_STEPS = 4
_ADDRESS = re.compile(r"[^\s<>()\[\]'\"]+@[^\s<>()\[\]'\",;]+")


class MailFailed(Exception):
    """A send failed. Its message says why in words safe for a log: the SMTP reply code or the
    kind of failure, never an address (smtplib's errors quote the recipients)."""


def send(smtp_url: str, message: EmailMessage, timeout: float = 15.0) -> None:
    """Send ``message`` to the recipients of its To/Cc/Bcc headers. Blocking: run it in a
    thread. Raises ``MailFailed`` on any failure so callers can retry."""
    try:
        _send(smtp_url, message, timeout)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise MailFailed(failure_summary(exc)) from None


def _send(smtp_url: str, message: EmailMessage, timeout: float) -> None:
    parts = urlsplit(smtp_url)
    secure = parts.scheme == "smtps"
    host = parts.hostname or "localhost"
    port = parts.port or (465 if secure else 587)
    context = ssl.create_default_context()
    # Built unconnected, so the deadline covers the greeting too.
    smtp = (
        smtplib.SMTP_SSL(timeout=timeout, context=context)
        if secure
        else smtplib.SMTP(timeout=timeout)
    )
    watchdog = threading.Timer(timeout * WHOLE_SEND_STEPS, _cut, (smtp,))
    watchdog.daemon = True
    # The name certificates are checked against (TLS from the first byte, and STARTTLS):
    # smtplib takes it from its constructor only, which would connect before the deadline.
    smtp._host = host  # type: ignore[attr-defined]
    watchdog.start()
    try:
        with smtp:
            smtp.connect(host, port)
            smtp.ehlo()
            if not secure and not _loopback(host):
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "the SMTP server offers no STARTTLS; refusing to send in clear text "
                        "(use smtps://, or a relay on this machine)"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    finally:
        watchdog.cancel()


def _cut(smtp: smtplib.SMTP) -> None:
    """The whole-send deadline passed: shut the socket, so the blocked read fails."""
    sock = smtp.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def failure_summary(exc: BaseException) -> str:
    """Why a send failed, for a log line: the class and SMTP code, never an address."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"SMTPRecipientsRefused {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return _ADDRESS.sub("<address>", f"{type(exc).__name__}: {exc}")[:300]

"""A real SMTP server (aiosmtpd) on a free port that keeps what it receives, and helpers to
read the links out of the mails."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class Mailbox:
    """Every message delivered, with the envelope recipients; waits are on an event."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self._changed: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self.refuse = False
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            with self._lock:
                self.refused += 1
                for loop, event in self._changed:
                    loop.call_soon_threadsafe(event.set)
            return "451 try again later"
        msg = BytesParser(policy=default).parsebytes(envelope.content)
        assert isinstance(msg, EmailMessage)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), msg))
            for loop, event in self._changed:
                loop.call_soon_threadsafe(event.set)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [msg for rcpts, msg in self.messages if address in rcpts]

    async def wait_for(self, address: str, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages to ``address``, once they have all arrived."""
        await self._until(lambda: len(self.to(address)) >= count, timeout)
        return self.to(address)[:count]

    async def wait_refused(self, count: int, timeout: float = 10.0) -> None:
        await self._until(lambda: self.refused >= count, timeout)

    async def _until(self, done: Callable[[], bool], timeout: float) -> None:
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._changed.append(entry)
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    await event.wait()
                    event.clear()
        finally:
            with self._lock:
                self._changed.remove(entry)


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    # aiosmtpd logs every peer and recipient at INFO: the suite's logs name no address.
    quiet = logging.getLogger("mail.log")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
        quiet.setLevel(level)


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def link_in(msg: EmailMessage, page: str) -> str:
    """The signed token of the first ``/mail/PAGE?t=`` link in the mail's text."""
    found = re.search(rf"https?://[^\s<>\"]+/mail/{page}\?t=[^\s<>\"]+", text_of(msg))
    assert found, f"no {page} link in: {text_of(msg)}"
    return unquote(parse_qs(urlsplit(found.group(0)).query)["t"][0])

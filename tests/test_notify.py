"""Held comments reach owners by signed webhook (with retries) and by e-mail."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from server.app import create_app
from server.core.errors import Invalid
from server.core.models import Notify
from server.core.sites import add_site, update_site
from server.store.database import SqlStore
from server.webtarget import check_target
from tests.conftest import settings_for
from tests.support.db import Databases
from tests.support.services import free_port


@dataclass
class Receiver:
    """A tiny HTTP server that records requests and answers with scripted statuses."""

    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        pairs = (line.partition(":") for line in lines[1:] if line)
        headers = {k.lower(): v.strip() for k, _, v in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        writer.close()
        self.got.set()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.got = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = BytesParser(policy=default).parsebytes(envelope.content)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.loop.call_soon_threadsafe(self.got.set)
        return "250 OK"


@pytest.fixture
async def app_and_store(databases: Databases, tmp_path: Path) -> AsyncIterator[Any]:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    port = free_port()
    app = create_app(settings_for(url, tmp_path, webhook_private=True,
                                  smtp_url=f"smtp://127.0.0.1:{port}",
                                  smtp_from="comments@blog.test",
                                  public_url="https://comments.blog.test"))
    app.state.tl.notifier.retries = (0.05, 0.1)
    async with app.router.lifespan_context(app):
        yield app, store, port
    await store.close()


async def post(app: Any, site: str, body: str, name: str | None = None) -> int:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.3", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.post(f"/api/v1/sites/{site}/comments",
                            json={"page": "p", "body": body, "name": name})
    assert r.status_code == 201, r.text
    return r.status_code


async def test_held_comment_fires_a_signed_webhook_and_retries(app_and_store: Any) -> None:
    app, store, _ = app_and_store
    receiver = Receiver(statuses=[503])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await add_site(store, "hooked", origins=["https://blog.test"], mode="all")
    await update_site(store, "hooked", notify=Notify(
        webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret="s3cret"))
    async with server:
        await post(app, "hooked", "please look at me", name="Ann")
        async with asyncio.timeout(10):
            while len(receiver.requests) < 2:
                receiver.got.clear()
                await receiver.got.wait()
    (_, b1), (h2, b2) = receiver.requests
    assert b1 == b2  # the retry resends the same payload
    timestamp, mac = dict(p.split("=") for p in h2["threadline-signature"].split(",")).values()
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + b2, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    assert abs(int(timestamp) - time.time()) < 60
    import json

    payload = json.loads(b2)
    assert payload["type"] == "comment.pending"
    assert payload["comment"]["body"] == "please look at me"
    assert payload["comment"]["held_reason"] == "moderation mode: all"
    assert payload["moderate_url"] == \
        "https://comments.blog.test/moderate?tab=pending&site=hooked"


async def test_webhook_connects_to_the_address_it_checked(app_and_store: Any,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The host is resolved once, checked, and connected to by address: a DNS answer that
    changes after the check is never asked for. The receiver still sees its own name."""
    app, store, _ = app_and_store
    loop = asyncio.get_running_loop()
    resolve = loop.getaddrinfo
    asked: list[object] = []

    async def watched(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)  # every lookup, ours and the HTTP client's, still really made
        return await resolve(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", watched)
    receiver = Receiver(statuses=[])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await add_site(store, "named", origins=["https://blog.test"], mode="all")
    await update_site(store, "named", notify=Notify(
        webhook_url=f"http://localhost:{port}/hook?k=1", webhook_secret="x"))
    async with server:
        await post(app, "named", "held")
        async with asyncio.timeout(10):
            await receiver.got.wait()
    [(headers, _)] = receiver.requests
    assert headers["host"] == f"localhost:{port}"
    assert [h for h in asked if h in ("localhost", b"localhost")] == ["localhost"]

    target = await check_target("https://u:p@localhost:8443/h?x=1", allow_private=True)
    assert target.urls[0] == "https://u:p@127.0.0.1:8443/h?x=1"  # then ::1, if it resolves
    assert (target.host_header, target.tls_name) == ("localhost:8443", "localhost")
    literal = await check_target("https://[::1]/h", allow_private=True)
    assert (literal.urls, literal.host_header, literal.tls_name) == \
        (("https://[::1]/h",), "[::1]", None)


async def test_a_webhook_behind_an_environment_proxy_goes_through_it_by_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy resolves and connects; pinning an address would break TLS through a tunnel.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = await check_target("https://localhost:8443/h", allow_private=True)
    assert (target.urls, target.host_header, target.tls_name) == \
        (("https://localhost:8443/h",), None, None)
    with pytest.raises(Invalid):  # and the private-address check still holds
        await check_target("https://localhost:8443/h", allow_private=False)


async def test_published_comments_do_not_notify(app_and_store: Any) -> None:
    app, store, _ = app_and_store
    receiver = Receiver(statuses=[])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await add_site(store, "quiet", origins=["https://blog.test"], mode="none")
    await update_site(store, "quiet", notify=Notify(webhook_url=f"http://127.0.0.1:{port}/h",
                                                    webhook_secret="x"))
    async with server:
        await post(app, "quiet", "published at once")
        await asyncio.sleep(0.3)
    assert receiver.requests == []


async def test_held_comment_is_emailed_without_header_injection(app_and_store: Any) -> None:
    app, store, smtp_port = app_and_store
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        await add_site(store, "mailed", origins=["https://blog.test"], mode="all",
                       name="Blog\r\nBcc: victim@evil.test")
        await update_site(store, "mailed",
                          notify=Notify(emails=("owner@blog.test", "mod@blog.test")))
        await post(app, "mailed", "held for the owner", name="x\r\nBcc: a@evil.test")
        async with asyncio.timeout(10):
            await box.got.wait()
    finally:
        controller.stop()
    [msg] = box.messages
    assert msg["To"] == "owner@blog.test, mod@blog.test"
    assert msg["From"] == "comments@blog.test"
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]
    assert msg["Subject"].startswith("New comment awaiting moderation on Blog")
    text = msg.get_content()
    assert "held for the owner" in text
    assert "https://comments.blog.test/moderate?tab=pending&site=mailed" in text


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.0.0.5/x", "http://[::1]/x",
                                 "http://169.254.169.254/latest", "http://localhost/x",
                                 "http://0x7f000001/x"])
async def test_webhooks_may_not_target_private_addresses(url: str) -> None:
    with pytest.raises((Invalid, OSError)):
        await check_target(url, allow_private=False)
    await check_target(url, allow_private=True)

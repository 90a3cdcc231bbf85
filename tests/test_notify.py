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
from server.core.context import command_services
from server.core.errors import Invalid
from server.core.models import Notify
from server.core.sites import add_site, update_site
from server.store.database import SqlStore
from server.webtarget import check_target
from tests.support.config import SECRET, settings_for
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
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
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
        self.messages.append(msg)
        self.loop.call_soon_threadsafe(self.got.set)
        return "250 OK"

    async def wait_for_count(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` messages have arrived: delivery is in the background, and a fixed
        sleep was too short on a slow machine."""
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                await self.got.wait()
                self.got.clear()


@pytest.fixture
async def app_and_store(databases: Databases, tmp_path: Path) -> AsyncIterator[Any]:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    port = free_port()
    app = create_app(
        settings_for(
            url,
            tmp_path,
            webhook_private=True,
            smtp_url=f"smtp://127.0.0.1:{port}",
            smtp_from="comments@blog.test",
            public_url="https://comments.blog.test",
        )
    )
    app.state.tl.notifier.retries = (0.05, 0.1)
    async with app.router.lifespan_context(app):
        yield app, store, port
    await store.close()


async def post(app: Any, site: str, body: str, name: str | None = None) -> int:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.3", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.post(
            f"/api/v1/sites/{site}/comments", json={"page": "p", "body": body, "name": name}
        )
    assert r.status_code == 201, r.text
    return r.status_code


async def test_held_comment_fires_a_signed_webhook_and_retries(app_and_store: Any) -> None:
    app, store, _ = app_and_store
    receiver = Receiver(statuses=[503])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await add_site(
        command_services(store, SECRET), "hooked", origins=["https://blog.test"], mode="all"
    )
    await update_site(
        command_services(store, SECRET),
        "hooked",
        notify=Notify(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret="s3cret"),
    )
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
    assert payload["moderate_url"] == "https://comments.blog.test/moderate?tab=pending&site=hooked"


async def test_webhook_connects_to_the_address_it_checked(
    app_and_store: Any, monkeypatch: pytest.MonkeyPatch
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
    await add_site(
        command_services(store, SECRET), "named", origins=["https://blog.test"], mode="all"
    )
    await update_site(
        command_services(store, SECRET),
        "named",
        notify=Notify(webhook_url=f"http://localhost:{port}/hook?k=1", webhook_secret="x"),
    )
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
    assert (literal.urls, literal.host_header, literal.tls_name) == (
        ("https://[::1]/h",),
        "[::1]",
        None,
    )


async def test_a_webhook_behind_an_environment_proxy_goes_through_it_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The proxy resolves and connects; pinning an address would break TLS through a tunnel.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = await check_target("https://localhost:8443/h", allow_private=True)
    assert (target.urls, target.host_header, target.tls_name) == (
        ("https://localhost:8443/h",),
        None,
        None,
    )
    with pytest.raises(Invalid):  # and the private-address check still holds
        await check_target("https://localhost:8443/h", allow_private=False)


async def test_published_comments_do_not_notify(app_and_store: Any) -> None:
    app, store, _ = app_and_store
    receiver = Receiver(statuses=[])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await add_site(
        command_services(store, SECRET), "quiet", origins=["https://blog.test"], mode="none"
    )
    await update_site(
        command_services(store, SECRET),
        "quiet",
        notify=Notify(webhook_url=f"http://127.0.0.1:{port}/h", webhook_secret="x"),
    )
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
        await add_site(
            command_services(store, SECRET),
            "mailed",
            origins=["https://blog.test"],
            mode="all",
            name="Blog\r\nBcc: victim@evil.test",
        )
        await update_site(
            command_services(store, SECRET),
            "mailed",
            notify=Notify(emails=("owner@blog.test", "mod@blog.test")),
        )
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
    plain = msg.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "held for the owner" in text
    assert "https://comments.blog.test/moderate?tab=pending&site=mailed" in text
    # The same pipeline as subscribers' mails: an HTML alternative, List-Id per site,
    # Auto-Submitted; no List-Unsubscribe (moderators are not subscribers).
    html = msg.get_body(("html",))
    assert html is not None
    assert "held for the owner" in html.get_content()
    assert msg["List-Id"] == "<mailed.blog.test>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.5/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "http://localhost/x",
        "http://0x7f000001/x",
    ],
)
async def test_webhooks_may_not_target_private_addresses(url: str) -> None:
    with pytest.raises((Invalid, OSError)):
        await check_target(url, allow_private=False)
    await check_target(url, allow_private=True)


# Addresses Python's ipaddress calls global (or did before 3.11.10) that are not: multicast,
# tunnels that carry another address (6to4, Teredo), NAT64 to a private IPv4 address, the
# IPv4-mapped and -compatible forms of private addresses, and special-purpose ranges.
NOT_PUBLIC = [
    "224.0.0.1",  # IPv4 multicast (all hosts)
    "239.255.255.250",  # IPv4 multicast (SSDP)
    "[ff02::1]",  # IPv6 link-local multicast
    "[ff0e::1]",  # IPv6 global-scope multicast
    "[2002:7f00:1::1]",  # 6to4 carrying 127.0.0.1
    "[2002:808:808::1]",  # 6to4 carrying a public address: relays are deprecated (RFC 7526)
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[64:ff9b::a00:1]",  # NAT64 (well-known prefix) to 10.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 to 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 to 169.254.169.254 (cloud metadata)
    "[64:ff9b:1::a00:1]",  # NAT64 local-use prefix (RFC 8215)
    "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
    "[::ffff:a9fe:a9fe]",  # IPv4-mapped metadata address
    "[::127.0.0.1]",  # IPv4-compatible (deprecated) loopback
    "[::808:808]",  # IPv4-compatible form of a public address: not routable either
    "[fec0::1]",  # site-local (deprecated)
    "[3fff::1]",  # documentation (RFC 9637)
    "[5f00::1]",  # SRv6 segment identifiers (RFC 9602)
    "192.0.0.8",  # IETF protocol assignments
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "[::]",
]


@pytest.mark.parametrize("host", NOT_PUBLIC)
async def test_webhooks_may_not_target_multicast_tunnelled_or_special_addresses(host: str) -> None:
    with pytest.raises(Invalid) as refused:
        await check_target(f"https://{host}:8443/hook", allow_private=False)
    assert refused.value.code == "webhook_private"
    target = await check_target(f"https://{host}:8443/hook", allow_private=True)
    assert len(target.urls) == 1  # allowed when the operator says so


@pytest.mark.parametrize(
    ("host", "pinned"),
    [
        ("93.184.215.14", "93.184.215.14"),
        ("[2606:2800:21f:cb07:6820:80da:af6b:8b2c]", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]"),
        # A public address behind NAT64 (what DNS64 answers on an IPv6-only network) or written
        # IPv4-mapped is the public address it carries.
        ("[64:ff9b::5db8:d70e]", "[64:ff9b::5db8:d70e]"),
        ("[::ffff:93.184.215.14]", "[::ffff:5db8:d70e]"),
    ],
)
async def test_webhooks_may_target_public_addresses_in_any_form(host: str, pinned: str) -> None:
    target = await check_target(f"https://{host}/hook", allow_private=False)
    assert target.urls == (f"https://{pinned}/hook",)

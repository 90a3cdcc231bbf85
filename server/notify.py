"""Announcing new held comments: signed webhooks and e-mail, delivered with retries.

Delivery is best effort from the process that took the comment: the comment itself is safe
in the database and the queue shows it either way."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from server.core.models import QueueChange, Site, Status, iso
from server.core.sites import SiteDirectory
from server.mail import messages, smtp
from server.settings import Settings
from server.webtarget import check_target

log = logging.getLogger("threadline.notify")
QUEUE_MAX = 1000


@dataclass
class Delivery:
    kind: str  # "webhook" or "email"
    site: Site
    payload: dict[str, Any]
    attempt: int = 0
    errors: list[str] = field(default_factory=list)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``Threadline-Signature: t=TIMESTAMP,v1=HEX``: HMAC-SHA256 of ``TIMESTAMP.BODY``.
    Receivers recompute it and reject stale timestamps (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def send_email(smtp_url: str, sender: str, to: list[str], subject: str, text: str) -> None:
    """Blocking send of a plain-text e-mail (run in a thread), for the moderator account
    mails (password reset, invitations). The subject is flattened to one line first
    (``messages.one_line``: CR/LF, Unicode separators, encoded-word syntax), so a name in
    it cannot add a header such as Bcc:."""
    message = EmailMessage()
    message["Subject"] = messages.one_line(subject)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    smtp.send(smtp_url, message)


class Notifier:
    """A ``QueueObserver`` that announces comments entering the Pending tab."""

    def __init__(
        self,
        settings: Settings,
        sites: SiteDirectory,
        retries: tuple[float, ...] = (1.0, 5.0, 30.0),
    ) -> None:
        self.settings = settings
        self.sites = sites
        self.retries = retries
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(QUEUE_MAX)
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self.delivered = 0

    async def queue_changed(self, change: QueueChange) -> None:
        if change.before is not None or change.comment.status is not Status.PENDING:
            return
        site = await self.sites.get(change.site_id)
        if not site.notify.webhook_url and not (site.notify.emails and self.settings.smtp_url):
            return
        c, page = change.comment, change.page
        base = (self.settings.public_url or "").rstrip("/")
        payload = {
            "type": "comment.pending",
            "site": site.id,
            "comment": {
                "id": c.id,
                "name": c.author_name,
                "body": c.body,
                "held_reason": c.held_reason,
                "created_at": iso(c.created_at),
                "page": {"key": page.key, "url": page.url, "title": page.title},
            },
            "moderate_url": f"{base}/moderate?tab=pending&site={site.id}" if base else None,
        }
        for kind, wanted in (
            ("webhook", site.notify.webhook_url),
            ("email", site.notify.emails and self.settings.smtp_url),
        ):
            if wanted:
                self._enqueue(Delivery(kind, site, payload))

    def _enqueue(self, delivery: Delivery) -> None:
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            log.error(
                "notification queue full; dropped a %s for site %s", delivery.kind, delivery.site.id
            )

    async def start(self) -> None:
        # No pooled connections: one kept open to an address for one site's name must not
        # carry another site's webhook (each is verified for its own name).
        self._http = httpx.AsyncClient(
            timeout=5.0, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._task = asyncio.create_task(self._work(), name="threadline-notify")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.aclose()

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                if delivery.kind == "webhook":
                    await self._webhook(delivery)
                else:
                    await self._email(delivery)
                self.delivered += 1
            except Exception as exc:  # noqa: BLE001 -- every failure is retried or logged
                self._retry(delivery, exc)

    def _retry(self, delivery: Delivery, exc: Exception) -> None:
        delivery.errors.append(str(exc))
        if delivery.attempt >= len(self.retries):
            log.error(
                "giving up on a %s for site %s after %d attempts: %s",
                delivery.kind,
                delivery.site.id,
                delivery.attempt + 1,
                "; ".join(delivery.errors),
            )
            return
        delay = self.retries[delivery.attempt]
        delivery.attempt += 1
        asyncio.get_running_loop().call_later(delay, self._enqueue, delivery)

    async def _webhook(self, delivery: Delivery) -> None:
        url, secret = delivery.site.notify.webhook_url, delivery.site.notify.webhook_secret
        assert url is not None
        assert self._http is not None
        target = await check_target(url, self.settings.webhook_private)
        body = orjson.dumps(delivery.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Threadline-Webhook/1",
            "Threadline-Signature": signature(secret or "", int(time.time()), body),
        }
        if target.host_header:
            headers["Host"] = target.host_header
        extensions = {"sni_hostname": target.tls_name} if target.tls_name else None
        for i, address in enumerate(target.urls):
            try:
                r = await self._http.post(
                    address, content=body, headers=headers, extensions=extensions
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if i == len(target.urls) - 1:
                    raise
        if r.status_code >= 300:
            raise RuntimeError(f"webhook answered {r.status_code}")

    async def _email(self, delivery: Delivery) -> None:
        """The same pipeline as every other e-mail: ``messages`` builds it (flattened
        headers, autoescaped HTML), ``smtp`` sends it."""
        assert self.settings.smtp_url is not None
        c = delivery.payload["comment"]
        mail = messages.held_comment(
            delivery.site.name,
            "en",
            c["name"],
            c["page"]["key"],
            c["page"]["url"],
            c["held_reason"],
            c["body"],
            delivery.payload["moderate_url"],
        )
        message = messages.to_message(
            mail,
            self.settings.smtp_from,
            ", ".join(delivery.site.notify.emails),
            delivery.site.id,
        )
        await asyncio.to_thread(smtp.send, self.settings.smtp_url, message)

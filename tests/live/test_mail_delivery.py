"""E-mail on replies across two processes (real uvicorn, PostgreSQL, Redis, aiosmtpd): a
reader subscribes through A, confirms through B, a held reply is approved, and exactly one
mail arrives though both processes' senders watch the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from server.core.context import command_services
from server.core.decisions import Action, decide_comment
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import running_pair
from tests.support.mailbox import Mailbox, link_in, smtp_server, text_of
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def mail_db(databases: Databases) -> str:
    url: str = await databases.create("postgresql")
    store = SqlStore(url, pool_size=2)
    await add_site(command_services(store, SECRET), "mail2", origins=[ORIGIN], mode="all")
    await store.close()
    return url


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture(scope="module")
def pair(
    mail_db: str,
    redis_server: RedisServer,
    mailbox: tuple[Mailbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(
        mail_db,
        redis_server.url,
        tmp_path_factory.mktemp("mail2"),
        THREADLINE_SMTP_URL=f"smtp://127.0.0.1:{mailbox[1]}",
        THREADLINE_SMTP_FROM="comments@blog.test",
        THREADLINE_PUBLIC_URL="https://comments.blog.test",
    ) as both:
        yield both


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(timeout=30) as client:
        yield client


async def _approve(store: SqlStore, comment_id: int) -> None:
    svc = command_services(store, SECRET)
    site = await SiteDirectory(store).get("mail2")
    await decide_comment(svc, site, comment_id, Action.APPROVE, moderator=None)


async def _post(
    http: httpx.AsyncClient,
    server: ServerProcess,
    body: str,
    token: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await http.post(
        f"{server.url}/api/v1/sites/mail2/comments",
        json={"page": "p", "body": body, "url": f"{ORIGIN}/p", **extra},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_a_reply_approved_is_mailed_once_by_two_processes(
    pair: tuple[ServerProcess, ServerProcess],
    mailbox: tuple[Mailbox, int],
    mail_db: str,
    http: httpx.AsyncClient,
) -> None:
    a, b = pair
    box, _ = mailbox
    store = SqlStore(mail_db, pool_size=2)
    try:
        asked = await _post(http, a, "Does this work across processes?")
        token = asked["author_token"]
        await _approve(store, asked["comment"]["id"])
        r = await http.post(
            f"{a.url}/api/v1/sites/mail2/comments/{asked['comment']['id']}/subscribe",
            json={"email": "two@example.test", "scope": "replies"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert (r.status_code, r.json()) == (202, {"status": "check_your_inbox"})
        (confirmation,) = await box.wait_for("two@example.test", 1, timeout=15)
        confirmed = await http.post(
            f"{b.url}/mail/confirm", data={"t": link_in(confirmation, "confirm")}
        )
        assert confirmed.status_code == 200

        held = await _post(http, b, "Yes, through B", parent=asked["comment"]["id"])
        with pytest.raises(TimeoutError):  # none while held (both senders poll every second)
            await box.wait_for("two@example.test", 2, timeout=3)
        await _approve(store, held["comment"]["id"])
        mail = (await box.wait_for("two@example.test", 2, timeout=15))[1]
        assert "Yes, through B" in text_of(mail)
        with pytest.raises(TimeoutError):  # and only once, whichever process sent it
            await box.wait_for("two@example.test", 3, timeout=3)
    finally:
        await store.close()

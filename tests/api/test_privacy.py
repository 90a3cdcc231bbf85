"""Privacy: authors see and erase their own data; owners export or erase; no raw IPs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from server.app import create_app
from server.core.authors import AuthorTokens
from server.core.context import command_services
from server.core.erasure import forget_old_data
from server.core.privacy import ip_hash
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import comment_flags, comments, metadata
from tests.support.api import Api, Clock
from tests.support.config import SECRET, env_for, settings_for
from tests.support.db import Databases
from tests.support.servers import ROOT


async def test_author_lists_their_own_comments_including_held_ones(api: Api) -> None:
    site = await api.new_site(moderation="first-time")
    first = await api.post(site, "a", "my first, held")
    token = first["author_token"]
    await api.post(site, "b", "my second, held", token=token)
    await api.post(site, "a", "somebody else")
    r = await api.http.get(
        f"/api/v1/sites/{site}/authors/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    mine = r.json()["comments"]
    assert [(c["body"], c["status"], c["page"]) for c in mine] == [
        ("my first, held", "pending", "a"),
        ("my second, held", "pending", "b"),
    ]
    assert (await api.http.get(f"/api/v1/sites/{site}/authors/me")).status_code == 401


async def test_author_erases_everything_they_wrote(api: Api) -> None:
    site = await api.new_site()
    mine = await api.post(site, body="mine, with a reply under it", name="Me")
    token = mine["author_token"]
    await api.post(site, body="a reply by someone else", parent=mine["comment"]["id"])
    await api.post(site, "other-page", "mine elsewhere", token=token)
    someone = await api.post(site, "third-page", "a comment the author flagged")
    flag = await api.http.post(
        f"/api/v1/sites/{site}/comments/{someone['comment']['id']}/flag",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert flag.status_code == 200
    r = await api.http.delete(
        f"/api/v1/sites/{site}/authors/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.json() == {"erased": 2}
    async with api.store.read() as tx:
        reporters = (
            (
                await tx.conn.execute(
                    select(comment_flags.c.reporter).where(
                        comment_flags.c.comment_id == someone["comment"]["id"]
                    )
                )
            )
            .scalars()
            .all()
        )
    assert AuthorTokens.hash(site, token)[:62] not in "".join(reporters)
    assert len(reporters) == 1  # the flag still counts, by its network
    thread = await api.thread(site)
    tomb = thread["comments"][0]
    assert (tomb["status"], tomb["body"], tomb["name"]) == ("deleted", "", None)
    assert [x["body"] for x in tomb["replies"]] == ["a reply by someone else"]
    assert thread["page"]["count"] == 1
    assert (await api.thread(site, "other-page"))["comments"] == []
    async with api.store.read() as tx:
        rows = (
            await tx.conn.execute(
                select(comments).where(comments.c.site_id == site, comments.c.body.like("mine%"))
            )
        ).all()
    assert rows == []


async def test_raw_ip_addresses_are_never_stored_or_logged(
    databases: Databases, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "ips", origins=["https://blog.test"])
    app = create_app(settings_for(url, tmp_path))
    caplog.set_level(logging.DEBUG)
    try:
        async with app.router.lifespan_context(app):
            for i, ip in enumerate(("203.0.113.77", "2001:db8::1")):
                transport = httpx.ASGITransport(app=app, client=(ip, 1))
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                    r = await http.post(
                        "/api/v1/sites/ips/comments", json={"page": "p", "body": f"comment {i}"}
                    )
                    assert r.status_code == 201
                    cid = r.json()["comment"]["id"]
                    await http.post(f"/api/v1/sites/ips/comments/{cid}/flag")
        dump = []
        async with store.read() as tx:
            for table in metadata.sorted_tables:
                for row in (await tx.conn.execute(select(table))).all():
                    dump.append(repr(tuple(row)))
    finally:
        await store.close()
    everything = "\n".join(dump) + "\n".join(caplog.messages)
    for raw in ("203.0.113.77", "203.0.113", "2001:db8::1", "2001:db8:"):
        assert raw not in everything


async def test_ip_hashes_are_forgotten_after_30_days(
    asgi_api: Api, time_travel: Clock, asgi_app: Any
) -> None:
    site = await asgi_api.new_site()
    old = (await asgi_api.post(site, body="long ago"))["comment"]["id"]
    flagged = await asgi_api.http.post(f"/api/v1/sites/{site}/comments/{old}/flag")
    assert flagged.json()["flags"] == 1
    time_travel.offset = 31 * 86400
    new = (await asgi_api.post(site, body="today"))["comment"]["id"]
    await forget_old_data(asgi_app.state.tl.services)
    async with asgi_api.store.read() as tx:
        hashes: dict[int, str | None] = dict(
            (
                await tx.conn.execute(
                    select(comments.c.id, comments.c.ip_hash).where(comments.c.id.in_([old, new]))
                )
            ).all()
        )
        reporters = (
            (
                await tx.conn.execute(
                    select(comment_flags.c.reporter).where(comment_flags.c.comment_id == old)
                )
            )
            .scalars()
            .all()
        )
    assert hashes[old] is None
    assert hashes[new] is not None
    network = "ip:" + ip_hash(SECRET, "203.0.113.7")
    assert len(reporters) == 1 and reporters[0] != network  # the flag counts, from nowhere
    again = await asgi_api.http.post(f"/api/v1/sites/{site}/comments/{old}/flag")
    assert again.json()["flags"] == 2


async def test_cli_exports_a_site(databases: Databases, tmp_path: Path) -> None:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "exp", origins=["https://blog.test"])
    async with store.write() as tx:
        await tx.conn.execute(text("SELECT 1"))
    await store.close()
    import os

    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "site", "export", "exp"],
        cwd=ROOT,
        env={**os.environ, **env_for(url, tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["site"]["id"] == "exp"

"""Owners export a site and erase one author's data; plain moderators cannot."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from server.core.authors import AuthorTokens
from server.core.erasure import open_export_authors
from server.core.imports import Batch, ImportedComment
from server.core.models import Status
from tests.support.api import Api
from tests.support.config import SECRET


async def test_owner_exports_and_erases_an_author(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    troll = await api.post(site, body="troll one", name="Troll")
    await api.post(site, "p2", "troll two", token=troll["author_token"])
    await api.post(site, body="a normal reader")
    async with make_mod(site) as plain:
        assert (await plain.http.get(f"/moderate/sites/{site}/export")).status_code == 403
        r = await plain.act(troll["comment"]["id"], "erase", expected=None)
        assert r.status_code == 403
    async with make_mod(site, owner=True) as owner:
        export = await owner.http.get(f"/moderate/sites/{site}/export")
        assert export.status_code == 200
        assert "attachment" in export.headers["content-disposition"]
        data = export.json()
        assert sorted(c["body"] for c in data["comments"]) == [
            "a normal reader",
            "troll one",
            "troll two",
        ]
        assert "ip_hash" not in export.text
        assert "webhook_secret" not in export.text
        r = await owner.act(troll["comment"]["id"], "erase", expected=None)
        assert r.json() == {"erased": 2}
        audit = (await owner.http.get("/moderate/audit", params={"action": "erase"})).text
        assert "2 comments erased (owner)" in audit
    bodies = [c["body"] for c in (await api.thread(site))["comments"]]
    assert bodies == ["a normal reader"]


async def test_an_export_shows_no_author_hash_and_only_this_server_can_open_them(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site()
    first = await api.post(site, body="one of mine", name="Same Author")
    await api.post(site, "p2", "another of mine", token=first["author_token"])
    async with make_mod(site, owner=True) as owner:
        export = await owner.http.get(f"/moderate/sites/{site}/export")
    author_hash = AuthorTokens.hash(site, first["author_token"])
    assert author_hash not in export.text
    sealed = [c["author"] for c in export.json()["comments"]]
    assert len(set(sealed)) == 2  # one author, yet nothing in the file links the two comments
    batch = Batch("threadline", site={})
    batch.comments = [
        ImportedComment(
            source_id=str(i),
            page="1",
            parent=None,
            name=None,
            body="x",
            status=Status.APPROVED,
            created_at=0,
            where="test",
            author_hash=value,
        )
        for i, value in enumerate(sealed)
    ]
    open_export_authors(batch, SECRET)  # this server, restoring its own export
    assert [c.author_hash for c in batch.comments] == [author_hash, author_hash]
    elsewhere = Batch("threadline", site={})
    elsewhere.comments = [
        replace(c, author_hash=s) for c, s in zip(batch.comments, sealed, strict=True)
    ]
    open_export_authors(elsewhere, SECRET[::-1])  # another server's secret
    assert [c.author_hash for c in elsewhere.comments] == [None, None]

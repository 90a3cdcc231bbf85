"""Owners export a site and erase one author's data; plain moderators cannot."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api


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
            "a normal reader", "troll one", "troll two"]
        assert "ip_hash" not in export.text
        assert "webhook_secret" not in export.text
        r = await owner.act(troll["comment"]["id"], "erase", expected=None)
        assert r.json() == {"erased": 2}
        audit = (await owner.http.get("/moderate/audit", params={"action": "erase"})).text
        assert "2 comments erased (owner)" in audit
    bodies = [c["body"] for c in (await api.thread(site))["comments"]]
    assert bodies == ["a normal reader"]

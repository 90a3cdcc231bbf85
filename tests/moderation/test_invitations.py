"""Owners invite moderators: nobody gets a site without accepting it, and an owner learns
nothing about accounts on other sites."""

from __future__ import annotations

from typing import Any

from tests.moderation.conftest import Mod, client_for
from tests.support.api import Api

NEW_PASSWORD = "a brand new password for a brand new account"


async def invite(owner: Mod, site: str, email: str, password: str = NEW_PASSWORD) -> Any:
    return await owner.http.post(f"/moderate/sites/{site}/moderators", data={
        "csrf": owner.csrf, "email": email, "password": password},
        headers={"Accept": "application/json"})


async def test_inviting_an_existing_account_looks_like_inviting_a_new_address(
        api: Api, make_mod: Any) -> None:
    mine, theirs = await api.new_site(), await api.new_site()
    async with make_mod(theirs) as elsewhere, make_mod(mine, owner=True) as owner:
        existing = await invite(owner, mine, elsewhere.email)
        fresh = await invite(owner, mine, f"newcomer-{mine}@example.com")
        assert (existing.status_code, fresh.status_code) == (200, 200)
        assert existing.json().keys() == fresh.json().keys() == {"invited"}
        weak = [await invite(owner, mine, email, "short")
                for email in (elsewhere.email, f"other-{mine}@example.com")]
        assert [r.json()["error"]["code"] for r in weak] == ["password_too_short"] * 2
        # Nobody got the site: both are only invited.
        denied = await elsewhere.http.get("/moderate", params={"site": mine})
        assert denied.status_code == 403
        settings = (await owner.http.get(f"/moderate/sites/{mine}")).text
        assert settings.count("invited, not accepted yet") == 2
        # The owner's password does not open the existing account.
        async with client_for(api) as http:
            intruder = Mod(http, elsewhere.email)
            assert (await intruder.login(NEW_PASSWORD)).status_code == 401


async def test_an_invited_moderator_accepts_or_declines(api: Api, make_mod: Any) -> None:
    mine, theirs = await api.new_site(moderation="all"), await api.new_site()
    held = (await api.post(mine, body="waiting for a moderator"))["comment"]["id"]
    async with make_mod(theirs) as invited, make_mod(mine, owner=True) as owner:
        assert (await invite(owner, mine, invited.email)).status_code == 200
        refused = await invited.act(held, "approve")
        assert refused.status_code == 403  # not theirs until they accept
        queue = await invited.queue()
        assert "You are invited to moderate" in queue and f"({mine})" in queue
        r = await invited.http.post(f"/moderate/invitations/{mine}/accept",
                                    data={"csrf": invited.csrf},
                                    headers={"Accept": "application/json"})
        assert r.json() == {"site": mine, "answer": "accept"}
        assert (await invited.act(held, "approve")).status_code == 200
        again = await invited.http.post(f"/moderate/invitations/{mine}/accept",
                                        data={"csrf": invited.csrf},
                                        headers={"Accept": "application/json"})
        assert again.status_code == 404


async def test_a_new_account_logs_in_with_the_owners_password_and_may_decline(
        api: Api, make_mod: Any) -> None:
    mine = await api.new_site()
    email = f"newcomer-{mine}@example.com"
    async with make_mod(mine, owner=True) as owner:
        assert (await invite(owner, mine, email)).status_code == 200
    async with client_for(api) as http:
        newcomer = Mod(http, email)
        assert (await newcomer.login(NEW_PASSWORD)).status_code == 303
        r = await newcomer.http.post(f"/moderate/invitations/{mine}/decline",
                                     data={"csrf": newcomer.csrf},
                                     headers={"Accept": "application/json"})
        assert r.json()["answer"] == "decline"
        assert "You are invited" not in await newcomer.queue()
        assert (await newcomer.http.get(f"/moderate/sites/{mine}")).status_code == 403


async def test_an_owner_withdraws_an_invitation(api: Api, make_mod: Any) -> None:
    mine, theirs = await api.new_site(), await api.new_site()
    async with make_mod(theirs) as invited, make_mod(mine, owner=True) as owner:
        await invite(owner, mine, invited.email)
        settings = (await owner.http.get(f"/moderate/sites/{mine}")).text
        target = settings.split("/invitations/")[1].split("/withdraw")[0]
        r = await owner.http.post(f"/moderate/sites/{mine}/invitations/{target}/withdraw",
                                  data={"csrf": owner.csrf},
                                  headers={"Accept": "application/json"})
        assert r.status_code == 200
        assert "You are invited" not in await invited.queue()
        assert "invited, not accepted yet" not in (
            await owner.http.get(f"/moderate/sites/{mine}")).text

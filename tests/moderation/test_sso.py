"""Single sign-on in the moderation pages: owners set the policy and the keys (a secret made
here is shown once), the queue shows who a verified reader is without loading their avatar,
moderators give claimed comments back, and bans and erasure reach the identity."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from server.core.context import command_services
from server.core.models import Moderator, Role
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.core.queue import view_queue
from server.store.schema import comments, identities, identity_names
from tests.moderation.test_live_socket import _open_queue
from tests.support.api import Api
from tests.support.config import SECRET
from tests.support.moderation import PASSWORD, Mod
from tests.support.net import http_client
from tests.support.sso import SigningKey, claims, eddsa_key, enable_sso, hs256_key

AVATAR = "https://avatars.example/ada.png"
JSON_ANSWER = {"Accept": "application/json"}


async def sign_in(api: Api, site: str, token: str, **body: Any) -> dict[str, Any]:
    r = await api.http.post(f"/api/v1/sites/{site}/sso/session", json={"token": token, **body})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def sso_site(api: Api, key: SigningKey, moderation: str = "all") -> str:
    site = await api.new_site(moderation=moderation)
    await enable_sso(api.store, site, key)
    return site


async def signed_in_post(
    api: Api, site: str, key: SigningKey, body: str, sub: str = "user-1", name: str = "Ada"
) -> dict[str, Any]:
    session = (await sign_in(api, site, key.sign(claims(site, sub=sub, name=name, avatar=AVATAR))))[
        "session"
    ]
    return await api.post(site, body=body, token=session)


async def test_owner_sets_the_policy_and_keys_and_a_generated_secret_is_shown_once(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site()
    async with make_mod(site) as plain:
        for path, form in (
            ("/sso", {"policy": "sso-only"}),
            ("/sso/keys/new-secret", {"kid": "k1"}),
            ("/sso/keys/remove", {"kid": "k1"}),
        ):
            r = await plain.http.post(
                f"/moderate/sites/{site}{path}", data={"csrf": plain.csrf, **form}
            )
            assert r.status_code == 403, path
    async with make_mod(site, owner=True) as owner:
        base = f"/moderate/sites/{site}"
        settings = (await owner.http.get(base)).text
        assert "Sign-in (single sign-on)" in settings and "docs/sso.md" in settings
        assert 'value="anonymous" selected' in settings
        assert "No keys: nobody can sign in yet." in settings

        r = await owner.http.post(
            base + "/sso", data={"csrf": owner.csrf, "policy": "sso-only", "moderators": "1"}
        )
        assert r.status_code == 303 and r.headers["location"] == base
        settings = (await owner.http.get(base)).text
        assert "Sign-in settings saved." in settings
        assert 'value="sso-only" selected' in settings
        assert 'name="moderators" value="1" checked' in settings
        # One error model: a bad policy is the one handler's error page, linking back.
        bad = await owner.http.post(base + "/sso", data={"csrf": owner.csrf, "policy": "all"})
        assert bad.status_code == 422, bad.text[:300]
        assert "the sign-in policy must be one of" in bad.text and f'href="{base}"' in bad.text

        public = eddsa_key("ed-2026")
        r = await owner.http.post(
            base + "/sso/keys",
            data={
                "csrf": owner.csrf,
                "kid": public.kid,
                "algorithm": "EdDSA",
                "material": public.public,
            },
        )
        assert r.status_code == 303
        settings = (await owner.http.get(base)).text
        first_line = public.public.splitlines()[1]
        assert "Sign-in key ed-2026 added." in settings
        assert "<code>ed-2026</code> · EdDSA" in settings and first_line in settings
        private = await owner.http.post(
            base + "/sso/keys",
            data={
                "csrf": owner.csrf,
                "kid": "oops",
                "algorithm": "EdDSA",
                "material": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
            },
            headers=JSON_ANSWER,
        )
        assert private.status_code == 422
        assert private.json()["error"]["code"] == "private_key_given"

        made = await owner.http.post(
            base + "/sso/keys/new-secret", data={"csrf": owner.csrf, "kid": "hs"}
        )
        assert made.status_code == 200, made.text[:300]
        assert made.headers["cache-control"] == "no-store"
        found = re.search(r'id="sso-secret" value="([^"]+)"', made.text)
        assert found is not None
        secret = found.group(1)
        settings = (await owner.http.get(base)).text
        assert secret not in settings
        assert "<code>hs</code> · HS256" in settings and "shared secret, sealed" in settings
        # The secret shown is the one the site's backend signs with: a reader signs in.
        signed = await sign_in(api, site, hs256_key("hs", secret).sign(claims(site)))
        assert signed["identity"]["name"] == "Ada Lovelace"

        r = await owner.http.post(base + "/sso/keys/remove", data={"csrf": owner.csrf, "kid": "hs"})
        assert r.status_code == 303
        settings = (await owner.http.get(base)).text
        assert "Sign-in key hs removed." in settings and "<code>hs</code>" not in settings
        gone = await api.http.post(
            f"/api/v1/sites/{site}/sso/session",
            json={"token": hs256_key("hs", secret).sign(claims(site))},
        )
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "sso_unknown_key"
        audit = (await owner.http.get("/moderate/audit", params={"action": "settings"})).text
        for detail in (
            "sign-in: sso-only, moderators by token: True",
            "sign-in key added: ed-2026 (EdDSA)",
            "sign-in key added: hs (HS256)",
            "sign-in key removed: hs",
        ):
            assert detail in audit
    assert (await api.thread(site))["config"]["sso"] == "sso-only"


class CountingStore:
    """A store whose transactions count the identity reads made through them."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        async with self.store.read() as tx:
            yield CountingTx(tx, self.calls)

    def write(self) -> Any:
        return self.store.write()

    def numbered(self, event_ids: Any) -> Any:
        return self.store.numbered(event_ids)


class CountingTx:
    def __init__(self, tx: Any, calls: Counter[str]) -> None:
        self.tx, self.calls = tx, calls

    def __getattr__(self, name: str) -> Any:
        if name in ("identities_of", "find_identity", "claims_of"):
            self.calls[name] += 1
        return getattr(self.tx, name)


async def test_the_queue_shows_the_verified_reader_and_loads_no_avatar(
    api: Api, make_mod: Any
) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    ada = await signed_in_post(api, site, key, "from Ada", sub="user-<1>")
    await signed_in_post(api, site, key, "from Grace", sub="user-2", name="Grace")
    await api.post(site, body="from nobody", name="Anon")
    async with make_mod(site) as mod:
        html = await mod.queue()
    assert html.count('class="badge verified"') == 2
    assert "user id user-&lt;1&gt;" in html and "user id user-2" in html
    assert "avatar from avatars.example" in html
    assert AVATAR not in html and "<img" not in html
    single = (await mod_page(api, make_mod, site, ada["comment"]["id"])).text
    assert "user id user-&lt;1&gt;" in single and AVATAR not in single
    # One read of identities for the whole page, whatever number of readers it shows.
    counting = CountingStore(api.store)
    services = replace(command_services(api.store, SECRET), store=counting)
    view = await view_queue(services, Moderator(1, "m@example.org", "", {site: Role.MODERATOR}))
    subjects = {i.comment.body: i.identity.subject if i.identity else None for i in view.items}
    assert subjects == {"from Ada": "user-<1>", "from Grace": "user-2", "from nobody": None}
    assert counting.calls == Counter({"identities_of": 1})


async def mod_page(api: Api, make_mod: Any, site: str, comment_id: int) -> Any:
    async with make_mod(site) as mod:
        r = await mod.http.get(f"/moderate/comments/{comment_id}")
        assert r.status_code == 200
        return r


async def test_the_live_queue_shows_the_verified_mark_name_and_avatar_host(
    live_server: Any, backend_store: Any
) -> None:
    async with http_client(base_url=live_server.url) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await api.new_site(moderation="all")
        key = hs256_key()
        await enable_sso(backend_store, site, key)  # before the server first reads the site
        mod = Mod(http, f"sso-{site}@example.com")
        await add_moderator(
            command_services(backend_store, SECRET),
            hasher("test"),
            mod.email,
            site,
            password=PASSWORD,
        )
        assert (await mod.login()).status_code == 303
        async with await _open_queue(live_server, http) as ws:
            posted = await signed_in_post(api, site, key, "live and verified")
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "queue.changed":
                    break
    item = frame["data"]["item"]
    assert item["id"] == posted["comment"]["id"]
    assert (item["name"], item["verified"], item["avatar_host"]) == ("Ada", True, "avatars.example")
    assert item["subject"] is None  # rendered from the change alone: the page shows it on load
    assert AVATAR not in json.dumps(frame)


async def test_a_moderator_gives_claimed_comments_back(api: Api, make_mod: Any) -> None:
    key = hs256_key()
    site = await sso_site(api, key, moderation="none")
    first = await api.post(site, body="written anonymously", name="Anon")
    token = first["author_token"]
    await api.post(site, body="also anonymous", token=token, name="Anon")
    signed = await sign_in(api, site, key.sign(claims(site)), author_token=token)
    claimed = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim",
        json={"author_token": token},
        headers={"Authorization": f"Bearer {signed['session']}"},
    )
    assert claimed.json() == {"claimed": 2}
    fresh = await api.post(site, body="written signed in", token=signed["session"])
    comment_id = first["comment"]["id"]
    async with make_mod(site) as mod:
        page = (await mod.http.get(f"/moderate/comments/{comment_id}")).text
        assert "Claimed: written before its author signed in, as Anon." in page
        assert "This reader claimed 2 comments they wrote before signing in." in page
        assert f'action="/moderate/comments/{comment_id}/unclaim"' in page
        # Offered on any comment of that reader, but only this one says it was claimed.
        other = (await mod.http.get(f"/moderate/comments/{fresh['comment']['id']}")).text
        assert "Give back to the anonymous author" in other and "Claimed:" not in other
        r = await mod.http.post(
            f"/moderate/comments/{comment_id}/unclaim",
            data={"csrf": mod.csrf, "return_to": f"/moderate/comments/{comment_id}"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/moderate/comments/{comment_id}"
        page = (await mod.http.get(f"/moderate/comments/{comment_id}")).text
        assert "Comments given back to their anonymous author: 2." in page
        assert "Give back to the anonymous author" not in page
        audit = (await mod.http.get("/moderate/audit", params={"action": "unclaim"})).text
        assert "2 comment(s) given back" in audit and mod.email in audit
        again = await mod.http.post(
            f"/moderate/comments/{comment_id}/unclaim", data={"csrf": mod.csrf}, headers=JSON_ANSWER
        )
        assert again.status_code == 404 and again.json()["error"]["code"] == "no_claims"
    shown = {c["body"]: c for c in (await api.thread(site))["comments"]}
    assert (shown["written anonymously"]["name"], shown["written anonymously"]["verified"]) == (
        "Anon",
        False,
    )
    assert shown["written signed in"]["verified"] is True
    other_site = await api.new_site()
    async with make_mod(other_site) as stranger:
        r = await stranger.http.post(
            f"/moderate/comments/{fresh['comment']['id']}/unclaim",
            data={"csrf": stranger.csrf},
            headers=JSON_ANSWER,
        )
        assert r.status_code == 403


async def test_a_ban_from_the_queue_refuses_the_identity_in_a_new_session(
    api: Api, make_mod: Any
) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    posted = await signed_in_post(api, site, key, "troll, signed in")
    async with make_mod(site) as mod:
        r = await mod.http.post(
            f"/moderate/comments/{posted['comment']['id']}/ban",
            data={"csrf": mod.csrf, "mode": "reject", "reason": "trolling"},
            headers=JSON_ANSWER,
        )
        assert r.status_code == 200, r.text
    # Signed in again (another session, another browser): still that identity, still banned.
    session = (await sign_in(api, site, key.sign(claims(site, name="Ada Renamed"))))["session"]
    refused = await api.post(site, body="back again", token=session, expect=403)
    assert refused["error"]["code"] == "author_banned"
    # Another reader of the site is not.
    other = await signed_in_post(api, site, key, "someone else", sub="user-2", name="Grace")
    assert other["status"] == "pending"


async def test_erasing_a_verified_author_erases_the_identity_and_its_names(
    api: Api, make_mod: Any
) -> None:
    key = hs256_key()
    site = await sso_site(api, key, moderation="none")
    posted = await signed_in_post(api, site, key, "erase me")
    await signed_in_post(api, site, key, "keep me", sub="user-2", name="Grace")
    async with make_mod(site, owner=True) as owner:
        r = await owner.act(posted["comment"]["id"], "erase", expected=None)
        assert r.json() == {"erased": 1}
    async with api.store.read() as tx:
        conn = tx.conn
        left = (await conn.execute(select(identities).where(identities.c.site_id == site))).all()
        names = (
            await conn.execute(
                select(identity_names.c.name_key).where(identity_names.c.site_id == site)
            )
        ).all()
        row = (
            await conn.execute(select(comments).where(comments.c.id == posted["comment"]["id"]))
        ).one()
    assert [r.subject for r in left] == ["user-2"]
    assert names and all("ada" not in n.name_key for n in names)
    assert (row.body, row.author_name, row.author_hash, row.author_avatar, row.verified) == (
        "",
        None,
        None,
        None,
        False,
    )
    # The name is free again.
    assert (await api.post(site, body="hello", name="Ada"))["comment"]["name"] == "Ada"


async def test_an_export_says_which_comments_are_verified_with_their_avatar(
    api: Api, make_mod: Any
) -> None:
    key = hs256_key()
    site = await sso_site(api, key, moderation="none")
    await signed_in_post(api, site, key, "signed in")
    await api.post(site, body="anonymous", name="Anon")
    async with make_mod(site, owner=True) as owner:
        data = (await owner.http.get(f"/moderate/sites/{site}/export")).json()
    shown = {c["body"]: c for c in data["comments"]}
    assert (shown["signed in"]["verified"], shown["signed in"]["avatar"]) == (True, AVATAR)
    assert (shown["anonymous"]["verified"], shown["anonymous"]["avatar"]) == (False, None)
    assert "user-1" not in json.dumps(data)  # the site's user id stays on this server

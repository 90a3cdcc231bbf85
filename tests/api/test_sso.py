"""Single sign-on over the API, with real tokens signed by the test as a site's backend
signs them (HS256 shared secrets, EdDSA keys), and the tokens an attacker would forge."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from server.core.context import command_services
from server.core.errors import Invalid
from server.core.identities import undo_claims
from server.core.models import Moderator, Role
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.core.sso_admin import add_sso_key, remove_sso_key, set_sso
from server.store.database import SqlStore
from server.store.schema import audit_log, comments, identities, identity_names, moderators
from server.store.schema import claims as claims_table
from tests.support.api import Api
from tests.support.config import SECRET
from tests.support.moderation import PASSWORD, Mod, client_for
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.sso import (
    SigningKey,
    claims,
    eddsa_key,
    enable_sso,
    forged,
    hs256_key,
    rs256_key,
)
from tests.support.ws import Reader


async def sign_in(
    api: Api, site: str, token: str, *, author_token: str | None = None, expect: int = 200
) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token}
    if author_token is not None:
        body["author_token"] = author_token
    r = await api.http.post(f"/api/v1/sites/{site}/sso/session", json=body)
    assert r.status_code == expect, r.text
    data: dict[str, Any] = r.json()
    return data


async def refused(api: Api, site: str, token: str) -> str:
    data = await sign_in(api, site, token, expect=401)
    code: str = data["error"]["code"]
    return code


async def sso_site(api: Api, *keys: SigningKey, **options: Any) -> str:
    site = await api.new_site(moderation=options.pop("moderation", "none"))
    await enable_sso(api.store, site, *keys, **options)
    return site


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session}"}


@pytest.mark.parametrize("make_key", [hs256_key, eddsa_key], ids=["HS256", "EdDSA"])
async def test_an_identity_posts_replies_edits_and_deletes(api: Api, make_key: Any) -> None:
    key = make_key()
    site = await sso_site(api, key)
    avatar = "https://avatars.example/ada.png"
    signed = await sign_in(api, site, key.sign(claims(site, avatar=avatar)))
    assert signed["identity"]["name"] == "Ada Lovelace"
    assert signed["identity"]["avatar"] == avatar
    assert signed["claimable"] == 0
    session = signed["session"]
    # A name in the post is ignored: the site's name for its reader is the name.
    post = await api.post(site, body="Signed in", name="Someone Else", token=session)
    comment = post["comment"]
    assert "author_token" not in post
    assert (comment["name"], comment["verified"], comment["avatar"]) == (
        "Ada Lovelace",
        True,
        avatar,
    )
    assert comment["author_key"] == signed["identity"]["author_key"]
    reply = await api.post(site, body="And a reply", parent=comment["id"], token=session)
    assert reply["comment"]["verified"] is True
    edit = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{comment['id']}",
        json={"body": "Edited as myself"},
        headers=bearer(session),
    )
    assert edit.status_code == 200, edit.text
    assert edit.json()["comment"]["body"] == "Edited as myself"
    gone = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{reply['comment']['id']}", headers=bearer(session)
    )
    assert gone.status_code == 200, gone.text
    thread = await api.thread(site)
    [top] = thread["comments"]
    assert top["body"] == "Edited as myself" and top["verified"] is True
    assert thread["config"]["sso"] == "sso-optional"
    # Another identity of the site cannot touch it.
    other = await sign_in(api, site, key.sign(claims(site, sub="user-2", name="Grace")))
    stolen = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{comment['id']}",
        json={"body": "mine now"},
        headers=bearer(other["session"]),
    )
    assert stolen.status_code == 403
    assert stolen.json()["error"]["code"] == "not_author"


async def test_two_keys_are_active_at_once_for_rotation(api: Api) -> None:
    old, new = hs256_key("2026-01"), eddsa_key("2026-07")
    site = await sso_site(api, old)
    services = command_services(api.store, SECRET)
    await add_sso_key(services, site, kid=new.kid, algorithm=new.algorithm, material=new.public)
    for key in (old, new):
        assert (await sign_in(api, site, key.sign(claims(site))))["identity"]["name"]
    await remove_sso_key(services, site, old.kid)
    assert await refused(api, site, old.sign(claims(site))) == "sso_unknown_key"
    assert (await sign_in(api, site, new.sign(claims(site))))["session"]


async def test_each_bad_token_is_refused_with_its_own_code(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    now = int(time.time())
    cases = {
        "sso_token_expired": key.sign(claims(site, iat=now - 900, exp=now - 600)),
        "sso_token_not_yet_valid": key.sign(claims(site, iat=now + 3600, exp=now + 7200)),
        "sso_wrong_audience": key.sign(claims(site, aud="https://shop.example/api")),
        "sso_wrong_site": key.sign(claims(site, aud="another-site")),
        "sso_bad_signature": hs256_key(secret="not-the-site-secret-" * 3).sign(claims(site)),
        "sso_unknown_key": key.sign(claims(site), kid="someone-elses"),
        "sso_unsigned_token": forged({"alg": "none", "kid": key.kid}, claims(site), None),
        "sso_token_malformed": "not.a.jwt",
        "sso_invalid_claim": key.sign(claims(site, name="")),
    }
    codes = {expected: await refused(api, site, token) for expected, token in cases.items()}
    assert codes == {code: code for code in cases}
    assert len(set(codes.values())) == len(cases)
    async with api.store.read() as tx:
        written = (
            await tx.conn.execute(select(identities.c.id).where(identities.c.site_id == site))
        ).all()
    assert written == []  # nothing refused left a reader behind


@pytest.mark.parametrize("make_key", [rs256_key, eddsa_key], ids=["RS256", "EdDSA"])
async def test_a_public_key_used_as_an_hmac_secret_is_refused(api: Api, make_key: Any) -> None:
    """Algorithm confusion: the attacker knows the public key and signs HS256 with it."""
    key = make_key()
    site = await sso_site(api, key)
    token = forged(
        {"alg": "HS256", "kid": key.kid, "typ": "JWT"}, claims(site), key.public.encode()
    )
    assert await refused(api, site, token) == "sso_algorithm_mismatch"
    no_kid = forged({"alg": "HS256"}, claims(site), key.public.encode())
    assert await refused(api, site, no_kid) == "sso_algorithm_mismatch"


async def test_hostile_avatar_and_name_claims_are_refused(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    for avatar in (
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "http://avatars.example/a.png",
        "https://user:pass@avatars.example/a.png",
        "//avatars.example/a.png",
    ):
        assert await refused(api, site, key.sign(claims(site, avatar=avatar))) == (
            "sso_invalid_claim"
        ), avatar
    assert await refused(api, site, key.sign(claims(site, name="Ada\u202eecalevoL"))) == (
        "sso_invalid_claim"
    )
    markup = await sign_in(api, site, key.sign(claims(site, name="<img src=x onerror=alert(1)>")))
    assert markup["identity"]["name"] == "<img src=x onerror=alert(1)>"  # text, shown as text


async def test_anonymous_sites_do_not_sign_readers_in(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/sso/session", json={"token": hs256_key().sign(claims(site))}
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "sso_not_enabled"


async def test_a_session_of_one_site_is_worthless_on_another(api: Api) -> None:
    key = hs256_key()
    first, second = await sso_site(api, key), await sso_site(api, key)
    session = (await sign_in(api, first, key.sign(claims(first))))["session"]
    data = await api.post(second, token=session, expect=401)
    assert data["error"]["code"] == "invalid_session"


async def test_sso_only_refuses_anonymous_posts(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key, policy="sso-only")
    data = await api.post(site, body="anonymous", name="Ann", expect=403)
    assert data["error"]["code"] == "sso_required"
    assert (await api.rows(site))["comments"] == 0
    session = (await sign_in(api, site, key.sign(claims(site))))["session"]
    assert (await api.post(site, token=session))["comment"]["verified"] is True


@pytest.mark.parametrize(
    "imitation",
    [
        "Ada Lovelace",
        "ada lovelace",
        "ADA  LOVELACE",
        "\u0410da Lovelace",
        "Ada Lovel\u0430ce",
        "\u00c0da Lovelace",
        "Ada_Lovelace",
        "Ada Lovelace.",
        "\u249c\u249f\u249c Lovelace",
        "Ada \u0141ovelace",
        "AdaLove1ace",
    ],
    ids=[
        "same",
        "case",
        "spaces",
        "cyrillic-A",
        "cyrillic-a",
        "accent",
        "underscore",
        "punctuation",
        "parenthesized",
        "stroke",
        "digit-one",
    ],
)
async def test_a_verified_name_cannot_be_imitated(api: Api, imitation: str) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    await sign_in(api, site, key.sign(claims(site)))
    data = await api.post(site, body="I am Ada", name=imitation, expect=409)
    assert data["error"]["code"] == "name_reserved"
    assert (await api.rows(site))["comments"] == 0
    assert (await api.post(site, body="hello", name="Ada L."))["comment"]["name"] == "Ada L."


async def test_a_moderators_name_cannot_be_imitated(api: Api) -> None:
    site = await api.new_site()
    services = command_services(api.store, SECRET)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    moderator, _ = await add_moderator(
        services, hasher, f"mod@{site}.example", site, password="long-enough-password"
    )
    async with api.store.write() as tx:
        await tx.conn.execute(
            moderators.update()
            .where(moderators.c.id == moderator.id)
            .values(display_name="Editor Jane")
        )
    data = await api.post(site, body="official", name="Editor J\u0430ne", expect=409)
    assert data["error"]["code"] == "name_reserved"
    # Nor the site's own name, which a moderator's reply shows when they chose none.
    async with api.store.read() as tx:
        found = await tx.find_site(site)
    assert found is not None
    data = await api.post(site, body="official", name=found.name.upper(), expect=409)
    assert data["error"]["code"] == "name_reserved"


async def test_claiming_earlier_anonymous_comments_and_giving_them_back(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    first = await api.post(site, body="before signing in", name="Anon")
    token = first["author_token"]
    await api.post(site, body="another", token=token, name="Anon")
    await api.post(site, body="not mine", name="Bob")
    signed = await sign_in(api, site, key.sign(claims(site)), author_token=token)
    assert signed["claimable"] == 2
    r = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim",
        json={"author_token": token},
        headers=bearer(signed["session"]),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"claimed": 2}
    shown = {c["body"]: c for c in (await api.thread(site))["comments"]}
    assert shown["before signing in"]["name"] == "Ada Lovelace"
    assert shown["another"]["verified"] is True
    assert shown["not mine"]["verified"] is False
    # The claimed comments are the identity's now: it edits them.
    edit = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{first['comment']['id']}",
        json={"body": "claimed and edited"},
        headers=bearer(signed["session"]),
    )
    assert edit.status_code == 200, edit.text
    # A moderator gives them back, as they were.
    moderator = Moderator(1, "m@example.org", "", {site: Role.MODERATOR})
    services = command_services(api.store, SECRET)
    given = await undo_claims(
        services, await _site(api, site), first["comment"]["id"], by=moderator
    )
    assert given == 2
    shown = {c["body"]: c for c in (await api.thread(site))["comments"]}
    assert shown["claimed and edited"]["name"] == "Anon"
    assert shown["claimed and edited"]["verified"] is False
    async with api.store.read() as tx:
        left = (
            await tx.conn.execute(select(claims_table).where(claims_table.c.site_id == site))
        ).all()
    assert left == []


async def _site(api: Api, site_id: str) -> Any:
    async with api.store.read() as tx:
        return await tx.find_site(site_id)


async def test_a_claim_needs_the_author_token_and_a_session(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    anon = await api.post(site, body="mine", name="Anon")
    signed = await sign_in(api, site, key.sign(claims(site)))
    no_session = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim", json={"author_token": anon["author_token"]}
    )
    assert no_session.status_code == 401
    wrong_token = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim",
        json={"author_token": "A" * 43},
        headers=bearer(signed["session"]),
    )
    assert wrong_token.status_code == 200 and wrong_token.json() == {"claimed": 0}
    assert (await api.thread(site))["comments"][0]["verified"] is False


async def test_first_time_moderation_counts_per_identity(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key, moderation="first-time")
    session = (await sign_in(api, site, key.sign(claims(site))))["session"]
    first = await api.post(site, body="first", token=session)
    assert first["status"] == "pending"
    async with api.store.write() as tx:
        await tx.conn.execute(
            comments.update()
            .where(comments.c.id == first["comment"]["id"])
            .values(status="approved")
        )
    again = await sign_in(api, site, key.sign(claims(site)))  # a new session, the same reader
    assert (await api.post(site, body="second", token=again["session"]))["status"] == "approved"


async def test_a_moderator_role_shows_the_badge_only_where_the_site_allows_it(api: Api) -> None:
    key = hs256_key()
    trusting = await sso_site(api, key, moderators=True, moderation="all")
    wary = await sso_site(api, key, moderation="all")
    for site, expected in ((trusting, (True, "approved")), (wary, (False, "pending"))):
        signed = await sign_in(api, site, key.sign(claims(site, role="moderator")))
        assert signed["identity"]["moderator"] is expected[0]
        post = await api.post(site, token=signed["session"])
        assert (post["comment"]["moderator"], post["status"]) == expected


async def test_erasing_my_comments_as_an_identity_erases_the_identity(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    session = (await sign_in(api, site, key.sign(claims(site, avatar="https://a.example/x.png"))))[
        "session"
    ]
    await api.post(site, body="to be erased", token=session)
    mine = await api.http.get(f"/api/v1/sites/{site}/authors/me", headers=bearer(session))
    assert [c["body"] for c in mine.json()["comments"]] == ["to be erased"]
    erased = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=bearer(session))
    assert erased.json() == {"erased": 1}
    async with api.store.read() as tx:
        conn = tx.conn
        assert (
            await conn.execute(select(identities).where(identities.c.site_id == site))
        ).all() == []
        assert (
            await conn.execute(select(identity_names).where(identity_names.c.site_id == site))
        ).all() == []
        row = (await conn.execute(select(comments).where(comments.c.site_id == site))).one()
    assert (row.body, row.author_name, row.author_avatar, row.author_hash, row.verified) == (
        "",
        None,
        None,
        None,
        False,
    )
    again = await api.post(site, token=session, expect=401)
    assert again["error"]["code"] == "session_expired"
    # The name is free again once its reader is gone.
    assert (await api.post(site, name="Ada Lovelace"))["comment"]["name"] == "Ada Lovelace"


async def test_a_banned_identity_stays_banned_in_a_new_session(api: Api) -> None:
    from server.core.models import Ban

    key = hs256_key()
    site = await sso_site(api, key)
    session = (await sign_in(api, site, key.sign(claims(site))))["session"]
    post = await api.post(site, token=session)
    async with api.store.write() as tx:
        comment = await tx.find_comment(post["comment"]["id"])
        assert comment is not None and comment.author_hash is not None
        await tx.insert_ban(Ban(0, site, comment.author_hash, None, "reject", None, 0), None)
    fresh = (await sign_in(api, site, key.sign(claims(site))))["session"]
    data = await api.post(site, token=fresh, expect=403)
    assert data["error"]["code"] == "author_banned"


async def test_the_token_stores_the_user_id_name_and_avatar_only(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    await sign_in(
        api,
        site,
        key.sign(
            claims(
                site,
                email="ada@example.org",
                phone="+44 20 7946 0000",
                avatar="https://a.example/x.png",
            )
        ),
    )
    async with api.store.read() as tx:
        row = (await tx.conn.execute(select(identities).where(identities.c.site_id == site))).one()
    stored = " ".join(str(v) for v in row)
    assert "ada@example.org" not in stored and "7946" not in stored
    assert (row.subject, row.name, row.avatar) == (
        "user-1",
        "Ada Lovelace",
        "https://a.example/x.png",
    )


async def test_policy_changes_reach_the_listing(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key, policy="sso-only")
    assert (await api.thread(site, page="fresh"))["config"]["sso"] == "sso-only"


async def test_an_erased_identity_leaves_every_replay_listing_and_feed(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    avatar = "https://avatars.example/erin-7f3a.png"
    token = key.sign(claims(site, sub="erin", name="Erin Erasable", avatar=avatar))
    session = (await sign_in(api, site, token))["session"]
    await api.post(site, body="a neighbour's comment", name="Neighbour")
    posted = await api.post(site, body="words of Erin", token=session)
    await api.http.patch(
        f"/api/v1/sites/{site}/comments/{posted['comment']['id']}",
        json={"body": "edited words of Erin"},
        headers=bearer(session),
    )
    erased = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=bearer(session))
    assert erased.json() == {"erased": 1}
    served = [
        (await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "p"})).text,
        (await api.http.get(f"/api/v1/sites/{site}/thread", params={"page": "p"})).text,
        (await api.http.get(f"/api/v1/sites/{site}/feed.atom")).text,
    ]
    for text in served:
        for secret in ("Erin", "erin-7f3a", posted["comment"]["author_key"]):
            assert secret not in text


async def test_a_session_subscribes_the_socket_to_the_readers_own_events(
    live_server: ServerProcess, backend_store: SqlStore
) -> None:
    key = hs256_key()
    async with http_client(base_url=live_server.url, timeout=30) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await sso_site(api, key, moderation="all")
        session = (await sign_in(api, site, key.sign(claims(site))))["session"]
        held = await api.post(site, body="held for review", token=session)
        assert held["status"] == "pending"
        mine = await Reader.open(live_server.ws_url, site, token=session)
        # An ended session keeps the page live; it only loses the reader's own events.
        stranger = await Reader.open(live_server.ws_url, site, token="x.y.z")
        services = command_services(backend_store, SECRET)
        email = f"mod-{site}@example.org"
        await add_moderator(services, hasher(), email, site, password=PASSWORD)
        async with client_for(api) as mod_http:
            mod = Mod(mod_http, email)
            await mod.login()
            r = await mod.act(held["comment"]["id"], "reject")
            assert r.status_code == 200, r.text
        await mine.next("comment.rejected")
        assert stranger.close_code is None
        assert not [f for f in stranger.frames if f["type"] == "comment.rejected"]
        await mine.close()
        await stranger.close()


async def test_no_anonymous_name_wears_a_check_mark(api: Api) -> None:
    site = await api.new_site()
    for name in ("Ada \u2713", "\u2714 Ada", "Ada \u2705", "Ada \u2611"):
        data = await api.post(site, body="verified, honest", name=name, expect=422)
        assert data["error"]["code"] == "name_reserved", name
    assert (await api.rows(site))["comments"] == 0


async def ended(api: Api, site: str, session: str) -> bool:
    """Whether the session has ended, within the seconds a site change takes to reach
    every process (sites are cached briefly: core/sites.py)."""
    for _ in range(100):
        r = await api.http.get(f"/api/v1/sites/{site}/authors/me", headers=bearer(session))
        if r.status_code == 401:
            return bool(r.json()["error"]["code"] == "session_expired")
        await asyncio.sleep(0.1)
    return False


async def test_sessions_end_when_what_vouched_for_them_is_withdrawn(api: Api) -> None:
    """A leaked key or a withdrawn trust must not keep working for the sessions it opened."""
    key, spare = hs256_key(), eddsa_key()
    site = await sso_site(api, key, spare, moderators=True)
    services = command_services(api.store, SECRET)

    async def session(signing: SigningKey = key) -> str:
        token = signing.sign(claims(site, role="moderator"))
        value: str = (await sign_in(api, site, token))["session"]
        return value

    badge = await session()
    assert (await api.post(site, token=badge))["comment"]["moderator"] is True
    await set_sso(services, site, moderators=False)
    assert await ended(api, site, badge)
    post = await api.post(site, body="no badge now", token=await session())
    assert post["comment"]["moderator"] is False

    before_removal = await session()
    await remove_sso_key(services, site, key.kid)
    assert await ended(api, site, before_removal)
    spared = await api.post(site, body="by the spare key", token=await session(spare))
    assert spared["comment"]["verified"] is True

    before_off = await session(spare)
    await set_sso(services, site, policy="anonymous")
    assert await ended(api, site, before_off)


async def test_hostile_headers_and_subjects_get_clean_refusals(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    secret = key.public.encode()
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"alg": "\ud800", "kid": key.kid}, claims(site)),
        ({"alg": "HS256", "kid": "\ud800"}, claims(site)),
        ({"alg": 5, "kid": key.kid}, claims(site)),
        ({"alg": "HS256", "kid": key.kid}, claims(site, sub="a\x00b")),
        ({"alg": "HS256", "kid": key.kid}, claims(site, sub="\ud800")),
        ({"alg": "HS256", "kid": key.kid}, {**claims(site), "sub": 7}),
    ]
    for header, payload in cases:
        r = await api.http.post(
            f"/api/v1/sites/{site}/sso/session", json={"token": forged(header, payload, secret)}
        )
        assert r.status_code == 401, (header, payload, r.text)
        assert r.json()["error"]["code"].startswith("sso_")


async def test_a_sign_in_token_must_be_short_lived(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    now = int(time.time())
    long_lived = key.sign(claims(site, iat=now, exp=now + 3600))
    assert await refused(api, site, long_lived) == "sso_token_too_long_lived"
    endless = forged(
        {"alg": "HS256", "kid": key.kid},
        {**claims(site), "exp": float("inf")},
        key.public.encode(),
    )
    assert await refused(api, site, endless) == "sso_invalid_claim"


async def test_avatars_on_addresses_of_the_readers_own_network_are_refused(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    for avatar in (
        "https://192.168.1.1/a.png",
        "https://[::1]/a.png",
        "https://localhost/a.png",
        "https://printer.localhost/a.png",
    ):
        token = key.sign(claims(site, avatar=avatar))
        assert await refused(api, site, token) == "sso_invalid_claim", avatar


async def test_an_erased_readers_old_session_stays_ended(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    anon = await api.post(site, body="anonymous first", name="Zed")
    signed = await sign_in(api, site, key.sign(claims(site)), author_token=anon["author_token"])
    old = signed["session"]
    claimed = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim",
        json={"author_token": anon["author_token"]},
        headers=bearer(old),
    )
    assert claimed.json() == {"claimed": 1}
    other = await api.post(site, body="someone else's", name="Bob")
    await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=bearer(old))
    flag = await api.http.post(
        f"/api/v1/sites/{site}/comments/{other['comment']['id']}/flag", headers=bearer(old)
    )
    assert flag.status_code == 401
    await sign_in(api, site, key.sign(claims(site)))  # the reader signs in again
    assert (await api.post(site, token=old, expect=401))["error"]["code"] == "session_expired"
    async with api.store.read() as tx:
        log = await tx.conn.execute(select(audit_log.c.detail).where(audit_log.c.site_id == site))
        details = " ".join(str(row.detail) for row in log)
    assert "Ada" not in details and "Lovelace" not in details


async def test_signing_out_ends_the_readers_sessions_on_the_server(api: Api) -> None:
    key = hs256_key()
    site = await sso_site(api, key)
    token = key.sign(claims(site))
    first = (await sign_in(api, site, token))["session"]
    second = (await sign_in(api, site, token))["session"]  # another tab, say
    out = await api.http.delete(f"/api/v1/sites/{site}/sso/session", headers=bearer(first))
    assert out.status_code == 200 and out.json() == {"signed_out": True}
    for session in (first, second):
        gone = await api.post(site, body="after signing out", token=session, expect=401)
        assert gone["error"]["code"] == "session_expired"
    again = (await sign_in(api, site, token))["session"]
    assert (await api.post(site, body="signed in again", token=again))["comment"]["verified"]
    anonymous = await api.http.delete(f"/api/v1/sites/{site}/sso/session")
    assert anonymous.status_code == 401


# An EC public key on a curve OpenSSL can parse the name of but not use (secp112r1).
UNSUPPORTED_CURVE = """-----BEGIN PUBLIC KEY-----
MDIwEAYHKoZIzj0CAQYFK4EEAAYDHgAEbAmG7Q71gbgSdCGfvIJZSPi1dvD507+w
SkkYpA==
-----END PUBLIC KEY-----
"""


@pytest.mark.parametrize(
    ("algorithm", "material", "code"),
    [
        ("EdDSA", UNSUPPORTED_CURVE, "invalid_public_key"),
        ("RS256", UNSUPPORTED_CURVE, "invalid_public_key"),
        ("HS256", "\0" * 40, "weak_sso_secret"),
        ("HS256", "a" * 64, "weak_sso_secret"),
        ("HS256", "short", "weak_sso_secret"),
    ],
    ids=["curve-eddsa", "curve-rs256", "nul", "repeated", "short"],
)
async def test_unusable_keys_are_refused_with_a_reason(
    api: Api, algorithm: str, material: str, code: str
) -> None:
    site = await api.new_site()
    services = command_services(api.store, SECRET)
    with pytest.raises(Invalid) as refused_key:
        await add_sso_key(services, site, kid="k", algorithm=algorithm, material=material)
    assert refused_key.value.code == code

"""Moderation modes and filters decide each comment's fate, on both databases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.core.context import command_services
from server.core.models import Filters
from server.core.sites import update_site
from tests.support.api import Api
from tests.support.config import SECRET

if TYPE_CHECKING:
    from server.core.context import Services


async def _site(api: Api, mode: str = "none", **filters: object) -> str:
    site = await api.new_site(moderation=mode)
    if filters:
        await update_site(command_services(api.store, SECRET), site, filters=Filters(**filters))  # type: ignore[arg-type]
    return site


async def test_mode_none_publishes_at_once(api: Api) -> None:
    site = await _site(api, "none")
    posted = await api.post(site, body="straight in")
    assert posted["status"] == "approved"
    assert [c["body"] for c in (await api.thread(site))["comments"]] == ["straight in"]


async def test_mode_all_holds_everything_and_publishes_nothing(api: Api) -> None:
    site = await _site(api, "all")
    first = await api.post(site, body="held")
    again = await api.post(site, body="held too", token=first["author_token"])
    assert (first["status"], again["status"]) == ("pending", "pending")
    thread = await api.thread(site)
    assert thread["comments"] == []
    assert thread["page"]["count"] == 0
    assert thread["page"]["seq"] == 0  # nothing public happened: no event either


async def test_mode_first_time_holds_until_one_is_approved(api: Api) -> None:
    from server.core.decisions import Action, decide_comment
    from server.core.sites import SiteDirectory

    site = await _site(api, "first-time")
    first = await api.post(site, body="my first")
    assert first["status"] == "pending"
    token = first["author_token"]
    second = await api.post(site, body="still waiting", token=token)
    assert second["status"] == "pending"
    stranger = await api.post(site, body="a stranger")
    assert stranger["status"] == "pending"
    svc = _svc(api)
    await decide_comment(
        svc,
        await SiteDirectory(api.store).get(site),
        first["comment"]["id"],
        Action.APPROVE,
        moderator=None,
    )
    third = await api.post(site, body="now trusted", token=token)
    assert third["status"] == "approved"
    assert (await api.post(site, body="still a stranger"))["status"] == "pending"


async def test_banned_words_are_refused(api: Api) -> None:
    site = await _site(api, banned_words=("casino", "free money"))
    before = await api.rows(site)
    for body in ("Best CASINO in town", "get free money now"):
        r = await api.http.post(f"/api/v1/sites/{site}/comments", json={"page": "p", "body": body})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "comment_rejected"
    assert await api.rows(site) == before
    assert (await api.post(site, body="casinos are a whole word away"))["status"] == "approved"


async def test_disguised_words_are_refused_or_held_as_configured(api: Api) -> None:
    site = await _site(api, banned_words=("casino",), suspect_words=("Crypto",))
    before = await api.rows(site)
    # Fullwidth, a zero-width space inside, Cyrillic es and a, mathematical bold, Hangul
    # fillers for spaces, small capitals, struck through, an accent written apart.
    for body in (
        "\uff23\uff21\uff33\uff29\uff2e\uff2f night",
        "cas\u200bino night",
        "\u0441\u0430sino night",
        "\U0001d41c\U0001d41a\U0001d42c\U0001d422\U0001d427\U0001d428",
        "best\u3164casino\u3164ever",
        "\u1d04\u1d00s\u026a\u0274\u1d0f night",
        "c\u0336a\u0336s\u0336i\u0336n\u0336o\u0336 night",
        "casino\u0308 night",
    ):
        r = await api.http.post(f"/api/v1/sites/{site}/comments", json={"page": "p", "body": body})
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "comment_rejected"
    assert await api.rows(site) == before
    held = await api.post(site, body="buy cr\u00adypto \u0441h\u0435ap")
    async with api.store.read() as tx:
        comment = await tx.find_comment(held["comment"]["id"])
    assert comment is not None
    assert comment.held_reason == "suspect word: Crypto"  # as the owner wrote it


async def test_banned_word_in_the_name_is_refused(api: Api) -> None:
    site = await _site(api, banned_words=("casino",))
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments", json={"page": "p", "body": "hello", "name": "Casino King"}
    )
    assert r.status_code == 422


async def test_suspect_words_hold_for_review_with_the_reason(api: Api) -> None:
    site = await _site(api, suspect_words=("crypto",))
    held = await api.post(site, body="Invest in crypto today")
    assert held["status"] == "pending"
    assert (await api.post(site, body="nothing odd here"))["status"] == "approved"
    async with api.store.read() as tx:
        comment = await tx.find_comment(held["comment"]["id"])
    assert comment is not None
    assert comment.held_reason == "suspect word: crypto"


async def test_more_links_than_allowed_are_held(api: Api) -> None:
    site = await _site(api, max_links=1)
    one = await api.post(site, body="see https://a.test")
    two = await api.post(site, body="see https://a.test and http://b.test/x")
    assert (one["status"], two["status"]) == ("approved", "pending")
    async with api.store.read() as tx:
        comment = await tx.find_comment(two["comment"]["id"])
    assert comment is not None
    assert comment.held_reason == "2 links (more than 1)"


async def test_enough_flags_hold_a_published_comment(api: Api) -> None:
    site = await _site(api, flag_threshold=2)
    target = (await api.post(site, body="questionable"))["comment"]["id"]
    readers = [(await api.post(site, "other", f"reader {i}"))["author_token"] for i in range(3)]
    url = f"/api/v1/sites/{site}/comments/{target}/flag"
    auth = {"Authorization": f"Bearer {readers[0]}", "X-Forwarded-For": "198.51.100.1"}
    assert (await api.http.post(url, headers=auth)).json()["flags"] == 1
    assert (await api.http.post(url, headers=auth)).json()["flags"] == 1  # once per reader
    assert [c["id"] for c in (await api.thread(site))["comments"]] == [target]
    r = await api.http.post(
        url, headers={"Authorization": f"Bearer {readers[1]}", "X-Forwarded-For": "198.51.101.1"}
    )
    assert r.json()["flags"] == 2
    thread = await api.thread(site)
    assert thread["comments"] == []
    assert thread["page"]["count"] == 0
    events = (await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "p"})).json()
    assert events["events"][-1]["type"] == "comment.deleted"


async def test_made_up_tokens_and_one_network_cannot_hide_a_comment(api: Api) -> None:
    site = await _site(api, flag_threshold=3)
    target = (await api.post(site, body="an unpopular opinion"))["comment"]["id"]
    url = f"/api/v1/sites/{site}/comments/{target}/flag"
    for i in range(3):  # tokens the server never issued count for nothing
        forged = f"{i:0>2}" + "A" * 41
        r = await api.http.post(
            url, headers={"Authorization": f"Bearer {forged}", "X-Forwarded-For": f"198.51.{i}.9"}
        )
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "invalid_token"
    counts = []
    for i in range(5):  # real readers, but all on one network: one flag
        token = (
            await api.post(
                site, "other", f"neighbour {i}", headers={"X-Forwarded-For": "198.51.100.7"}
            )
        )["author_token"]
        r = await api.http.post(
            url, headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "198.51.100.7"}
        )
        counts.append(r.json()["flags"])
    assert counts == [1, 1, 1, 1, 1]
    assert [c["id"] for c in (await api.thread(site))["comments"]] == [target]


async def test_a_moderators_reply_is_not_held_by_reader_flags(api: Api) -> None:
    site = await _site(api, flag_threshold=1)
    question = await api.post(site, body="a question")
    from server.core.comments import Draft, post_comment

    async with api.store.read() as tx:
        site_row = await tx.find_site(site)
    assert site_row is not None
    answer = await post_comment(
        _svc(api),
        site_row,
        Draft(page="p", body="the official answer", parent=question["comment"]["id"]),
        token=None,
        client_ip="192.0.2.1",
        moderator=True,
        name_override="Mod",
    )
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments/{answer.comment.id}/flag",
        headers={"X-Forwarded-For": "198.51.100.70"},
    )
    assert r.json()["flags"] == 1
    replies = (await api.thread(site))["comments"][0]["replies"]
    assert [x["body"] for x in replies] == ["the official answer"]


async def test_flagging_a_held_comment_answers_as_if_it_did_not_exist(api: Api) -> None:
    site = await _site(api, "all")
    held = (await api.post(site, body="waiting for review"))["comment"]["id"]
    r = await api.http.post(f"/api/v1/sites/{site}/comments/{held}/flag")
    missing = await api.http.post(f"/api/v1/sites/{site}/comments/999999999/flag")
    assert (
        (r.status_code, r.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    )


async def test_flagging_a_missing_comment_is_404(api: Api) -> None:
    site = await _site(api)
    r = await api.http.post(f"/api/v1/sites/{site}/comments/999999999/flag")
    assert r.status_code == 404


def _svc(api: Api) -> Services:
    from server.broker.memory import MemoryBroker
    from server.core.authors import AuthorTokens
    from server.core.context import Limits, Services
    from tests.core.test_decisions import Recorder
    from tests.support.config import SECRET

    return Services(
        store=api.store,
        publisher=Recorder(),
        limiter=MemoryBroker("t"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(min_submit_ms=0),
    )


async def test_a_reader_takes_back_their_own_flag_and_nobody_elses(api: Api) -> None:
    site = await _site(api, flag_threshold=3)
    target = (await api.post(site, body="said in haste"))["comment"]["id"]
    url = f"/api/v1/sites/{site}/comments/{target}/flag"
    ada = (await api.post(site, "other", "Ada's own"))["author_token"]
    as_ada = {"Authorization": f"Bearer {ada}", "X-Forwarded-For": "198.51.100.1"}
    elsewhere = {"X-Forwarded-For": "198.51.101.1"}
    flagged = (await api.http.post(url, headers=as_ada)).json()
    assert (flagged["flagged"], flagged["flags"]) == (True, 1)
    assert (await api.http.post(url, headers=elsewhere)).json()["flags"] == 2

    async def undo(token: str | None, headers: dict[str, str]) -> Any:
        params = {"undo": token} if token is not None else {}
        return await api.http.delete(url, params=params, headers=headers)

    # Ada's undo token is hers alone: not from another network, not without her token,
    # and nothing forged or missing counts.
    for token, headers in [
        (flagged["undo"], elsewhere),
        (flagged["undo"], {"X-Forwarded-For": "198.51.100.1"}),
        (flagged["undo"], {**as_ada, "X-Forwarded-For": "198.51.102.1"}),
        ("1700000000000." + "0" * 32, as_ada),
        ("", as_ada),
        ("x", as_ada),
    ]:
        r = await undo(token, headers)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_flag")
    r = await undo(None, as_ada)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "missing_undo")
    assert await _flag_rows(api, target) == 3  # two networks and Ada's token: untouched
    r = await undo(flagged["undo"], as_ada)
    assert (r.status_code, r.json()) == (200, {"flagged": False, "flags": 1})
    assert (await undo(flagged["undo"], as_ada)).json()["flags"] == 1  # already gone
    again = (await api.http.post(url, headers=as_ada)).json()
    assert again["flags"] == 2  # she may flag it again
    # A neighbour on Ada's network adds no flag, so taking theirs back removes none of hers.
    neighbour = {"X-Forwarded-For": "198.51.100.77"}
    theirs = (await api.http.post(url, headers=neighbour)).json()
    assert theirs["flags"] == 2
    assert (await undo(theirs["undo"], neighbour)).json()["flags"] == 2


async def test_taking_back_a_flag_leaves_a_held_comment_held(api: Api) -> None:
    site = await _site(api, flag_threshold=1)
    target = (await api.post(site, body="borderline"))["comment"]["id"]
    url = f"/api/v1/sites/{site}/comments/{target}/flag"
    reader = {"X-Forwarded-For": "198.51.100.9"}
    flagged = (await api.http.post(url, headers=reader)).json()
    assert (await api.thread(site))["comments"] == []
    r = await api.http.delete(url, params={"undo": flagged["undo"]}, headers=reader)
    assert r.json() == {"flagged": False, "flags": 0}
    assert (await api.thread(site))["comments"] == []  # a moderator decides
    async with api.store.read() as tx:
        held = await tx.find_comment(target)
    assert held is not None and (held.status.value, held.flags) == ("pending", 0)


async def _flag_rows(api: Api, comment_id: int) -> int:
    from sqlalchemy import func, select

    from server.store.schema import comment_flags

    async with api.store.read() as tx:
        n: int = (
            await tx.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(comment_flags.c.comment_id == comment_id)
            )
        ).scalar_one()
    return n

"""Authors edit and delete their own comments with their token, inside the edit window."""

from __future__ import annotations

from tests.support.api import Api, Clock


async def test_author_edits_own_comment_and_it_shows_edited(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="frist")
    token, cid = posted["author_token"], posted["comment"]["id"]
    r = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{cid}",
        json={"body": "first!"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["comment"]["body"] == "first!"
    assert r.json()["comment"]["edited_at"] is not None
    listed = (await api.thread(site))["comments"][0]
    assert listed["body"] == "first!"
    assert listed["edited_at"] is not None
    events = (await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "p"})).json()
    assert [e["type"] for e in events["events"]] == ["comment.created", "comment.edited"]
    assert [e["seq"] for e in events["events"]] == [1, 2]


async def test_wrong_token_cannot_edit_or_delete(api: Api) -> None:
    site = await api.new_site()
    mine = await api.post(site, body="mine")
    theirs = await api.post(site, body="theirs")
    url = f"/api/v1/sites/{site}/comments/{theirs['comment']['id']}"
    auth = {"Authorization": f"Bearer {mine['author_token']}"}
    before = await api.rows(site)
    r = await api.http.patch(url, json={"body": "hijacked"}, headers=auth)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_author"
    r = await api.http.delete(url, headers=auth)
    assert r.status_code == 403
    assert (await api.thread(site))["comments"][0]["body"] == "theirs"
    assert await api.rows(site) == before


async def test_edit_without_token_is_401(api: Api) -> None:
    site = await api.new_site()
    cid = (await api.post(site))["comment"]["id"]
    r = await api.http.patch(f"/api/v1/sites/{site}/comments/{cid}", json={"body": "x"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_required"


async def test_edit_with_bad_body_is_refused(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="keep me")
    r = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{posted['comment']['id']}",
        json={"body": ""},
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert r.status_code == 422
    assert (await api.thread(site))["comments"][0]["body"] == "keep me"


async def test_edit_of_unknown_comment_is_404(api: Api) -> None:
    site = await api.new_site()
    token = (await api.post(site))["author_token"]
    r = await api.http.patch(
        f"/api/v1/sites/{site}/comments/987654321",
        json={"body": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 404


async def test_edit_window_closes(asgi_api: Api, time_travel: Clock) -> None:
    site = await asgi_api.new_site()
    posted = await asgi_api.post(site, body="original")
    url = f"/api/v1/sites/{site}/comments/{posted['comment']['id']}"
    auth = {"Authorization": f"Bearer {posted['author_token']}"}
    time_travel.offset = 899
    r = await asgi_api.http.patch(url, json={"body": "still in time"}, headers=auth)
    assert r.status_code == 200
    time_travel.offset = 901
    before = await asgi_api.rows(site)
    r = await asgi_api.http.patch(url, json={"body": "too late"}, headers=auth)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "edit_window_closed"
    r = await asgi_api.http.delete(url, headers=auth)
    assert r.status_code == 403
    assert (await asgi_api.thread(site))["comments"][0]["body"] == "still in time"
    assert await asgi_api.rows(site) == before


async def test_delete_removes_text_and_updates_count(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="regret")
    cid = posted["comment"]["id"]
    r = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{cid}",
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert r.status_code == 200
    assert r.json()["comment"]["status"] == "deleted"
    assert r.json()["comment"]["body"] == ""
    thread = await api.thread(site)
    assert thread["comments"] == []
    assert thread["page"]["count"] == 0
    events = (await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "p"})).json()
    assert events["events"][-1]["type"] == "comment.deleted"
    assert events["events"][-1]["data"]["count"] == 0


async def test_deleted_comment_with_replies_stays_as_tombstone(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="parent")
    cid = posted["comment"]["id"]
    await api.post(site, body="a reply", parent=cid)
    await api.http.delete(
        f"/api/v1/sites/{site}/comments/{cid}",
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    thread = await api.thread(site)
    tomb = thread["comments"][0]
    assert tomb["status"] == "deleted"
    assert tomb["body"] == "" and tomb["name"] is None
    assert [r["body"] for r in tomb["replies"]] == ["a reply"]
    assert thread["page"]["count"] == 1


async def test_deleting_a_reply_lowers_its_parent_reply_count(api: Api) -> None:
    site = await api.new_site()
    top = (await api.post(site, body="top"))["comment"]["id"]
    reply = await api.post(site, body="oops", parent=top)
    await api.http.delete(
        f"/api/v1/sites/{site}/comments/{reply['comment']['id']}",
        headers={"Authorization": f"Bearer {reply['author_token']}"},
    )
    listed = (await api.thread(site))["comments"][0]
    assert listed["reply_count"] == 0
    assert listed["replies"] == []


async def test_deleted_comment_cannot_be_edited(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="gone soon")
    url = f"/api/v1/sites/{site}/comments/{posted['comment']['id']}"
    auth = {"Authorization": f"Bearer {posted['author_token']}"}
    await api.http.delete(url, headers=auth)
    r = await api.http.patch(url, json={"body": "back"}, headers=auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "comment_not_editable"


async def test_anothers_held_comment_answers_like_a_missing_one(api: Api) -> None:
    site = await api.new_site(moderation="all")
    held = await api.post(site, body="waiting for review")
    stranger = (await api.post(site, "elsewhere", "mine"))["author_token"]
    auth = {"Authorization": f"Bearer {stranger}"}
    for method in ("PATCH", "DELETE"):
        on_held = await api.http.request(
            method,
            f"/api/v1/sites/{site}/comments/{held['comment']['id']}",
            headers=auth,
            json={"body": "x"} if method == "PATCH" else None,
        )
        on_nothing = await api.http.request(
            method,
            f"/api/v1/sites/{site}/comments/999999999",
            headers=auth,
            json={"body": "x"} if method == "PATCH" else None,
        )
        assert (on_held.status_code, on_held.json()) == (404, on_nothing.json())


async def test_edits_are_rate_limited_per_network(api: Api) -> None:
    site = await api.new_site()
    mine = await api.post(site, body="version 0")
    auth = {"Authorization": f"Bearer {mine['author_token']}", "X-Forwarded-For": "198.51.100.123"}
    url = f"/api/v1/sites/{site}/comments/{mine['comment']['id']}"
    statuses = [
        (await api.http.patch(url, headers=auth, json={"body": f"version {i}"})).status_code
        for i in range(1, 22)
    ]
    assert statuses == [200] * 20 + [429]

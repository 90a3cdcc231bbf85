"""Working the queue: tabs, decisions, conflicts, bulk, search, replies, edits, bans, audit."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import func, select

from server.core.context import command_services
from server.core.sites import add_site
from server.store.schema import audit_log, comments
from tests.support.api import ORIGIN, Api
from tests.support.config import SECRET


async def test_held_comment_is_in_pending_with_its_reason(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    parent = (await api.post(site, "post-1", "The parent"))["comment"]["id"]
    async with make_mod(site) as mod:
        await mod.act(parent, "approve")
        held = (
            await api.post(
                site,
                "post-1",
                "A held reply",
                name="Reader",
                parent=parent,
                url="http://blog.test:8080/post-1",
                title="Post one",
            )
        )["comment"]["id"]
        html = await mod.queue()
        item = html[html.index(f'id="item-{held}"') :]
        item = item[: item.index("</li>")]
        assert "A held reply" in item
        assert "Reader" in item
        assert "Held: moderation mode: all" in item
        assert "In reply to" in item and "The parent" in item
        assert 'href="http://blog.test:8080/post-1"' in item and "Post one" in item
        assert re.search(r'data-count="pending">1<', html)


async def test_approve_publishes_and_audits(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site, body="worth it"))["comment"]["id"]
    async with make_mod(site) as mod:
        r = await mod.act(cid, "approve")
        assert r.status_code == 200
        assert r.json() == {"id": cid, "status": "approved"}
        assert [c["body"] for c in (await api.thread(site))["comments"]] == ["worth it"]
        audit = (await mod.http.get("/moderate/audit")).text
        assert mod.email in audit and "approve" in audit


async def test_acting_on_a_handled_item_is_a_clear_409(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site))["comment"]["id"]
    async with make_mod(site) as one, make_mod(site) as two:
        assert (await one.act(cid, "reject")).status_code == 200
        late = await two.act(cid, "approve")
        assert late.status_code == 409
        assert late.json()["error"]["code"] == "already_handled"
        assert late.json()["error"]["message"] == (
            f"{one.email} already changed this comment to rejected; reload to see it."
        )
        form = await two.http.post(
            f"/moderate/comments/{cid}/approve", data={"csrf": two.csrf, "expected": "pending"}
        )
        assert form.status_code == 409
        assert "Already handled" in form.text
        assert f"{one.email} already changed this comment to rejected" in form.text
        german = await two.http.post(
            f"/moderate/comments/{cid}/spam",
            data={"csrf": two.csrf, "expected": "pending"},
            headers={"Accept-Language": "de"},
        )
        assert f"{one.email} hat diesen Kommentar schon auf abgelehnt gesetzt" in german.text
        # Named by the display name they chose, when they chose one.
        r = await one.http.post("/moderate/account", data={"csrf": one.csrf, "display_name": "Ada"})
        assert r.status_code == 303
        again = await two.act(cid, "approve")
        assert again.json()["error"]["message"].startswith("Ada already changed")
    assert (await api.thread(site))["comments"] == []


async def test_a_409_after_an_authors_change_names_no_moderator(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="Mine to delete")
    async with make_mod(site) as mod:
        r = await api.http.delete(
            f"/api/v1/sites/{site}/comments/{posted['comment']['id']}",
            headers={"Authorization": f"Bearer {posted['author_token']}"},
        )
        assert r.status_code in (200, 204), r.text
        late = await mod.act(posted["comment"]["id"], "reject", expected="approved")
    assert late.status_code == 409
    assert late.json()["error"]["message"] == (
        "This comment was changed to deleted meanwhile; reload to see it."
    )


async def test_two_moderators_on_the_same_100_items_decide_each_once(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site(moderation="all")
    ids = [(await api.post(site, body=f"item {i}"))["comment"]["id"] for i in range(100)]
    async with make_mod(site) as alice, make_mod(site) as bob:
        results = await asyncio.gather(
            *(alice.act(i, "approve") for i in ids), *(bob.act(i, "reject") for i in ids)
        )
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 100
    assert statuses.count(409) == 100
    for i in ids:  # exactly one of the two won each item
        assert sorted(
            [results[ids.index(i)].status_code, results[100 + ids.index(i)].status_code]
        ) == [200, 409]
    async with api.store.read() as tx:
        decided = (
            await tx.conn.execute(
                select(func.count())
                .select_from(comments)
                .where(comments.c.site_id == site, comments.c.status.in_(["approved", "rejected"]))
            )
        ).scalar_one()
        audits = (
            await tx.conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.site_id == site)
            )
        ).scalar_one()
    assert (decided, audits) == (100, 100)
    approved = sum(1 for r in results[:100] if r.status_code == 200)
    assert (await api.thread(site))["page"]["count"] == approved


async def test_bulk_decides_the_selection(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    ids = [(await api.post(site, body=f"spammy {i}"))["comment"]["id"] for i in range(5)]
    async with make_mod(site) as mod:
        await mod.act(ids[0], "approve")  # handled before the bulk arrives
        data = {
            "csrf": mod.csrf,
            "action": "spam",
            "ids": [str(i) for i in ids],
            **{f"s{i}": "pending" for i in ids},
        }
        r = await mod.http.post("/moderate/bulk", data=data, headers={"Accept": "application/json"})
        assert r.status_code == 200
        assert r.json()["decided"] == ids[1:]
        assert [x["id"] for x in r.json()["refused"]] == [ids[0]]
        spam_tab = await mod.queue(tab="spam")
        assert all(f"item-{i}" in spam_tab for i in ids[1:])
        form = await mod.http.post("/moderate/bulk", data={**data, "action": "spam"})
        assert form.status_code == 303  # plain form: back to the queue with a message


async def test_search_by_text_author_and_page_and_paging(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    await api.post(site, "recipes/soup", "Too much salt", name="Chef")
    await api.post(site, "news/today", "Great 100%_scoop", name="Reporter")
    for i in range(30):
        await api.post(site, "bulk", f"filler {i}")
    async with make_mod(site) as mod:
        assert "Too much salt" in await mod.queue(q="salt")
        only_chef = await mod.queue(q="chef")
        assert "Too much salt" in only_chef and "Great 100%" not in only_chef
        assert "Great 100%_scoop" in await mod.queue(q="news/today")
        assert "Too much salt" not in await mod.queue(q="100%_")  # LIKE wildcards are literal
        first = await mod.queue()
        assert first.count('class="item"') == 25 and "Next page" in first
        second = await mod.queue(page="2")
        assert second.count('class="item"') == 7


async def test_moderator_reply_carries_the_badge(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    cid = (await api.post(site, body="A question?"))["comment"]["id"]
    async with make_mod(site) as mod:
        r = await mod.act(cid, "reply", expected=None, body="An official answer.")
        assert r.status_code == 200, r.text
    reply = (await api.thread(site))["comments"][0]["replies"][0]
    assert reply["body"] == "An official answer."
    assert reply["moderator"] is True


async def test_moderator_replies_never_show_the_email_address(api: Api, make_mod: Any) -> None:
    """Signed with the moderator's display name, else the site's name: never the e-mail
    address's local part (the old fallback), which readers must not learn."""
    site = await api.new_site()
    named = site + "-named"
    await add_site(
        command_services(api.store, SECRET), named, origins=[ORIGIN], name="  Ada's   Blog "
    )
    cid = (await api.post(site, body="A question?"))["comment"]["id"]
    other = (await api.post(named, body="Another question?"))["comment"]["id"]
    async with make_mod(site, named) as mod:
        assert (await mod.act(cid, "reply", expected=None, body="Unsigned.")).status_code == 200
        assert (
            await mod.act(other, "reply", expected=None, body="By the blog.")
        ).status_code == 200
        account = await mod.http.get("/moderate/account")
        assert account.status_code == 200 and "Display name" in account.text
        r = await mod.http.post(
            "/moderate/account", data={"csrf": mod.csrf, "display_name": "  Ada  Admin "}
        )
        assert r.status_code == 303
        assert "signed Ada Admin" in (await mod.http.get("/moderate/account")).text
        assert (await mod.act(cid, "reply", expected=None, body="Signed.")).status_code == 200
        refused = await mod.http.post(
            "/moderate/account",
            data={"csrf": mod.csrf, "display_name": "x" * 51},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 422
        assert "Signed Ada Admin." in await mod.queue(tab="approved")
    replies = (await api.thread(site))["comments"][0]["replies"]
    assert [(r["body"], r["name"]) for r in replies] == [
        ("Unsigned.", site),
        ("Signed.", "Ada Admin"),
    ]
    elsewhere = (await api.thread(named))["comments"][0]["replies"]
    assert [(r["body"], r["name"]) for r in elsewhere] == [("By the blog.", "Ada's Blog")]
    local_part = mod.email.split("@")[0]
    assert all(local_part not in str(r) for r in replies + elsewhere)


async def test_moderator_edits_any_comment_and_it_shows_edited(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    cid = (await api.post(site, body="Contact me at 555-0100"))["comment"]["id"]
    async with make_mod(site) as mod:
        r = await mod.act(cid, "edit", expected=None, body="Contact me [removed]")
        assert r.status_code == 200
    listed = (await api.thread(site))["comments"][0]
    assert listed["body"] == "Contact me [removed]"
    assert listed["edited_at"] is not None


async def test_banned_author_is_refused_or_held(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    troll = await api.post(site, body="trolling")
    other = await api.post(site, body="meh")
    async with make_mod(site) as mod:
        assert (
            await mod.act(troll["comment"]["id"], "ban", expected=None, mode="reject")
        ).status_code == 200
        assert (
            await mod.act(other["comment"]["id"], "ban", expected=None, mode="hold")
        ).status_code == 200
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "p", "body": "x"},
        headers={"Authorization": f"Bearer {troll['author_token']}"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "author_banned"
    held = await api.post(site, body="again", token=other["author_token"])
    assert held["status"] == "pending"


async def test_owner_changes_settings_and_others_cannot(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    form = {
        "origins": "https://blog.test\nhttps://www.blog.test",
        "moderation": "all",
        "banned_words": "casino",
        "suspect_words": "",
        "max_links": "3",
        "flag_threshold": "2",
        "webhook_url": "",
        "emails": "",
    }
    async with make_mod(site) as plain:
        r = await plain.http.post(f"/moderate/sites/{site}", data={"csrf": plain.csrf, **form})
        assert r.status_code == 403
    async with make_mod(site, owner=True) as owner:
        r = await owner.http.post(
            f"/moderate/sites/{site}",
            data={"csrf": owner.csrf, **form},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 200, r.text
        page = (await owner.http.get(f"/moderate/sites/{site}")).text
        assert "https://www.blog.test" in page and 'value="all" selected' in page
    assert (await api.post(site, body="hi"))["status"] == "pending"


async def test_audit_log_filters(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    a = (await api.post(site, body="a"))["comment"]["id"]
    b = (await api.post(site, body="b"))["comment"]["id"]
    async with make_mod(site) as mod:
        await mod.act(a, "approve")
        await mod.act(b, "spam")
        spam_only = (await mod.http.get("/moderate/audit", params={"action": "spam"})).text
        assert "<td>spam</td>" in spam_only and "<td>approve</td>" not in spam_only
        by_comment = (await mod.http.get("/moderate/audit", params={"comment": str(a)})).text
        assert f">#{a}</a>" in by_comment and f">#{b}</a>" not in by_comment


def _versions(html: str, comment_id: int) -> tuple[str, str]:
    """The version the item's own forms and the bulk form carry for ``comment_id``."""
    item = html[html.index(f'id="item-{comment_id}"') :]
    item = item[: item.index("</li>")]
    own = re.search(r'name="version" value="([0-9a-f]+)"', item)
    bulk = re.search(rf'name="v{comment_id}" value="([0-9a-f]+)"', item)
    assert own is not None and bulk is not None
    return own.group(1), bulk.group(1)


async def test_approving_a_text_edited_since_it_was_shown_is_a_409(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    posted = await api.post(site, body="A harmless remark.")
    cid, token = posted["comment"]["id"], posted["author_token"]
    async with make_mod(site) as mod:
        seen, in_bulk = _versions(await mod.queue(), cid)
        assert seen == in_bulk
        switched = await api.http.patch(
            f"/api/v1/sites/{site}/comments/{cid}",
            json={"body": "Buy cheap pills at spam.example"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert switched.status_code == 200
        stale = await mod.act(cid, "approve", version=seen)
        assert stale.status_code == 409
        assert stale.json()["error"]["code"] == "comment_changed"
        bulk = await mod.http.post(
            "/moderate/bulk",
            data={
                "csrf": mod.csrf,
                "action": "approve",
                "ids": str(cid),
                f"s{cid}": "pending",
                f"v{cid}": seen,
            },
            headers={"Accept": "application/json"},
        )
        assert bulk.json()["refused"][0]["code"] == "comment_changed"
        assert (await api.thread(site))["comments"] == []
        fresh, _ = _versions(await mod.queue(), cid)
        assert fresh != seen
        assert (await mod.act(cid, "approve", version=fresh)).status_code == 200
    assert [c["body"] for c in (await api.thread(site))["comments"]] == [
        "Buy cheap pills at spam.example"
    ]


def item_html(html: str, comment_id: int) -> str:
    item = html[html.index(f'id="item-{comment_id}"') :]
    return item[: item.index("</li>")]


async def test_the_approved_tab_offers_no_approve_and_drops_stale_held_reasons(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site, body="Held, then approved"))["comment"]["id"]
    async with make_mod(site) as mod:
        assert "Held: moderation mode: all" in item_html(await mod.queue(), cid)
        assert (await mod.act(cid, "approve")).status_code == 200
        html = await mod.queue(tab="approved")
        item = item_html(html, cid)
        assert f"/comments/{cid}/approve" not in item
        assert f"/comments/{cid}/reject" in item and f"/comments/{cid}/delete" in item
        assert "Held:" not in item and "moderation mode" not in item
        bulk = html[html.index('id="bulk"') : html.index("</form>", html.index('id="bulk"'))]
        assert 'value="approve"' not in bulk and 'value="reject"' in bulk
        flagged = await api.http.post(f"/api/v1/sites/{site}/comments/{cid}/flag")
        assert flagged.status_code == 200, flagged.text
        item = item_html(await mod.queue(tab="flagged"), cid)
        assert "Held:" not in item and "Flagged by 1 reader" in item
        assert f"/comments/{cid}/approve" in item and "Dismiss flags" in item
        assert (await mod.act(cid, "approve", expected="approved")).status_code == 200
        assert f'id="item-{cid}"' not in await mod.queue(tab="flagged")
        assert (await mod.act(cid, "reject", expected="approved")).status_code == 200
        html = await mod.queue(tab="rejected")
        assert "Held:" not in item_html(html, cid)  # approval answered the old reason
        assert f"/comments/{cid}/approve" in item_html(html, cid)
        assert f"/comments/{cid}/reject" not in item_html(html, cid)


async def test_audit_entries_link_to_their_comments_page_with_its_history(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site, body="Has a history"))["comment"]["id"]
    async with make_mod(site) as mod, make_mod(await api.new_site()) as stranger:
        assert (await mod.act(cid, "approve")).status_code == 200
        assert (
            await mod.act(cid, "edit", expected=None, body="Has a history, edited")
        ).status_code == 200
        audit = (await mod.http.get("/moderate/audit")).text
        assert f'<a href="/moderate/comments/{cid}">#{cid}</a>' in audit
        page = await mod.http.get(f"/moderate/comments/{cid}")
        assert page.status_code == 200
        assert "Has a history, edited" in page.text
        history = page.text[page.text.index("<h2>History</h2>") :]
        assert history.index(">edit<") < history.index(">approve<")  # newest first
        assert mod.email in history
        assert f"/moderate/comments/{cid}/reject" in page.text  # its actions are there
        assert 'form="bulk"' not in page.text
        r = await mod.act(cid, "reject", expected="approved", return_to=f"/moderate/comments/{cid}")
        assert r.status_code == 200
        assert (await stranger.http.get(f"/moderate/comments/{cid}")).status_code == 404
        assert (await mod.http.get("/moderate/comments/99999999")).status_code == 404


async def test_delete_asks_first_and_the_deleted_tab_restores(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    cid = (await api.post(site, body="Deleted by mistake"))["comment"]["id"]
    other = (await api.post(site, body="Also deleted"))["comment"]["id"]
    async with make_mod(site) as mod:
        asked = await mod.http.post(
            f"/moderate/comments/{cid}/delete",
            data={"csrf": mod.csrf, "expected": "approved", "return_to": "/moderate?tab=approved"},
        )
        assert asked.status_code == 200
        assert "Delete 1 comment?" in asked.text and "Deleted by mistake" in asked.text
        assert '<input type="hidden" name="confirm" value="1">' in asked.text
        assert '<input type="hidden" name="expected" value="approved">' in asked.text
        assert "can restore it from the Deleted tab" in asked.text
        json = await mod.act(cid, "delete", expected="approved")
        assert (json.status_code, json.json()["error"]["code"]) == (422, "confirm_delete")
        assert len((await api.thread(site))["comments"]) == 2  # nothing deleted yet
        bulk = await mod.http.post(
            "/moderate/bulk",
            data={
                "csrf": mod.csrf,
                "action": "delete",
                "ids": [str(cid), str(other)],
                f"s{cid}": "approved",
                f"s{other}": "approved",
            },
        )
        assert bulk.status_code == 200 and "Delete 2 comments?" in bulk.text
        assert f'name="ids" value="{other}"' in bulk.text
        confirmed = await mod.http.post(
            f"/moderate/comments/{cid}/delete",
            data={"csrf": mod.csrf, "expected": "approved", "confirm": "1"},
        )
        assert confirmed.status_code == 303
        assert [c["body"] for c in (await api.thread(site))["comments"]] == ["Also deleted"]
        html = await mod.queue(tab="deleted")
        assert re.search(r'data-count="deleted">1<', html)
        item = item_html(html, cid)
        assert "Deleted by mistake" in item and "can be restored until" in item
        assert f"/comments/{cid}/restore" in item and f"/comments/{cid}/approve" not in item
        r = await mod.act(cid, "restore", expected="deleted")
        assert r.json() == {"id": cid, "status": "approved"}
        assert sorted(c["body"] for c in (await api.thread(site))["comments"]) == [
            "Also deleted",
            "Deleted by mistake",
        ]
        assert f'id="item-{cid}"' not in await mod.queue(tab="deleted")
        again = await mod.act(cid, "restore", expected="deleted")
        assert again.status_code == 409
        assert again.json()["error"]["message"].startswith(f"{mod.email} already changed")

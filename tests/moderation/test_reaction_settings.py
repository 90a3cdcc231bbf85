"""Owners choose a site's reactions (settings page and command line); moderators see each
comment's reaction totals in the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.core.models import Comment, Page, Status
from server.core.queue import QueueItem
from tests.support.api import Api
from tests.support.config import env_for
from tests.support.db import Databases
from tests.test_cli import run

SETTINGS = {
    "origins": "http://blog.test:8080",
    "moderation": "none",
    "banned_words": "",
    "suspect_words": "",
    "max_links": "2",
    "flag_threshold": "3",
    "webhook_url": "",
    "emails": "",
}


async def test_owner_chooses_emoji_reactions_on_the_settings_page(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    async with make_mod(site, owner=True) as owner:
        page = (await owner.http.get(f"/moderate/sites/{site}")).text
        assert 'value="updown" selected' in page and 'name="reaction_emoji"' in page
        refused = await owner.http.post(
            f"/moderate/sites/{site}",
            data={"csrf": owner.csrf, **SETTINGS, "reactions": "emoji", "reaction_emoji": "👍 x"},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_reactions"
        saved = await owner.http.post(
            f"/moderate/sites/{site}",
            data={"csrf": owner.csrf, **SETTINGS, "reactions": "emoji", "reaction_emoji": "👍, 🎉"},
            headers={"Accept": "application/json"},
        )
        assert saved.status_code == 200, saved.text
        page = (await owner.http.get(f"/moderate/sites/{site}")).text
        assert 'value="emoji" selected' in page and 'value="👍 🎉"' in page
        # A form without the field (an older page) leaves the reactions as they are.
        kept = await owner.http.post(
            f"/moderate/sites/{site}",
            data={"csrf": owner.csrf, **SETTINGS},
            headers={"Accept": "application/json"},
        )
        assert kept.status_code == 200
    async with api.store.read() as tx:
        stored = await tx.find_site(site)
    assert stored is not None and stored.reactions.choices == ("👍", "🎉")


async def test_queue_items_show_reaction_totals(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="a popular remark")
    target = posted["comment"]["id"]
    for i, reaction in enumerate(("up", "up", "down")):
        r = await api.http.put(
            f"/api/v1/sites/{site}/comments/{target}/reaction",
            json={"reaction": reaction},
            headers={"X-Forwarded-For": f"198.51.{90 + i}.4"},
        )
        assert r.status_code == 200, r.text
    async with make_mod(site) as mod:
        r = await mod.http.get(f"/moderate/comments/{target}")
        assert r.status_code == 200
        assert "\u25b2 2 \u25bc 1" in r.text


def test_queue_item_view_carries_the_totals() -> None:
    comment = Comment(
        id=1,
        site_id="s",
        page_id=1,
        parent_id=None,
        reply_to_id=None,
        author_name=None,
        author_hash=None,
        body="b",
        status=Status.PENDING,
        moderator=False,
        created_at=0,
        edited_at=None,
        reaction_counts=(("👍", 4), ("🎉", 1)),
    )
    item = QueueItem(comment, Page(1, "s", "p", None, None, 0, 0), None)
    assert item.view()["reactions"] == "👍 4 🎉 1"
    assert QueueItem(comment.tombstone(), item.page, None).view()["reactions"] == ""


async def test_cli_sets_a_sites_reactions(databases: Databases, tmp_path: Path) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    assert run(env, "site", "add", "blog", "--origin", "https://blog.test").returncode == 0
    updated = run(env, "site", "update", "blog", "--reactions", "emoji:👍,❤️,😂")
    assert updated.returncode == 0, updated.stderr
    assert "reactions 👍 ❤️ 😂" in updated.stdout
    assert "reactions up" in run(env, "site", "update", "blog", "--reactions", "upvote").stdout
    refused = run(env, "site", "update", "blog", "--reactions", "emoji:👍👍")
    assert refused.returncode != 0
    assert "is not one emoji" in refused.stderr
    assert "reactions off" in run(env, "site", "update", "blog", "--reactions", "off").stdout

"""Erasure means erasure: after an author erases their data, nothing they wrote or called
themselves is reachable anywhere, across two processes, with readers live and resuming."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from tests.support.config import SECRET
from tests.support.live import Pair
from tests.support.moderation import PASSWORD, Mod
from tests.support.net import http_client
from tests.support.ws import Reader

pytestmark = pytest.mark.slow


def _id(posted: dict[str, Any]) -> int:
    comment_id: int = posted["comment"]["id"]
    return comment_id


async def test_an_erased_author_is_gone_from_every_endpoint_replay_cache_and_log(
    pair: Pair,
) -> None:
    site = await pair.site()
    tag = uuid.uuid4().hex[:10]
    name = f"Erin Erasable {tag}"
    secrets = [
        name,
        f"first words {tag}",
        f"words before the edit {tag}",
        f"words after the edit {tag}",
        f"a reply on the other page {tag}",
    ]
    a, b = pair.a, pair.b
    api = pair.http
    base = f"/api/v1/sites/{site}"

    # Readers on both pages from the start (each process keeps their pages' recent frames),
    # and someone else's comments on both, so the pages and the thread stay.
    watch_a = await Reader.open(a.ws_url, site, "page-a", seq=0)
    watch_b = await Reader.open(b.ws_url, site, "page-b", seq=0)
    await pair.post(a, site, "page-a", "a neighbour's comment on page A")
    other_b = await pair.post(b, site, "page-b", "a neighbour's comment on page B")

    # The author posts on page A (through A), replies on page B (through B), edits, is flagged.
    first = await pair.post(a, site, "page-a", secrets[1], name=name)
    token = str(first["author_token"])
    auth = {"Authorization": f"Bearer {token}"}
    second = await api.post(
        f"{a.url}{base}/comments",
        headers=auth,
        json={"page": "page-a", "body": secrets[2], "name": name},
    )
    assert second.status_code == 201
    edited = await api.patch(
        f"{a.url}{base}/comments/{second.json()['comment']['id']}",
        headers=auth,
        json={"body": secrets[3]},
    )
    assert edited.status_code == 200
    reply = await api.post(
        f"{b.url}{base}/comments",
        headers=auth,
        json={"page": "page-b", "body": secrets[4], "name": name, "parent": _id(other_b)},
    )
    assert reply.status_code == 201
    flagged = await api.post(
        f"{b.url}{base}/comments/{_id(first)}/flag", headers={"X-Forwarded-For": "198.51.100.99"}
    )
    assert flagged.status_code == 200
    await watch_a.until_seq(4)  # neighbour, first, second, edit
    await watch_b.until_seq(2)  # neighbour, reply

    # Both processes hold both pages' first pages in their caches.
    for server in (a, b):
        for page in ("page-a", "page-b"):
            for order in ("newest", "oldest"):
                listed = await api.get(
                    f"{server.url}{base}/thread", params={"page": page, "order": order}
                )
                assert listed.status_code == 200

    erased = await api.delete(f"{a.url}{base}/authors/me", headers=auth)
    assert erased.json() == {"erased": 3}
    await watch_a.until_seq(6)  # two deletions on page A
    await watch_b.until_seq(3)  # one on page B

    owner_email = f"owner-{site}@example.com"
    await add_moderator(
        command_services(pair.store, SECRET),
        hasher("test"),
        owner_email,
        site,
        password=PASSWORD,
        owner=True,
    )
    seen: list[str] = []
    async with http_client(base_url=b.url, timeout=30) as owner_http:
        owner = Mod(owner_http, owner_email)
        assert (await owner.login()).status_code == 303
        for tab in ("pending", "approved", "rejected", "spam", "flagged"):
            seen.append(await owner.queue(tab=tab))
            found = await owner.queue(tab=tab, q=tag)  # the search box echoes the tag
            assert "Nothing here." in found and not [s for s in secrets if s in found]
        seen.append((await owner_http.get(f"/moderate/sites/{site}/export")).text)
        seen.append((await owner_http.get("/moderate/audit")).text)

    for server in (a, b):  # right away, caches included, on the process that erased and not
        for page in ("page-a", "page-b"):
            for order in ("newest", "oldest"):
                seen.append(
                    (
                        await api.get(
                            f"{server.url}{base}/thread", params={"page": page, "order": order}
                        )
                    ).text
                )
            events = (
                await api.get(f"{server.url}{base}/events", params={"page": page, "after": 0})
            ).json()
            seqs = [e["seq"] for e in events["events"]]
            assert seqs == list(range(1, events["seq"] + 1))  # gap-free, nothing dropped
            seen.append(json.dumps(events))
            seen.append(
                (await api.get(f"{server.url}{base}/feed.atom", params={"page": page})).text
            )
        seen.append((await api.get(f"{server.url}{base}/feed.atom")).text)
        seen.append((await api.get(f"{server.url}{base}/comments/{_id(other_b)}/replies")).text)
        seen.append((await api.get(f"{server.url}{base}/authors/me", headers=auth)).text)
        counts = await api.get(
            f"{server.url}{base}/counts", params=[("page", "page-a"), ("page", "page-b")]
        )
        assert counts.json() == {"counts": {"page-a": 1, "page-b": 1}}

    # A third reader resumes from seq 0, on each page, on the other process.
    for server, page, last in ((b, "page-a", 6), (a, "page-b", 3)):
        late = await Reader.open(server.ws_url, site, page, seq=0)
        await late.until_seq(last)
        assert late.seqs() == list(range(1, last + 1))
        seen.append(json.dumps(late.frames))
        await late.close()
    # The readers who were watching hold what they saw then; what the server sends them from
    # now on, on a resync from 0, holds nothing of it.
    for reader in (watch_a, watch_b):
        mark = len(reader.frames)
        await reader.send({"type": "sync", "seq": 0})
        await reader.next("sync", after=mark)
        seen.append(json.dumps(reader.frames[mark:]))
        await reader.close()

    for server in (a, b):
        assert server.log is not None
        seen.append(server.log.read_text(errors="replace"))

    everything = "\n".join(seen)
    assert tag not in everything, [s for s in secrets if s in everything]

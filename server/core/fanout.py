"""Telling readers of published comments, many at once, out of the posting transaction
(issue #18): the replies' notifications for those they answer, and the mail for those who
follow by e-mail.

A post writes nothing for it: the comment and its page's event (``comment.created``) are
all the fan-out needs. The fan-out keeps, per page, the ``seq`` up to which it has read
that page's events (``fanout_cursors``), and in one transaction reads what was posted after
it on the pages it was woken for, writes every notification and mail row of the batch in
one statement each (a notification per reply and recipient; for mail, one row per
subscription, its open mail gathering the batch's comments), and moves the cursors. A
crash before its commit leaves the cursors where they were, so nothing is told twice. Two
processes never read one page at once (the cursor is locked; the other skips it and tries
again). Readers' doorbells ring after commit.

What is posted while readers' notifications are off is never told: a cursor that finds
events older than ``MAX_AGE_MS`` passes over them (the operator turned notifications on
again, or a page nobody posted to since a crash is found by the periodic look)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from server.core import notifications, subscriptions
from server.core.context import Services
from server.core.models import Status
from server.core.transactions.fanout import Told

BATCH = 500  # comments read per transaction
LAGGING = 1000  # pages a look for forgotten ones takes at once
MAX_AGE_MS = 3_600_000


@dataclass
class FanOut:
    """What one transaction of the fan-out did."""

    comments: int = 0  # posted comments read
    later: set[int] = field(default_factory=set)  # pages with more to read, or held elsewhere
    seconds: float = 0.0  # its transaction, from BEGIN to COMMIT (not the wait to begin)


async def fan_out(
    svc: Services, pages: Collection[int] | None = None, limit: int = BATCH
) -> FanOut:
    """Tell readers of what was posted on ``pages`` since the fan-out last read them (None:
    every page it has not read to the end), up to ``limit`` comments."""
    done = FanOut()
    told: dict[str, set[str]] = defaultdict(set)
    async with svc.store.write() as tx:
        began = time.perf_counter()
        now = svc.now_ms()
        wanted = sorted(pages) if pages is not None else await tx.lagging_pages(LAGGING)
        claimed = await tx.claim_fanout(wanted)
        done.later = set(wanted) - {page.page_id for page in claimed}
        posted: list[Told] = []
        cursors: dict[int, int] = {}
        for page in claimed:
            room = limit - done.comments
            if room <= 0:
                done.later.add(page.page_id)
                continue
            found = await tx.published_between(page.page_id, page.after, page.upto, room)
            done.comments += len(found)
            if len(found) == room:  # more than room: the rest next time
                done.later.add(page.page_id)
                cursors[page.page_id] = found[-1][0]
            elif page.upto > page.after:
                cursors[page.page_id] = page.upto
            # Left public view since (deleted, held by flags, rejected): nobody hears of it.
            posted += [
                comment
                for _, comment in found
                if comment.status is Status.APPROVED and comment.created_at > now - MAX_AGE_MS
            ]
        if svc.notifications and posted:
            answered: list[int] = []
            rows = []
            for comment in posted:
                authors = comment.answered_authors()
                answered += authors
                rows += notifications.reply_rows(comment, authors, now)
            await tx.add_notifications(rows)
            for row in rows:
                told[row.site_id].add(row.recipient)
            following = await tx.followers(
                sorted({c.page_id for c in posted}), sorted(set(answered))
            )
            if following:
                await tx.enqueue_mails(
                    subscriptions.mail_news(
                        posted,
                        subscriptions.Following(following),
                        now,
                        svc.limits.mail_digest_ms,
                    )
                )
        await tx.advance_fanout(cursors)
    done.seconds = time.perf_counter() - began
    for site_id, recipients in told.items():
        await svc.notifications_changed(site_id, sorted(recipients))
    return done

"""A transaction's queries on e-mail subscriptions and the mail outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from server.core.transactions.subscriptions import (
    CONFIRM,
    REPLY,
    NewMail,
    OutboxRow,
    StoredAddress,
    StoredSubscription,
    SubscriptionsTx,
)
from server.store.connection import Connection
from server.store.schema import (
    OPEN_MAIL,
    comments,
    mail_addresses,
    mail_outbox,
    mail_sent_daily,
    mail_throttle,
    subscriptions,
)

a, s, o = mail_addresses.c, subscriptions.c, mail_outbox.c
THREAD = "thread"
REPLIES = "replies"


def _address(row: Any) -> StoredAddress:
    return StoredAddress(
        id=int(row.id),
        site_id=str(row.site_id),
        digest=str(row.digest),
        sealed=str(row.sealed),
        author_hash=str(row.author_hash),
        lang=str(row.lang),
        created_at=int(row.created_at),
        confirmed_at=None if row.confirmed_at is None else int(row.confirmed_at),
    )


def _subscription(row: Any) -> StoredSubscription:
    return StoredSubscription(
        id=int(row.id),
        site_id=str(row.site_id),
        address_id=int(row.address_id),
        scope=str(row.scope),
        comment_id=int(row.comment_id),
        page_id=int(row.page_id),
        created_at=int(row.created_at),
        last_sent_at=None if row.last_sent_at is None else int(row.last_sent_at),
    )


def _ids(listed: str) -> tuple[int, ...]:
    return tuple(int(i) for i in listed.split(",") if i)


def _outbox(row: Any) -> OutboxRow:
    return OutboxRow(
        id=int(row.id),
        site_id=str(row.site_id),
        kind=str(row.kind),
        address_id=int(row.address_id),
        subscription_id=None if row.subscription_id is None else int(row.subscription_id),
        comment_ids=_ids(str(row.comment_ids)),
        due_at=int(row.due_at),
        attempts=int(row.attempts),
    )


# Confirmed addresses' subscriptions, with each address (built once: the fan-out runs it
# for every batch of published comments).
_FOLLOWERS = (
    select(*subscriptions.c, *[column.label(f"a_{column.name}") for column in mail_addresses.c])
    .join(mail_addresses, mail_addresses.c.id == subscriptions.c.address_id)
    .where(
        mail_addresses.c.confirmed_at.is_not(None),
        or_(
            (s.scope == THREAD) & s.page_id.in_(bindparam("b_pages", expanding=True)),
            (s.scope == REPLIES) & s.comment_id.in_(bindparam("b_comments", expanding=True)),
        ),
    )
    .order_by(s.id)
)


def _join_open_mail(dialect: Any) -> Any:
    """INSERT of a subscription's news that joins its open mail when it has one (a row
    the append makes full leaves the unique index: the next news opens another)."""
    statement = dialect.insert(mail_outbox)
    return statement.on_conflict_do_update(
        index_elements=[o.subscription_id],
        index_where=text(OPEN_MAIL),
        set_={"comment_ids": o.comment_ids + "," + statement.excluded.comment_ids},
    )


# Built once: the fan-out runs it every batch, and building it cost more than running it.
_JOIN_OPEN_MAIL = {"sqlite": _join_open_mail(sqlite), "postgresql": _join_open_mail(postgresql)}


class SubscriptionQueries(SubscriptionsTx):
    """Addresses, subscriptions, the outbox, the daily counts and the throttle."""

    conn: Connection
    dialect: str

    def _insert(self, table: Any) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def _skip_locked(self, query: Select[Any]) -> Select[Any]:
        # SQLite has one writer at a time (BEGIN IMMEDIATE): its rows need no lock.
        if self.dialect != "postgresql":
            return query
        return query.with_for_update(skip_locked=True)

    async def find_mail_address(
        self, site_id: str, digest: str, author_hash: str
    ) -> StoredAddress | None:
        row = (
            await self.conn.execute(
                select(mail_addresses).where(
                    a.site_id == site_id, a.digest == digest, a.author_hash == author_hash
                )
            )
        ).first()
        return _address(row) if row else None

    async def add_mail_address(
        self, site_id: str, digest: str, sealed: str, author_hash: str, lang: str, now: int
    ) -> StoredAddress:
        # Two requests at once: the second finds the first's row instead of failing.
        await self.conn.execute(
            self._insert(mail_addresses)
            .values(
                site_id=site_id,
                digest=digest,
                sealed=sealed,
                author_hash=author_hash,
                lang=lang,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        found = await self.find_mail_address(site_id, digest, author_hash)
        assert found is not None
        return found

    async def mail_address(self, address_id: int) -> StoredAddress | None:
        row = (await self.conn.execute(select(mail_addresses).where(a.id == address_id))).first()
        return _address(row) if row else None

    async def confirm_mail_address(self, address_id: int, now: int) -> None:
        await self.conn.execute(
            update(mail_addresses)
            .where(a.id == address_id, a.confirmed_at.is_(None))
            .values(confirmed_at=now)
        )

    async def claim_confirmation(self, digest: str, now: int, since: int) -> bool:
        t = mail_throttle.c
        statement = self._insert(mail_throttle).values(digest=digest, confirmation_sent_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[t.digest],
            set_={"confirmation_sent_at": now},
            where=t.confirmation_sent_at <= since,
        ).returning(t.digest)
        return (await self.conn.execute(statement)).first() is not None

    async def find_subscription(
        self, address_id: int, scope: str, comment_id: int, page_id: int
    ) -> StoredSubscription | None:
        query = select(subscriptions).where(s.address_id == address_id, s.scope == scope)
        query = query.where(s.page_id == page_id if scope == THREAD else s.comment_id == comment_id)
        row = (await self.conn.execute(query.limit(1))).first()
        return _subscription(row) if row else None

    async def add_subscription(
        self, site_id: str, address_id: int, scope: str, comment_id: int, page_id: int, now: int
    ) -> StoredSubscription:
        row = (
            await self.conn.execute(
                insert(subscriptions)
                .values(
                    site_id=site_id,
                    address_id=address_id,
                    scope=scope,
                    comment_id=comment_id,
                    page_id=page_id,
                    created_at=now,
                )
                .returning(*subscriptions.c)
            )
        ).one()
        return _subscription(row)

    async def subscription(
        self, subscription_id: int, *, for_update: bool = False
    ) -> StoredSubscription | None:
        query = select(subscriptions).where(s.id == subscription_id)
        if for_update and self.dialect == "postgresql":
            # FOR NO KEY UPDATE: it does not wait for (nor block) the fan-out, whose outbox
            # rows only hold the key share their foreign key takes, while it waits for this
            # claim's locked rows.
            query = query.with_for_update(key_share=True)
        row = (await self.conn.execute(query)).first()
        return _subscription(row) if row else None

    async def subscriptions_of_digest(self, site_id: str, digest: str) -> list[StoredSubscription]:
        rows = await self.conn.execute(
            select(subscriptions)
            .join(mail_addresses, a.id == s.address_id)
            .where(a.site_id == site_id, a.digest == digest)
            .order_by(s.id)
        )
        return [_subscription(row) for row in rows]

    async def delete_subscriptions(self, subscription_ids: Sequence[int]) -> None:
        if subscription_ids:
            await self.conn.execute(delete(subscriptions).where(s.id.in_(list(subscription_ids))))

    async def subscribers_of(
        self, site_id: str, page_id: int, comment_ids: Sequence[int]
    ) -> list[tuple[StoredSubscription, StoredAddress]]:
        found = await self.followers([page_id], comment_ids)
        return [pair for pair in found if pair[0].site_id == site_id]

    async def followers(
        self, page_ids: Sequence[int], comment_ids: Sequence[int]
    ) -> list[tuple[StoredSubscription, StoredAddress]]:
        rows = await self.conn.execute(
            _FOLLOWERS, {"b_pages": list(page_ids), "b_comments": list(comment_ids)}
        )
        found = []
        for row in rows:
            values = row._mapping
            address = StoredAddress(
                id=int(values["a_id"]),
                site_id=str(values["a_site_id"]),
                digest=str(values["a_digest"]),
                sealed=str(values["a_sealed"]),
                author_hash=str(values["a_author_hash"]),
                lang=str(values["a_lang"]),
                created_at=int(values["a_created_at"]),
                confirmed_at=int(values["a_confirmed_at"]),
            )
            found.append((_subscription(row), address))
        return found

    async def enqueue_mails(self, news: Sequence[NewMail]) -> None:
        if not news:
            return
        statement = _JOIN_OPEN_MAIL[self.dialect]
        rows = [
            {
                "site_id": item.site_id,
                "kind": REPLY,
                "address_id": item.address_id,
                "subscription_id": item.subscription_id,
                "comment_ids": ",".join(map(str, item.comment_ids)),
                "created_at": item.created_at,
                "due_at": item.due_at,
                "attempts": 0,
            }
            for item in sorted(news, key=lambda item: item.subscription_id)
        ]
        await self.conn.execute(statement, rows)

    async def enqueue_confirmation(
        self, site_id: str, address_id: int, subscription_id: int, now: int
    ) -> None:
        await self.conn.execute(
            insert(mail_outbox).values(
                site_id=site_id,
                kind=CONFIRM,
                address_id=address_id,
                subscription_id=subscription_id,
                comment_ids="",
                created_at=now,
                due_at=now,
                attempts=0,
            )
        )

    async def delete_mail_addresses_of(self, site_id: str, author_hash: str) -> None:
        # Subscriptions and outbox rows go by cascade, in both databases.
        await self.conn.execute(
            delete(mail_addresses).where(a.site_id == site_id, a.author_hash == author_hash)
        )

    async def delete_mail_about(self, comment_ids: Sequence[int]) -> None:
        if not comment_ids:
            return
        gone = set(comment_ids)
        # Only the queued mail of subscriptions on these comments' pages can list them.
        # Locked (in the order the fan-out takes them): a list read here and written back
        # must not drop what a fan-out or an approval appended meanwhile.
        pages = select(comments.c.page_id).where(comments.c.id.in_(sorted(gone)))
        query = (
            select(
                o.id,
                o.site_id,
                o.address_id,
                o.subscription_id,
                o.attempts,
                o.comment_ids,
                o.created_at,
                o.due_at,
            )
            .join(subscriptions, s.id == o.subscription_id)
            .where(o.kind == REPLY, o.sent_at.is_(None), s.page_id.in_(pages))
            .order_by(o.subscription_id, o.id)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(of=mail_outbox)
        # A subscription's untried rows that lose a comment go, and what is left of their
        # lists is queued again as news (joining an open mail if there is one, even one an
        # approval made meanwhile): a full row shortened in place could be a second open
        # mail, which the unique index refuses. A tried row (sending, or to retry) is
        # rewritten in place: it is in no unique index.
        groups: dict[tuple[int, int], list[Any]] = {}
        for row in (await self.conn.execute(query)).all():
            key = (row.subscription_id, 0 if row.attempts == 0 else row.id)
            groups.setdefault(key, []).append(row)
        for group in groups.values():
            listed = [i for row in group for i in _ids(str(row.comment_ids))]
            kept = [i for i in listed if i not in gone]
            if len(kept) == len(listed):
                continue
            first = group[0]
            if first.attempts:
                changed = update(mail_outbox).where(o.id == first.id)
                await self.conn.execute(changed.values(comment_ids=",".join(map(str, kept))))
                continue
            await self.conn.execute(delete(mail_outbox).where(o.id.in_([r.id for r in group])))
            if kept:
                news = NewMail(
                    first.site_id,
                    first.address_id,
                    first.subscription_id,
                    tuple(kept),
                    first.created_at,
                    min(row.due_at for row in group),
                )
                await self.enqueue_mails([news])

    async def pull_open_mail(self, subscription_id: int, due_at: int) -> None:
        query = select(o.id).where(
            o.subscription_id == subscription_id,
            o.kind == REPLY,
            o.sent_at.is_(None),
            o.attempts == 0,
            o.due_at > due_at,
        )
        # Best effort: a row another transaction holds is being claimed or erased (waiting
        # for it could close a cycle of locks with them).
        await self.conn.execute(
            update(mail_outbox).where(o.id.in_(self._skip_locked(query))).values(due_at=due_at)
        )

    async def told_comment_ids(self, subscription_id: int) -> set[int]:
        rows = await self.conn.execute(
            select(o.comment_ids).where(
                o.subscription_id == subscription_id, o.sent_at.is_not(None)
            )
        )
        return {i for (listed,) in rows for i in _ids(str(listed))}

    async def due_mail(self, now: int, limit: int) -> list[OutboxRow]:
        query = (
            select(mail_outbox)
            .where(o.sent_at.is_(None), o.due_at <= now)
            .order_by(o.due_at, o.id)
            .limit(limit)
        )
        rows = await self.conn.execute(self._skip_locked(query))
        return [_outbox(row) for row in rows]

    async def unsent_mail_of(self, subscription_id: int, now: int) -> list[OutboxRow]:
        query = (
            select(mail_outbox)
            .where(
                o.subscription_id == subscription_id,
                o.sent_at.is_(None),
                (o.attempts == 0) | (o.due_at <= now),
            )
            .order_by(o.id)
        )
        rows = await self.conn.execute(self._skip_locked(query))
        return [_outbox(row) for row in rows]

    async def schedule_mail(self, outbox_ids: Sequence[int], due_at: int, tried: bool) -> None:
        if not outbox_ids:
            return
        values: dict[str, Any] = {"due_at": due_at}
        if tried:
            values["attempts"] = o.attempts + 1
        await self.conn.execute(
            update(mail_outbox).where(o.id.in_(list(outbox_ids))).values(**values)
        )

    async def mark_mail_sent(self, outbox_ids: Sequence[int], now: int) -> None:
        if outbox_ids:
            await self.conn.execute(
                update(mail_outbox).where(o.id.in_(list(outbox_ids))).values(sent_at=now)
            )

    async def reopen_window(
        self, subscription_id: int, claimed_at: int, opened_before: int | None
    ) -> bool:
        reopened = await self.conn.execute(
            update(subscriptions)
            .where(s.id == subscription_id, s.last_sent_at == claimed_at)
            .values(last_sent_at=opened_before)
            .returning(s.id)
        )
        return reopened.first() is not None

    async def mark_subscription_sent(self, subscription_id: int, now: int | None) -> None:
        await self.conn.execute(
            update(subscriptions).where(s.id == subscription_id).values(last_sent_at=now)
        )

    async def count_mail_sent(self, site_id: str, day: int, cap: int) -> bool:
        d = mail_sent_daily.c
        await self.conn.execute(
            self._insert(mail_sent_daily)
            .values(site_id=site_id, day=day, sent=0)
            .on_conflict_do_nothing()
        )
        counted = await self.conn.execute(
            update(mail_sent_daily)
            .where(d.site_id == site_id, d.day == day, d.sent < cap)
            .values(sent=d.sent + 1)
            .returning(d.sent)
        )
        return counted.first() is not None

    async def purge_mail(
        self, sent_before: int, throttled_before: int, unconfirmed_before: int
    ) -> None:
        # Addresses nobody confirmed before their link expired (their subscriptions and
        # queued mail go by cascade).
        await self.conn.execute(
            delete(mail_addresses).where(
                a.confirmed_at.is_(None), a.created_at < unconfirmed_before
            )
        )
        await self.conn.execute(
            delete(mail_outbox).where(o.sent_at.is_not(None), o.sent_at < sent_before)
        )
        await self.conn.execute(
            delete(mail_sent_daily).where(mail_sent_daily.c.day < sent_before // 86_400_000)
        )
        await self.conn.execute(
            delete(mail_throttle).where(mail_throttle.c.confirmation_sent_at < throttled_before)
        )

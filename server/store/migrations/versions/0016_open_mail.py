"""One open mail per subscription (issue #18, notifications on the write path).

A reply row of the mail outbox named one comment, unique per subscription and comment: a
busy thread wrote a row per follower for every comment, each with four indexes, and that
was most of what notifications cost posting. Now a reply row lists its comments
(``comment_ids``, comma separated), and a subscription has at most one open row (a reply
not yet tried whose list is under 1,000 characters, ``ux_mail_outbox_open``) that news
joins; a full one is left for the next. The queued rows of each subscription are merged
into one; sent rows keep their one comment, so what they told is still not told again.
Down, a row per comment again (a comment listed twice for one subscription once, a sent
row's first).

SQLite cannot drop a column under a foreign key or an index, so there the table is rebuilt
(nothing refers to the outbox, so its DROP TABLE cascades nowhere); PostgreSQL alters it in
place.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN_MAIL = "kind = 'reply' AND sent_at IS NULL AND attempts = 0 AND length(comment_ids) < 1000"
COMMON = ("id", "site_id", "kind", "address_id", "subscription_id")
TIMES = ("created_at", "due_at", "attempts", "sent_at")


def _foreign_keys(table: str, comment: bool) -> list[sa.ForeignKeyConstraint]:
    keys = [
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_mail_outbox_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["mail_addresses.id"],
            name="fk_mail_outbox_address_id_mail_addresses",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_mail_outbox_subscription_id_subscriptions",
            ondelete="CASCADE",
        ),
    ]
    if comment:
        keys.append(
            sa.ForeignKeyConstraint(
                ["comment_id"],
                ["comments.id"],
                name="fk_mail_outbox_comment_id_comments",
                ondelete="CASCADE",
            )
        )
    return keys


def _rows() -> list[dict[str, Any]]:
    result = op.get_bind().execute(sa.text("SELECT * FROM mail_outbox ORDER BY id"))
    return [dict(row._mapping) for row in result]


def _merged(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its comment as a list; a subscription's open rows as one."""
    out: list[dict[str, Any]] = []
    open_of: dict[int, dict[str, Any]] = {}
    for row in rows:
        new = {key: row[key] for key in (*COMMON, *TIMES)}
        new["comment_ids"] = "" if row["comment_id"] is None else str(row["comment_id"])
        is_open = row["kind"] == "reply" and row["sent_at"] is None and row["attempts"] == 0
        first = open_of.get(row["subscription_id"]) if is_open else None
        if first is None:
            out.append(new)
            if is_open and row["subscription_id"] is not None:
                open_of[row["subscription_id"]] = new
            continue
        if new["comment_ids"]:
            first["comment_ids"] = ",".join(
                filter(None, (first["comment_ids"], new["comment_ids"]))
            )
        first["due_at"] = min(first["due_at"], new["due_at"])
    return out


def _split(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Back to a row per comment, a (subscription, comment) once (sent rows first, then
    the oldest): the first keeps the row's id, the others take ids after every row's."""
    out: list[dict[str, Any]] = []
    next_id = max((row["id"] for row in rows), default=0)
    seen: set[tuple[int, int]] = set()
    for row in sorted(rows, key=lambda row: (row["sent_at"] is None, row["id"])):
        ids = [int(i) for i in str(row["comment_ids"] or "").split(",") if i]
        fresh = [i for i in dict.fromkeys(ids) if (row["subscription_id"], i) not in seen]
        seen.update((row["subscription_id"], i) for i in fresh)
        if ids and not fresh:
            continue  # all told by another row
        for n, comment_id in enumerate(fresh or [None]):
            new = {key: row[key] for key in (*COMMON, *TIMES)}
            new["comment_id"] = comment_id
            if n:
                next_id += 1
                new["id"] = next_id
            out.append(new)
    return out


def _insert(table: str, rows: Sequence[dict[str, Any]]) -> None:
    bind = op.get_bind()
    for row in rows:
        bind.execute(sa.table(table, *map(sa.column, row)).insert().values(row))
    if rows and bind.dialect.name == "postgresql":  # (PostgreSQL alters the outbox in place)
        # Ids were given: the sequence goes on after them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('mail_outbox', 'id'), "
            "(SELECT max(id) FROM mail_outbox))"
        )


def _columns(comment: bool) -> list[sa.Column[Any]]:
    middle: list[sa.Column[Any]] = (
        [sa.Column("comment_id", Id)]
        if comment
        else [sa.Column("comment_ids", sa.Text(), nullable=False, server_default="")]
    )
    return [
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address_id", Id, nullable=False),
        sa.Column("subscription_id", Id),
        *middle,
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.BigInteger()),
    ]


def _rebuild_sqlite(rows: Sequence[dict[str, Any]], comment: bool) -> None:
    """The outbox anew in the shape ``comment`` names, with ``rows``."""
    op.create_table(
        "mail_outbox_next",
        *_columns(comment),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        *_foreign_keys("mail_outbox", comment),
        *(
            [
                sa.UniqueConstraint(
                    "subscription_id",
                    "comment_id",
                    name="uq_mail_outbox_subscription_id_comment_id",
                )
            ]
            if comment
            else []
        ),
    )
    _insert("mail_outbox_next", rows)
    op.drop_table("mail_outbox")
    op.rename_table("mail_outbox_next", "mail_outbox")
    op.create_index("ix_mail_outbox_sent_at_due_at", "mail_outbox", ["sent_at", "due_at"])
    op.create_index("ix_mail_outbox_address_id", "mail_outbox", ["address_id"])


def _open_indexes() -> None:
    op.create_index("ix_mail_outbox_subscription_id", "mail_outbox", ["subscription_id"])
    op.create_index(
        "ux_mail_outbox_open",
        "mail_outbox",
        ["subscription_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_MAIL),
        postgresql_where=sa.text(OPEN_MAIL),
    )


def upgrade() -> None:
    rows = _merged(_rows())
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(rows, comment=False)
    else:
        op.add_column(
            "mail_outbox", sa.Column("comment_ids", sa.Text(), nullable=False, server_default="")
        )
        # (Its foreign key, unique constraint and index go with the column.)
        op.execute("ALTER TABLE mail_outbox DROP COLUMN comment_id")
        op.execute("DELETE FROM mail_outbox")
        _insert("mail_outbox", rows)
    _open_indexes()


def downgrade() -> None:
    rows = _split(_rows())
    op.drop_index("ux_mail_outbox_open", "mail_outbox")
    op.drop_index("ix_mail_outbox_subscription_id", "mail_outbox")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(rows, comment=True)
    else:
        op.add_column("mail_outbox", sa.Column("comment_id", Id))
        op.create_foreign_key(
            "fk_mail_outbox_comment_id_comments",
            "mail_outbox",
            "comments",
            ["comment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.create_unique_constraint(
            "uq_mail_outbox_subscription_id_comment_id",
            "mail_outbox",
            ["subscription_id", "comment_id"],
        )
        op.execute("DELETE FROM mail_outbox")
        op.execute("ALTER TABLE mail_outbox DROP COLUMN comment_ids")
        _insert("mail_outbox", rows)
    op.create_index("ix_mail_outbox_comment_id", "mail_outbox", ["comment_id"])

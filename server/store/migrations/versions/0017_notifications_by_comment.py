"""Notifications hang off their comment alone (issue #18, notifications on the write path).

The fan-out writes a notification per reply. Each went into two indexes keyed by its
recipient (the reader's listing, and the uniqueness), two leaf pages in random places per
row, and checked three foreign keys. The one to ``pages`` took a key-share lock on the
page's row for the whole batch, the very row every post to the page updates, so on
PostgreSQL each of those posts also had to make a multixact.

Now:
- Uniqueness is per comment, recipient and kind, in that order. A batch's rows land at the
  index's right edge, because new comments have the highest ids. The index also serves the
  cascade from comments and erasure's deletes by comment, so ``ix_notifications_comment_id``
  goes. It still finds a reader's reaction summary, whose comment is known.
- The foreign keys to ``sites`` and ``pages`` go, with the page index under their cascade.
  A notification belongs to its comment, and the comment cascade already removes it when
  its page or site goes.

SQLite cannot drop a foreign key, so there the table is rebuilt. Nothing refers to
notifications, so its DROP TABLE cascades nowhere. PostgreSQL alters it in place.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLUMNS = (
    "id, site_id, recipient, kind, comment_id, page_id, actors, created_at, updated_at, read_at"
)


def _site_and_page_keys() -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_notifications_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_notifications_page_id_pages", ondelete="CASCADE"
        ),
    ]


def _rebuild_sqlite(keys: list[sa.ForeignKeyConstraint]) -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("page_id", Id, nullable=False),
        sa.Column("actors", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.BigInteger()),
    ]
    op.create_table(
        "notifications_next",
        *columns,
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_notifications_comment_id_comments",
            ondelete="CASCADE",
        ),
        *keys,
    )
    op.execute(f"INSERT INTO notifications_next ({COLUMNS}) SELECT {COLUMNS} FROM notifications")  # noqa: S608 -- constants
    op.drop_table("notifications")
    op.rename_table("notifications_next", "notifications")
    op.create_index(
        "ix_notifications_site_id_recipient_id", "notifications", ["site_id", "recipient", "id"]
    )
    op.create_index("ix_notifications_updated_at", "notifications", ["updated_at"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite([])
    else:
        op.drop_constraint("fk_notifications_site_id_sites", "notifications", type_="foreignkey")
        op.drop_constraint("fk_notifications_page_id_pages", "notifications", type_="foreignkey")
        op.drop_index("ix_notifications_site_id_recipient_kind_comment_id", "notifications")
        op.drop_index("ix_notifications_comment_id", "notifications")
        op.drop_index("ix_notifications_page_id", "notifications")
    op.create_index(
        "ix_notifications_comment_id_recipient_kind",
        "notifications",
        ["comment_id", "recipient", "kind"],
        unique=True,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(_site_and_page_keys())
    else:
        op.drop_index("ix_notifications_comment_id_recipient_kind", "notifications")
        op.create_foreign_key(
            "fk_notifications_site_id_sites",
            "notifications",
            "sites",
            ["site_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.create_foreign_key(
            "fk_notifications_page_id_pages",
            "notifications",
            "pages",
            ["page_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index("ix_notifications_comment_id", "notifications", ["comment_id"])
    op.create_index("ix_notifications_page_id", "notifications", ["page_id"])
    op.create_index(
        "ix_notifications_site_id_recipient_kind_comment_id",
        "notifications",
        ["site_id", "recipient", "kind", "comment_id"],
        unique=True,
    )

"""The fan-out reads each page's events after a cursor instead of marking comments.

0012 marked each published comment ``fanout`` and the fan-out cleared the mark: an UPDATE of
every comment row (on PostgreSQL not a HOT update: the mark was in an index's predicate, so
all eight of the comments' indexes took a new entry). That cost a post ~0.3 ms of database
CPU with nobody to tell. Now the fan-out keeps, per page, the last ``seq`` it read
(``fanout_cursors``) and reads the events after it: the post writes nothing more, the
fan-out one row per page per batch. A page's cursor starts before the first event of a
comment still marked (so nothing marked before the upgrade is forgotten), else at its
current ``seq``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fanout_cursors",
        sa.Column(
            "page_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("pages.id", ondelete="CASCADE", name="fk_fanout_cursors_page_id_pages"),
            nullable=False,
            autoincrement=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("page_id", name="pk_fanout_cursors"),
    )
    op.execute(
        """
        INSERT INTO fanout_cursors (page_id, seq)
        SELECT p.id, COALESCE(
            (SELECT MIN(e.seq) - 1 FROM events e JOIN comments c ON c.id = e.comment_id
             WHERE e.page_id = p.id AND c.fanout AND e.type = 'comment.created'),
            p.seq)
        FROM pages p
        """
    )
    op.drop_index("ix_comments_fanout", "comments")
    # In place, on both databases (SQLite >= 3.35): Alembic's batch mode would rebuild the
    # table on SQLite, and dropping the old table with foreign keys on cascades into every
    # reply, flag, reaction and notification.
    op.execute("ALTER TABLE comments DROP COLUMN fanout")


def downgrade() -> None:
    false = "0" if op.get_bind().dialect.name == "sqlite" else "false"
    op.execute(f"ALTER TABLE comments ADD COLUMN fanout BOOLEAN NOT NULL DEFAULT {false}")
    op.create_index(
        "ix_comments_fanout",
        "comments",
        ["id"],
        sqlite_where=sa.text("fanout"),
        postgresql_where=sa.text("fanout"),
    )
    op.drop_table("fanout_cursors")

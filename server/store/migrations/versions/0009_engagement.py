"""Engagement: a site's reaction set, readers' reactions (kept with their history for a day,
so paging under ``order=best`` is exact), each comment's reaction totals, and pins.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("reactions", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("comments") as batch:
        batch.add_column(
            sa.Column("reaction_counts", sa.Text(), nullable=False, server_default="{}")
        )
        batch.add_column(sa.Column("pinned_at", sa.BigInteger()))
    op.create_table(
        "reactions",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("page_id", Id, nullable=False),
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("voter", sa.String(64), nullable=False),
        sa.Column("network", sa.String(32)),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_reactions"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_reactions_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_reactions_page_id_pages", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_reactions_comment_id_comments",
            ondelete="CASCADE",
        ),
    )
    live = sa.text("removed_at IS NULL")
    op.create_index(
        "ix_reactions_live_voter",
        "reactions",
        ["comment_id", "voter"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    live_network = sa.text("removed_at IS NULL AND network IS NOT NULL")
    op.create_index(
        "ix_reactions_live_network",
        "reactions",
        ["comment_id", "network"],
        unique=True,
        sqlite_where=live_network,
        postgresql_where=live_network,
    )
    op.create_index("ix_reactions_page_id_created_at", "reactions", ["page_id", "created_at"])
    op.create_index("ix_reactions_site_id_voter", "reactions", ["site_id", "voter"])
    op.create_index("ix_reactions_removed_at", "reactions", ["removed_at"])
    networked = sa.text("network IS NOT NULL")
    op.create_index(
        "ix_reactions_networked_created_at",
        "reactions",
        ["created_at"],
        sqlite_where=networked,
        postgresql_where=networked,
    )


def downgrade() -> None:
    op.drop_table("reactions")
    # In place, never Alembic's batch rebuild: on SQLite its DROP TABLE of the old table
    # cascades (foreign keys are on) into every row that hangs off it.
    for table, column in (
        ("comments", "pinned_at"),
        ("comments", "reaction_counts"),
        ("sites", "reactions"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

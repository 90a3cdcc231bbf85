"""Readers' notifications: replies to their comments, decisions on their held ones, and a
summary of the reactions to theirs (issue #18, stored over HTTP; live delivery comes later).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
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
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_notifications_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_notifications_comment_id_comments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_notifications_page_id_pages", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_notifications_site_id_recipient_id", "notifications", ["site_id", "recipient", "id"]
    )
    op.create_index("ix_notifications_updated_at", "notifications", ["updated_at"])


def downgrade() -> None:
    op.drop_table("notifications")

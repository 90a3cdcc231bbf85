"""Moderation: sessions, reader flags, bans, moderator display names.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("moderators") as batch:
        batch.add_column(sa.Column("display_name", sa.String(50)))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("notify", sa.Text(), server_default="{}", nullable=False))
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name="fk_sessions_moderator_id_moderators",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
    )
    op.create_index("ix_sessions_moderator_id", "sessions", ["moderator_id"])
    op.create_table(
        "comment_flags",
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("reporter", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_comment_flags_comment_id_comments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_id", "reporter", name="pk_comment_flags"),
    )
    op.create_table(
        "bans",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("author_hash", sa.String(64)),
        sa.Column("ip_hash", sa.String(32)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("moderator_id", Id),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_bans_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name="fk_bans_moderator_id_moderators",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bans"),
    )
    op.create_index("ix_bans_site_id_author_hash", "bans", ["site_id", "author_hash"])
    op.create_index("ix_bans_site_id_ip_hash", "bans", ["site_id", "ip_hash"])


def downgrade() -> None:
    op.drop_table("bans")
    op.drop_table("comment_flags")
    op.drop_table("sessions")
    # In place, never Alembic's batch rebuild (its DROP TABLE cascades on SQLite).
    op.execute("ALTER TABLE sites DROP COLUMN notify")
    op.execute("ALTER TABLE moderators DROP COLUMN display_name")

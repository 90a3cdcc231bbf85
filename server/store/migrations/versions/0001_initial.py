"""Initial schema: sites, pages, comments, events, moderators, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("origins", sa.Text(), nullable=False),
        sa.Column("moderation", sa.String(16), server_default="none", nullable=False),
        sa.Column("filters", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
    )
    op.create_table(
        "pages",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("url", sa.String(2048)),
        sa.Column("title", sa.String(300)),
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("comment_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_pages_site_id_sites", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pages"),
        sa.UniqueConstraint("site_id", "key", name="uq_pages_site_id_key"),
    )
    op.create_table(
        "comments",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("page_id", Id, nullable=False),
        sa.Column("parent_id", Id),
        sa.Column("reply_to_id", Id),
        sa.Column("author_name", sa.String(50)),
        sa.Column("author_hash", sa.String(64)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("moderator", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("edited_at", sa.BigInteger()),
        sa.Column("reply_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("flags", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("held_reason", sa.String(200)),
        sa.Column("ip_hash", sa.String(32)),
        sa.Column("idempotency_key", sa.String(100)),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_comments_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_comments_page_id_pages", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name="fk_comments_parent_id_comments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.UniqueConstraint(
            "site_id", "idempotency_key", name="uq_comments_site_id_idempotency_key"
        ),
    )
    op.create_index(
        "ix_comments_page_id_parent_id_created_at_id",
        "comments",
        ["page_id", "parent_id", "created_at", "id"],
    )
    op.create_index(
        "ix_comments_site_id_status_created_at", "comments", ["site_id", "status", "created_at"]
    )
    op.create_index("ix_comments_site_id_author_hash", "comments", ["site_id", "author_hash"])
    op.create_table(
        "events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("page_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_events_page_id_pages", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("page_id", "seq", name="uq_events_page_id_seq"),
    )
    op.create_table(
        "moderators",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderators"),
        sa.UniqueConstraint("email", name="uq_moderators_email"),
    )
    op.create_table(
        "moderator_sites",
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name="fk_moderator_sites_moderator_id_moderators",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_moderator_sites_site_id_sites", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("moderator_id", "site_id", name="pk_moderator_sites"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("moderator_id", Id),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("comment_id", Id),
        sa.Column("before_status", sa.String(16)),
        sa.Column("after_status", sa.String(16)),
        sa.Column("detail", sa.Text()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_audit_log_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name="fk_audit_log_moderator_id_moderators",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_site_id_created_at", "audit_log", ["site_id", "created_at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "moderator_sites",
        "moderators",
        "events",
        "comments",
        "pages",
        "sites",
    ):
        op.drop_table(table)

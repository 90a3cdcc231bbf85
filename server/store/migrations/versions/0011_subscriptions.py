"""E-mail subscriptions (issue #18): readers' addresses (sealed, with a keyed digest), what
they follow, a durable outbox of mail to send, a per-site daily count of mail sent, and the
cross-site throttle of confirmation mail.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _site(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=f"fk_{table}_site_id_sites", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "mail_addresses",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("author_hash", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_at", sa.BigInteger()),
        sa.Column("confirmation_sent_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_mail_addresses"),
        _site("mail_addresses"),
        sa.UniqueConstraint(
            "site_id",
            "digest",
            "author_hash",
            name="uq_mail_addresses_site_id_digest_author_hash",
        ),
    )
    op.create_index(
        "ix_mail_addresses_site_id_author_hash", "mail_addresses", ["site_id", "author_hash"]
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("address_id", Id, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("page_id", Id, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_sent_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        _site("subscriptions"),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["mail_addresses.id"],
            name="fk_subscriptions_address_id_mail_addresses",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_subscriptions_comment_id_comments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name="fk_subscriptions_page_id_pages", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_subscriptions_address_id", "subscriptions", ["address_id"])
    op.create_index("ix_subscriptions_comment_id", "subscriptions", ["comment_id"])
    op.create_index("ix_subscriptions_page_id_scope", "subscriptions", ["page_id", "scope"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address_id", Id, nullable=False),
        sa.Column("subscription_id", Id),
        sa.Column("comment_id", Id),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        _site("mail_outbox"),
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
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_mail_outbox_comment_id_comments",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "subscription_id",
            "comment_id",
            name="uq_mail_outbox_subscription_id_comment_id",
        ),
    )
    op.create_index("ix_mail_outbox_sent_at_due_at", "mail_outbox", ["sent_at", "due_at"])
    op.create_index("ix_mail_outbox_address_id", "mail_outbox", ["address_id"])
    op.create_table(
        "mail_sent_daily",
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("site_id", "day", name="pk_mail_sent_daily"),
        _site("mail_sent_daily"),
    )
    op.create_table(
        "mail_throttle",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("confirmation_sent_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_mail_throttle"),
    )


def downgrade() -> None:
    op.drop_table("mail_throttle")
    op.drop_table("mail_sent_daily")
    op.drop_table("mail_outbox")
    op.drop_table("subscriptions")
    op.drop_table("mail_addresses")

"""Indexes under the foreign keys that cascade from comments and pages into notifications and
the mail outbox: erasing a reader, deleting a comment, page or site found those rows by
scanning the whole table, across every site. And the fan-out of published comments to
readers, out of the posting transaction: ``comments.fanout`` marks what is still to tell
(indexed where set), and notifications are unique per recipient, kind and comment, so the
fan-out inserts many at once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_comment_id", "notifications", ["comment_id"])
    op.create_index("ix_notifications_page_id", "notifications", ["page_id"])
    op.create_index("ix_mail_outbox_comment_id", "mail_outbox", ["comment_id"])
    op.add_column(
        "comments",
        sa.Column("fanout", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_index(
        "ix_comments_fanout",
        "comments",
        ["id"],
        sqlite_where=sa.text("fanout"),
        postgresql_where=sa.text("fanout"),
    )
    op.create_index(
        "ix_notifications_site_id_recipient_kind_comment_id",
        "notifications",
        ["site_id", "recipient", "kind", "comment_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_site_id_recipient_kind_comment_id", "notifications")
    op.drop_index("ix_comments_fanout", "comments")
    # In place (SQLite >= 3.35): a batch rebuild's DROP TABLE would cascade into every reply.
    op.execute("ALTER TABLE comments DROP COLUMN fanout")
    op.drop_index("ix_mail_outbox_comment_id", "mail_outbox")
    op.drop_index("ix_notifications_page_id", "notifications")
    op.drop_index("ix_notifications_comment_id", "notifications")

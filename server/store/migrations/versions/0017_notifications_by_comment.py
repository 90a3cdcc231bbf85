"""Notifications are unique per comment, recipient and kind, in that order (issue #18,
notifications on the write path).

The fan-out writes a notification per reply, and each went into two indexes keyed by its
recipient (the reader's listing, and this uniqueness): two leaf pages in random places per
row, written and logged in full at every batch. Keyed by the comment first, the unique index
takes a batch's rows at its right edge (new comments have the highest ids), serves the
cascade from comments and erasure's deletes by comment (``ix_notifications_comment_id``
goes), and still finds a reader's reaction summary (its comment is known). A comment
belongs to one site, so the site was never part of what is unique.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_notifications_comment_id_recipient_kind",
        "notifications",
        ["comment_id", "recipient", "kind"],
        unique=True,
    )
    op.drop_index("ix_notifications_site_id_recipient_kind_comment_id", "notifications")
    op.drop_index("ix_notifications_comment_id", "notifications")


def downgrade() -> None:
    op.create_index("ix_notifications_comment_id", "notifications", ["comment_id"])
    op.create_index(
        "ix_notifications_site_id_recipient_kind_comment_id",
        "notifications",
        ["site_id", "recipient", "kind", "comment_id"],
        unique=True,
    )
    op.drop_index("ix_notifications_comment_id_recipient_kind", "notifications")

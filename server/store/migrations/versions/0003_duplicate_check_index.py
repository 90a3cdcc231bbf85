"""An index for the duplicate check by network, so a post costs the same on a page with
ten comments and one with ten thousand.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_comments_site_id_ip_hash_created_at", "comments", ["site_id", "ip_hash", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_comments_site_id_ip_hash_created_at", "comments")

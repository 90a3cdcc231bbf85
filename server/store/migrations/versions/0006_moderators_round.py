"""Audit entries found by their comment (who decided it last, a comment's history).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_comment_id", "audit_log", ["comment_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_comment_id", table_name="audit_log")

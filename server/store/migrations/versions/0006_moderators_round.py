"""Audit entries found by their comment (who decided it last, a comment's history); a
moderator's deletion keeps the text for 30 days, to be restored (when, and from what status);
password reset links (a hash of each link's secret).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_comment_id", "audit_log", ["comment_id"])
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("deleted_at", sa.BigInteger()))
        batch.add_column(sa.Column("deleted_from", sa.String(16)))
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name="fk_password_resets_moderator_id_moderators",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_password_resets"),
    )
    op.create_index("ix_password_resets_moderator_id", "password_resets", ["moderator_id"])


def downgrade() -> None:
    op.drop_table("password_resets")
    # In place, never Alembic's batch rebuild (its DROP TABLE cascades on SQLite).
    op.execute("ALTER TABLE comments DROP COLUMN deleted_from")
    op.execute("ALTER TABLE comments DROP COLUMN deleted_at")
    op.drop_index("ix_audit_log_comment_id", table_name="audit_log")

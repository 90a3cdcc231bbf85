"""A signed-in reader signs out on the server: their sessions from before it end.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(
            sa.Column("sessions_from", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    # In place, never Alembic's batch rebuild (its DROP TABLE cascades on SQLite).
    op.execute("ALTER TABLE identities DROP COLUMN sessions_from")

"""Invitations: an owner offers a site to a moderator, who accepts or declines it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by", Id),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_invitations_site_id_sites",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"],
                                name="fk_invitations_moderator_id_moderators",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["moderators.id"],
                                name="fk_invitations_invited_by_moderators",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("site_id", "moderator_id", name="pk_invitations"),
    )
    op.create_index("ix_invitations_moderator_id", "invitations", ["moderator_id"])


def downgrade() -> None:
    op.drop_index("ix_invitations_moderator_id", "invitations")
    op.drop_table("invitations")

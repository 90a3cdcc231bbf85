"""Single sign-on: a site's policy and signing keys, the readers it vouched for (with every
reading of their names), verified comments with their avatars, and claimed comments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _site_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=f"fk_{table}_site_id_sites", ondelete="CASCADE"
    )


def upgrade() -> None:
    # In place (ALTER TABLE ... ADD COLUMN), never Alembic's batch mode: on SQLite it rebuilt
    # comments for the boolean's default, and the rebuild's DROP TABLE cascaded (foreign keys
    # on) into every reply and flag.
    op.add_column("sites", sa.Column("sso", sa.Text(), nullable=False, server_default="{}"))
    op.add_column(
        "comments",
        sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column("comments", sa.Column("author_avatar", sa.String(2048)))
    op.create_table(
        "sso_keys",
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("material", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _site_fk("sso_keys"),
        sa.PrimaryKeyConstraint("site_id", "kid", name="pk_sso_keys"),
    )
    op.create_table(
        "identities",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("author_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("avatar", sa.String(2048)),
        sa.Column("moderator", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        _site_fk("identities"),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("author_hash", name="uq_identities_author_hash"),
        sa.UniqueConstraint("site_id", "subject", name="uq_identities_site_id_subject"),
    )
    op.create_table(
        "identity_names",
        sa.Column("identity_id", Id, nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name="fk_identity_names_identity_id_identities",
            ondelete="CASCADE",
        ),
        _site_fk("identity_names"),
        sa.PrimaryKeyConstraint("identity_id", "name_key", name="pk_identity_names"),
    )
    op.create_index("ix_identity_names_site_id_name_key", "identity_names", ["site_id", "name_key"])
    op.create_table(
        "claims",
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("identity_hash", sa.String(64), nullable=False),
        sa.Column("author_hash", sa.String(64), nullable=False),
        sa.Column("author_name", sa.String(50)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name="fk_claims_comment_id_comments",
            ondelete="CASCADE",
        ),
        _site_fk("claims"),
        sa.PrimaryKeyConstraint("comment_id", name="pk_claims"),
    )
    op.create_index("ix_claims_site_id_identity_hash", "claims", ["site_id", "identity_hash"])
    op.create_index("ix_claims_site_id_author_hash", "claims", ["site_id", "author_hash"])


def downgrade() -> None:
    op.drop_table("claims")
    op.drop_table("identity_names")
    op.drop_table("identities")
    op.drop_table("sso_keys")
    # In place, never Alembic's batch rebuild: on SQLite its DROP TABLE of the old table
    # cascades (foreign keys are on) into every row that hangs off it.
    for table, column in (
        ("comments", "author_avatar"),
        ("comments", "verified"),
        ("sites", "sso"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

"""The duplicate check by index: ``comments.body_hash`` (a short hash of the text), indexed
with the page. Before, it read every comment the author's network posted in the last ten
minutes and compared texts: on a hot page posted to from one network (an office, a proxy,
a mobile carrier) that was thousands of rows a post, growing as the page filled. Comments
from before this migration have no hash and are not compared (only the next ten minutes
could have found them).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (ALTER TABLE ... ADD COLUMN), never Alembic's batch mode (see 0007).
    op.add_column("comments", sa.Column("body_hash", sa.String(16)))
    # With the time: a common text ("Thanks!") posted thousands of times on a page is not
    # read back to its first copy, only within the window.
    op.create_index(
        "ix_comments_page_id_body_hash_created_at",
        "comments",
        ["page_id", "body_hash", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_comments_page_id_body_hash_created_at", "comments")
    op.execute("ALTER TABLE comments DROP COLUMN body_hash")

"""Events keep a reference to their comment instead of a copy of it.

A copy outlived erasure: after an author erased their comments, a replay from seq 0 still
served the original text and name. Replays now render each event from the comment as it is
(server/core/events.py), so the copies are dropped here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("comment_id", Id))
        batch.add_column(
            sa.Column("comment_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    conn = op.get_bind()
    events = sa.table(
        "events",
        sa.column("id", Id),
        sa.column("payload", sa.Text()),
        sa.column("comment_id", Id),
        sa.column("comment_count", sa.Integer()),
    )
    move = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("b_id"))
        .values(comment_id=sa.bindparam("b_comment"), comment_count=sa.bindparam("b_count"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events.c.id, events.c.payload)
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = []
        for event_id, payload in rows:
            data = json.loads(payload)
            comment = data.get("comment") or {}
            values.append(
                {
                    "b_id": event_id,
                    "b_comment": comment.get("id"),
                    "b_count": int(data.get("count") or 0),
                }
            )
        conn.execute(move, values)
        last = rows[-1][0]
    with op.batch_alter_table("events") as batch:
        batch.drop_column("payload")


def downgrade() -> None:
    # The copies cannot come back (they were the point); replays keep working from the
    # references, which this revision's code needs.
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), server_default="{}", nullable=False))
        batch.drop_column("comment_count")
        batch.drop_column("comment_id")

"""PostgreSQL numbers a page's events at COMMIT (issue #19, a hot page).

A page's ``seq`` must be gap-free and in commit order, so numbering an event locks the
page's row until its transaction ends. Numbered by a statement, the lock spanned the round
trips to COMMIT and each post's wait in a busy server's event loop (tens of milliseconds a
post at 250 posts/s on one page), and every post to the page queued behind it. Now an event
is stored with a placeholder ``seq`` (its negated id: unique, and never a real seq), and a
deferred constraint trigger numbers it at COMMIT: the lock is held for the commit alone.
The page's comment count moves with it (the placeholder row carries the change in
``comment_count`` until then). SQLite numbers in the statement as before: its writers queue
on one database lock whatever they do.

Stop every server before a downgrade below this revision: a process started on it keeps
storing events unnumbered, and without the trigger nothing would number them. (Servers of
an older revision running beside newer ones during an upgrade number their own events, with
a positive seq the trigger leaves alone.)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NUMBER_EVENT = """
CREATE FUNCTION threadline_number_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
    next_count integer;
BEGIN
    UPDATE pages
       SET seq = seq + 1, comment_count = comment_count + NEW.comment_count
     WHERE id = NEW.page_id
    RETURNING seq, comment_count INTO next_seq, next_count;
    IF FOUND THEN
        UPDATE events SET seq = next_seq, comment_count = next_count WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$
"""

NUMBERED_AT_COMMIT = """
CREATE CONSTRAINT TRIGGER events_numbered_at_commit
AFTER INSERT ON events
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.seq < 0)
EXECUTE FUNCTION threadline_number_event()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NUMBER_EVENT)
    op.execute(NUMBERED_AT_COMMIT)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS events_numbered_at_commit ON events")
    op.execute("DROP FUNCTION IF EXISTS threadline_number_event()")

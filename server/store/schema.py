"""The tables. Migrations under ``migrations/`` must produce exactly this (a test checks)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from server.core.transactions.subscriptions import LISTED_CHARACTERS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
Id = BigInteger().with_variant(Integer(), "sqlite")

sites = Table(
    "sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("origins", Text, nullable=False),  # JSON list of normalised origins
    Column("moderation", String(16), nullable=False, server_default="none"),
    Column("filters", Text, nullable=False, server_default="{}"),  # JSON object
    Column("created_at", BigInteger, nullable=False),
    Column("notify", Text, nullable=False, server_default="{}"),  # JSON: webhook, e-mails
    Column("sso", Text, nullable=False, server_default="{}"),  # JSON: policy, moderators
    Column("reactions", Text, nullable=False, server_default="{}"),  # JSON: kind, emoji
)

pages = Table(
    "pages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(512), nullable=False),
    Column("url", String(2048)),
    Column("title", String(300)),
    Column("seq", BigInteger, nullable=False, server_default=text("0")),
    Column("comment_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("site_id", "key"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("page_id", Id, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Id, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("reply_to_id", Id),
    Column("author_name", String(50)),
    Column("author_hash", String(64)),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("moderator", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", BigInteger, nullable=False),
    Column("edited_at", BigInteger),
    Column("reply_count", Integer, nullable=False, server_default=text("0")),
    Column("flags", Integer, nullable=False, server_default=text("0")),
    Column("held_reason", String(200)),
    Column("ip_hash", String(32)),
    Column("idempotency_key", String(100)),
    # Set by a moderator's Delete, which keeps the text (hidden) to be restored; cleared when
    # the hourly clean-up blanks it after 30 days (core/erasure.py).
    Column("deleted_at", BigInteger),
    Column("deleted_from", String(16)),
    # Written by a signed-in reader (single sign-on), and the avatar URL their token gave.
    Column("verified", Boolean, nullable=False, server_default=text("false")),
    Column("author_avatar", String(2048)),
    # Engagement: the live reaction totals (JSON object, reaction -> count, kept in the same
    # transaction as the reaction rows), and when a moderator pinned it (NULL: not pinned).
    Column("reaction_counts", Text, nullable=False, server_default="{}"),
    Column("pinned_at", BigInteger),
    # A short hash of the text (store.tx_comments), so the duplicate check finds the same
    # text on the page by index instead of reading every recent comment of the network
    # (a hot page from one network read thousands a post). None where the text is gone.
    Column("body_hash", String(16)),
    UniqueConstraint("site_id", "idempotency_key"),
    Index(None, "page_id", "parent_id", "created_at", "id"),
    Index(None, "site_id", "status", "created_at"),
    Index(None, "site_id", "author_hash"),
    Index(None, "site_id", "ip_hash", "created_at"),
    Index(None, "page_id", "body_hash", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("page_id", Id, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    # A reference, never a copy: replays render the comment as it is now (core/events.py).
    Column("comment_id", Id),
    Column("comment_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("page_id", "seq"),
)

# Where the fan-out (core.fanout) has read each page's events to: what was published after
# ``seq`` is still to tell those it answers and who follow its thread (issue #18).
fanout_cursors = Table(
    "fanout_cursors",
    metadata,
    Column(
        "page_id",
        Id,
        ForeignKey("pages.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("seq", BigInteger, nullable=False),
)

moderators = Table(
    "moderators",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("display_name", String(50)),
)

moderator_sites = Table(
    "moderator_sites",
    metadata,
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="SET NULL")),
    Column("action", String(32), nullable=False),
    Column("comment_id", Id),
    Column("before_status", String(16)),
    Column("after_status", String(16)),
    Column("detail", Text),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "site_id", "created_at"),
    Index(None, "comment_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # the cookie holds the token itself
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("seen_at", BigInteger, nullable=False),
    Index(None, "moderator_id"),
)

comment_flags = Table(
    "comment_flags",
    metadata,
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    Column("reporter", String(64), primary_key=True),  # author-token hash or IP hash
    Column("created_at", BigInteger, nullable=False),
)

bans = Table(
    "bans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("author_hash", String(64)),
    Column("ip_hash", String(32)),
    Column("mode", String(16), nullable=False),  # reject | hold
    Column("reason", String(200)),
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="SET NULL")),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "site_id", "author_hash"),
    Index(None, "site_id", "ip_hash"),
)

# A moderator who forgot their password is sent a link holding a secret token (only its hash
# is stored): it works once, within an hour, and only the newest one sent to an account.
password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "moderator_id"),
)

# An owner's offer of a site to an e-mail address, sent to it as a link holding a secret
# token (only its hash is stored): whoever can read that mailbox may accept it.
invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("invited_by", Id, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    UniqueConstraint("site_id", "email"),
)

# Single sign-on. The keys a site's backend signs its readers' tokens with (several at once,
# told apart by ``kid``, so they can be rotated); an HS256 secret is sealed (core/sealing.py).
sso_keys = Table(
    "sso_keys",
    metadata,
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("material", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# The readers a site vouched for: its user id, and from its token only the name and avatar.
identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("author_hash", String(64), nullable=False, unique=True),
    Column("name", String(50), nullable=False),
    Column("avatar", String(2048)),
    Column("moderator", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", BigInteger, nullable=False),
    Column("seen_at", BigInteger, nullable=False),
    # Sessions issued before this moment (ms) are over: the reader signed out.
    Column("sessions_from", BigInteger, nullable=False, server_default=text("0")),
    UniqueConstraint("site_id", "subject"),
)

# Each reading of each verified name (core/names.py): an anonymous name with one of them
# would pass for that reader, and is refused.
identity_names = Table(
    "identity_names",
    metadata,
    Column("identity_id", Id, ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(200), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Index(None, "site_id", "name_key"),
)

# Anonymous comments a signed-in reader attached to their identity, with the author and the
# name they had before, so a moderator can give them back.
claims = Table(
    "claims",
    metadata,
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("identity_hash", String(64), nullable=False),
    Column("author_hash", String(64), nullable=False),
    Column("author_name", String(50)),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "site_id", "identity_hash"),
    Index(None, "site_id", "author_hash"),
)

# One reader's reaction to one comment. A live row has ``removed_at`` NULL; taking a reaction
# back or changing it stamps ``removed_at`` (and a change inserts the new one), so the
# ranking of a thread as it stood at any recent moment can be computed again: that is how
# paging under ``order=best`` stays exact while reactions keep arriving (docs/protocol.md).
# Removed rows are deleted after a day. ``voter`` is the author hash of the reader's token or
# of their signed-in identity; ``network`` the hashed client network of an anonymous reader
# (one live reaction per network and comment), NULL for signed-in readers and after 30 days.
reactions = Table(
    "reactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("page_id", Id, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("voter", String(64), nullable=False),
    Column("network", String(32)),
    Column("kind", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("removed_at", BigInteger),
    Index(
        "ix_reactions_live_voter",
        "comment_id",
        "voter",
        unique=True,
        sqlite_where=text("removed_at IS NULL"),
        postgresql_where=text("removed_at IS NULL"),
    ),
    Index(
        "ix_reactions_live_network",
        "comment_id",
        "network",
        unique=True,
        sqlite_where=text("removed_at IS NULL AND network IS NOT NULL"),
        postgresql_where=text("removed_at IS NULL AND network IS NOT NULL"),
    ),
    Index(None, "page_id", "created_at"),
    Index(None, "site_id", "voter"),
    Index(None, "removed_at"),
    # The hourly clean-up forgets networks after 30 days: only rows still naming one.
    Index(
        "ix_reactions_networked_created_at",
        "created_at",
        sqlite_where=text("network IS NOT NULL"),
        postgresql_where=text("network IS NOT NULL"),
    ),
)

# What a reader hears back about (issue #18): a reply to their comment, a moderator's decision
# on their held one, reactions to theirs (one row per comment, updated in place, ``actors``
# the comment's live reactions). ``recipient`` is the reader's author hash (their token's, or
# their signed-in identity's); rows are written in the transaction of the change that causes
# them, and forgotten 30 days after they last changed (and with the reader's data).
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # No foreign keys to the site or the page: a notification belongs to its comment, whose
    # cascade removes it with them. (The page's was a key-share lock, for a whole fan-out
    # batch, on the row every post to the page updates: a multixact per post on PostgreSQL.)
    Column("site_id", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("page_id", Id, nullable=False),
    Column("actors", Integer, nullable=False, server_default="1"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("read_at", BigInteger),
    Index(None, "site_id", "recipient", "id"),
    # One row per comment, recipient and kind: what lets the fan-out insert many at once.
    # The comment first: a batch's rows land at the index's right edge (new comments have
    # the highest ids), not on a leaf per reader; and it serves the cascade from comments
    # and erasure's deletes by comment.
    Index(None, "comment_id", "recipient", "kind", unique=True),
    # The hourly prune goes by the last change, not the first: a summary renewed yesterday
    # is a day old.
    Index(None, "updated_at"),
)

# E-mail subscriptions (issue #18). An address is kept per site and per reader who gave it
# (``author_hash``): ``sealed`` is the address encrypted with a key derived from the secret
# key (``core.sealing``), ``digest`` a keyed HMAC of the normalised address, the same on every
# site, so the confirmation cap counts one address everywhere without reading any address.
mail_addresses = Table(
    "mail_addresses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("sealed", Text, nullable=False),
    Column("author_hash", String(64), nullable=False),
    Column("lang", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("confirmed_at", BigInteger),
    Column("confirmation_sent_at", BigInteger),
    UniqueConstraint("site_id", "digest", "author_hash"),
    Index(None, "site_id", "author_hash"),
)

# What an address follows: ``replies`` to one comment, or a ``thread`` (every comment
# published on the page; ``comment_id`` is the comment it was asked from).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("address_id", Id, ForeignKey("mail_addresses.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("page_id", Id, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_sent_at", BigInteger),
    Index(None, "address_id"),
    Index(None, "comment_id"),
    Index(None, "page_id", "scope"),
)

# The durable outbox: a row per mail to send (``confirm``: an address's confirmation;
# ``reply``: what a subscription hears of, ``comment_ids`` listing the comments, comma
# separated, oldest first), written in the transaction that causes it and claimed by one
# process at a time (``due_at`` moves ahead while it sends). A subscription has at most one
# open mail (a reply row not yet tried whose list is shorter than ``LISTED_CHARACTERS``):
# news joins it, so a busy thread writes a row per follower and batch, not per follower
# and comment; a full one is left for the next. A sent row stays (``sent_at``) so a comment
# held again and re-approved is not news twice.
OPEN_MAIL = (
    "kind = 'reply' AND sent_at IS NULL AND attempts = 0 "
    f"AND length(comment_ids) < {LISTED_CHARACTERS}"
)
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("address_id", Id, ForeignKey("mail_addresses.id", ondelete="CASCADE"), nullable=False),
    Column("subscription_id", Id, ForeignKey("subscriptions.id", ondelete="CASCADE")),
    Column("comment_ids", Text, nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sent_at", BigInteger),
    Index(None, "sent_at", "due_at"),
    Index(None, "address_id"),
    Index(None, "subscription_id"),  # a subscription's rows, and under its cascade
    Index(
        "ux_mail_outbox_open",
        "subscription_id",
        unique=True,
        sqlite_where=text(OPEN_MAIL),
        postgresql_where=text(OPEN_MAIL),
    ),
)

# Mail sent per site and UTC day (days since the epoch): the daily cap.
mail_sent_daily = Table(
    "mail_sent_daily",
    metadata,
    Column(
        "site_id",
        String(64),
        ForeignKey("sites.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Integer, primary_key=True),
    Column("sent", Integer, nullable=False, server_default="0"),
)

# When an address (its digest) was last sent a confirmation, on any site: at most one a day.
# Not erased with a reader's data on purpose (erasing and asking again would reset the cap);
# it holds no address, and rows older than a day are pruned hourly.
mail_throttle = Table(
    "mail_throttle",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("confirmation_sent_at", BigInteger, nullable=False),
)

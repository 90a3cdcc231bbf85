"""One transaction's queries: the store's implementation of ``core.ports.Tx``, composed of
one class of queries per slice of the port (``server.core.transactions``)."""

from __future__ import annotations

from server.core.ports import Tx
from server.store.connection import Connection
from server.store.tx_audit import AuditQueries
from server.store.tx_bans import BanQueries
from server.store.tx_comments import CommentQueries
from server.store.tx_events import EventQueries
from server.store.tx_fanout import FanOutQueries
from server.store.tx_flags import FlagQueries
from server.store.tx_identities import ClaimQueries, IdentityQueries, SsoKeyQueries
from server.store.tx_imports import ImportQueries
from server.store.tx_invitations import InvitationQueries
from server.store.tx_maintenance import MaintenanceQueries
from server.store.tx_moderators import ModeratorQueries
from server.store.tx_notifications import NotificationQueries
from server.store.tx_pages import PageQueries
from server.store.tx_queue import QueueQueries
from server.store.tx_ranking import RankingQueries
from server.store.tx_reactions import ReactionQueries
from server.store.tx_sessions import SessionQueries
from server.store.tx_sites import SiteQueries
from server.store.tx_subscriptions import SubscriptionQueries


class SqlTx(
    SiteQueries,
    PageQueries,
    CommentQueries,
    EventQueries,
    QueueQueries,
    FlagQueries,
    BanQueries,
    AuditQueries,
    ModeratorQueries,
    SessionQueries,
    InvitationQueries,
    ImportQueries,
    MaintenanceQueries,
    SsoKeyQueries,
    IdentityQueries,
    ClaimQueries,
    RankingQueries,
    ReactionQueries,
    NotificationQueries,
    SubscriptionQueries,
    FanOutQueries,
    Tx,
):
    """Queries run inside one transaction on one connection."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.unnumbered: list[int] = []  # events the commit numbers (PostgreSQL), by id

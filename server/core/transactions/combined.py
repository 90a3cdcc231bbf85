"""Slices that one use-case needs together, named for it.

A function taking one of these can touch nothing else in the store: mypy checks that its
body calls only what the slices declare."""

from __future__ import annotations

from typing import Protocol

from server.core.transactions.accounts import (
    InvitationsTx,
    ModeratorsTx,
    PasswordResetsTx,
    SessionsTx,
)
from server.core.transactions.comments import CommentsTx
from server.core.transactions.events import EventsTx
from server.core.transactions.identities import IdentitiesTx
from server.core.transactions.imports import ImportsTx
from server.core.transactions.moderation import AuditTx
from server.core.transactions.pages import PagesTx
from server.core.transactions.reactions import ReactionsTx


class PublicChangeTx(PagesTx, CommentsTx, EventsTx, Protocol):
    """A comment joins, leaves or changes in public view: the page takes its next ``seq``,
    the parent counts the reply and the event is stored for readers to catch up from."""


class AuthorChangeTx(CommentsTx, IdentitiesTx, Protocol):
    """An author changes their comment: the comment, and whom a reader's session names."""


class DecisionHistoryTx(AuditTx, ModeratorsTx, Protocol):
    """Who put a comment in its current status, from the audit log and the accounts."""


class PasswordChangeTx(ModeratorsTx, SessionsTx, PasswordResetsTx, Protocol):
    """A new password ends the account's sessions and its reset links."""


class ResetLinkTx(PasswordResetsTx, ModeratorsTx, Protocol):
    """A password reset link and the account it opens."""


class InvitationLinkTx(InvitationsTx, ModeratorsTx, Protocol):
    """An invitation link and the owner who sent it."""


class ImportWritingTx(ImportsTx, PagesTx, CommentsTx, ReactionsTx, Protocol):
    """An import writes pages, comments and their reaction totals, and skips what an
    earlier run wrote."""

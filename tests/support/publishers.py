"""A Publisher for tests that drive core directly: it drops what it is given (the tests look
at the database); subclasses keep what they want to see."""

from __future__ import annotations

from server.core.context import NothingToPublish


class NoPublisher(NothingToPublish):
    """Drops what it is given; subclasses keep what they want to see."""

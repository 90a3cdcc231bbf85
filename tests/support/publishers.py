"""A Publisher for tests that drive core directly: it drops what it is given (the tests look
at the database); subclasses keep what they want to see."""

from __future__ import annotations

from collections.abc import Sequence

from server.core.models import Event


class NoPublisher:
    async def publish(self, events: Sequence[Event]) -> None:
        return None

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        return None

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        return None

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        return None

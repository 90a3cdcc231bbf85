"""The live node's roles in one process, without sockets: admission, typing, presence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from server.broker.memory import MemoryBroker
from server.broker.messages import EVENT, PRESENCE, unpack
from server.core.errors import RateLimited
from server.core.models import Page
from server.live import presence
from server.live.frames import Frame
from server.live.node import LiveNode
from server.live.presence import PresenceTracker, TypingRelay
from server.live.room import Room


class Recording(MemoryBroker):
    """The in-process broker, keeping what was published."""

    def __init__(self) -> None:
        super().__init__("test")
        self.sent: list[tuple[str, bytes]] = []

    async def publish(self, channel: str, message: bytes) -> None:
        self.sent.append((channel, message))


@dataclass(eq=False)
class Socket:
    """What the roles use of a LiveConnection."""

    room: Room | None
    id: str = "node.1"
    ip: str = "198.51.100.1"
    typing_at: float = 0.0
    pushed: list[bytes] = field(default_factory=list)

    def push(self, frame: Frame) -> None:
        self.pushed.append(frame.data)


def _room(page_id: int = 1) -> Room:
    async def load(*_: Any) -> list[tuple[int, Frame, bool]]:
        return []

    page = Page(page_id, "s", f"page-{page_id}", None, None, 0, 0)
    return Room(f"tl:p:s:{page_id}", page, load)


def test_a_client_gets_its_cap_of_sockets_and_not_one_more() -> None:
    rooms = LiveNode(MemoryBroker("test"), store=None).rooms  # type: ignore[arg-type]
    for _ in range(3):
        rooms.admit("198.51.100.1", 3)
    with pytest.raises(RateLimited) as refused:
        rooms.admit("198.51.100.1", 3)
    assert refused.value.code == "too_many_connections"
    rooms.admit("198.51.100.2", 3)
    assert rooms.connections == 4
    rooms.release("198.51.100.1")
    rooms.admit("198.51.100.1", 3)
    for _ in range(3):
        rooms.release("198.51.100.1")
    rooms.release("198.51.100.2")
    assert rooms.connections == 0 and not rooms.per_ip


async def test_typing_is_relayed_once_per_socket_interval_and_never_names_the_typist() -> None:
    broker = Recording()
    relay = TypingRelay(broker, broker)
    socket: Any = Socket(_room())
    await relay.relay(socket)
    await relay.relay(socket)  # within TYPING_EVERY: dropped
    [(channel, message)] = broker.sent
    kind, seq, skip, data = unpack(message)
    assert (channel, kind, seq, skip) == ("tl:p:s:1", EVENT, 0, "node.1")
    assert b"node.1" not in data and b"198.51.100.1" not in data


async def test_typing_forgets_quiet_pages_instead_of_growing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(presence, "TYPING_PAGES_KEPT", 10)
    monkeypatch.setattr(presence, "PAGE_TYPING_EVERY", 0.0)  # every earlier page is quiet
    broker = Recording()
    relay = TypingRelay(broker, broker)
    for page_id in range(25):
        socket: Any = Socket(_room(page_id), id=f"node.{page_id}")
        await relay.relay(socket)
    assert len(broker.sent) == 25
    assert len(relay._page_typed_at) <= 10


async def test_presence_tells_newcomers_the_count_and_everyone_only_changes() -> None:
    broker = Recording()
    tracker = PresenceTracker(broker, broker)
    room = _room()
    first: Any = Socket(room, id="node.1")
    room.conns.add(first)
    tracker.joined(room, first)
    await tracker._flush()
    assert [unpack(m)[0] for _, m in broker.sent] == [PRESENCE]  # the doorbell
    assert first.pushed == [b'{"type":"presence","page":"page-1","seq":0,"data":{"count":1}}']
    await tracker.push([room])  # no change: nobody is told again
    assert len(first.pushed) == 1
    tracker.forget(room)
    await tracker.push([room])  # a room seen anew tells its readers once more
    assert len(first.pushed) == 2

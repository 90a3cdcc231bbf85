"""The cross-process message codec: what one process sends the others on broker channels.

Page and moderation channels carry ``<kind>|<seq>|<target>|<frame>``:
  e  a frame for every socket on the channel except the one named by target (typing,
     reviewing); a durable one (seq > 0) has target REDACTS when it takes text out of
     public view
  a  a frame only for the sockets of the author whose token hash is target
  p  a doorbell: presence on this page changed somewhere; recount
  c  a doorbell: the reaction totals of the comment whose id is the frame changed; target
     is the ringing process's node id (it has rung its own rooms already)
The frame is the exact text sockets are sent, serialised once by the publishing process.
The forget channel carries ``<site id>\\n<page key>``."""

from __future__ import annotations

EVENT, AUTHOR, PRESENCE, REACTIONS = b"e", b"a", b"p", b"c"
REDACTS = "r"


def pack(kind: bytes, seq: int, target: str, data: bytes) -> bytes:
    return b"%s|%d|%s|%s" % (kind, seq, target.encode(), data)


def unpack(message: bytes) -> tuple[bytes, int, str, bytes]:
    kind, seq, target, data = message.split(b"|", 3)
    return kind, int(seq), target.decode(), data


def forget_message(site_id: str, page_key: str) -> bytes:
    # Neither part can hold a newline: page keys and site ids refuse control characters.
    return f"{site_id}\n{page_key}".encode()


def read_forget_message(message: bytes) -> tuple[str, str]:
    site_id, _, page_key = message.decode().partition("\n")
    return site_id, page_key

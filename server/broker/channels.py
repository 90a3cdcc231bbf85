"""Every channel and key name, from one place."""

from __future__ import annotations


def page_channel(site_id: str, page_id: int) -> str:
    return f"tl:p:{site_id}:{page_id}"


# Every process listens here: a page whose text left public view, to drop from caches.
FORGET_CHANNEL = "tl:forget"


def forget_message(site_id: str, page_key: str) -> bytes:
    # Neither part can hold a newline: page keys and site ids refuse control characters.
    return f"{site_id}\n{page_key}".encode()


def read_forget_message(message: bytes) -> tuple[str, str]:
    site_id, _, page_key = message.decode().partition("\n")
    return site_id, page_key


MODERATION_PREFIX = "tl:mod:"


def moderation_channel(site_id: str) -> str:
    return MODERATION_PREFIX + site_id


def heartbeat_channel(node_id: str) -> str:
    return f"tl:hb:{node_id}"


def presence_key(channel: str) -> str:
    return f"tl:presence:{channel}"


NODE_PREFIX = "tl:node:"


def node_key(node_id: str) -> str:
    return NODE_PREFIX + node_id


def limit_key(key: str) -> str:
    return f"tl:rl:{key}"

"""Every channel and key name, from one place (what travels on them: messages.py)."""

from __future__ import annotations


def page_channel(site_id: str, page_id: int) -> str:
    return f"tl:p:{site_id}:{page_id}"


# Every process listens here: a page whose text left public view, to drop from caches.
FORGET_CHANNEL = "tl:forget"


# One channel per reader (site, author hash): doorbells that their notifications changed.
READER_PREFIX = "tl:r:"


def reader_channel(site_id: str, author_hash: str) -> str:
    return f"{READER_PREFIX}{site_id}:{author_hash}"


MODERATION_PREFIX = "tl:mod:"


def moderation_channel(site_id: str) -> str:
    return MODERATION_PREFIX + site_id


def site_of_moderation_channel(channel: str) -> str:
    return channel.removeprefix(MODERATION_PREFIX)


def heartbeat_channel(node_id: str) -> str:
    return f"tl:hb:{node_id}"


def presence_key(channel: str) -> str:
    return f"tl:presence:{channel}"


NODE_PREFIX = "tl:node:"


def node_key(node_id: str) -> str:
    return NODE_PREFIX + node_id


def limit_key(key: str) -> str:
    return f"tl:rl:{key}"

"""Every channel and key name, from one place (what travels on them: messages.py)."""

from __future__ import annotations


def page_channel(site_id: str, page_id: int) -> str:
    # The braces are a Redis Cluster hash tag: the page's channel and its presence keys
    # (which name the channel) live in one slot, so one shard carries all of a page.
    return f"tl:p:{{{site_id}:{page_id}}}"


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
    """The set of processes with readers on ``channel``."""
    return f"tl:presence:{channel}"


def presence_count_key(channel: str, node_id: str) -> str:
    """How many readers process ``node_id`` has on ``channel``: expires with the process
    (same hash tag as the channel, so one slot holds the set and its counts)."""
    return f"tl:presence:{channel}:{node_id}"


def limit_key(key: str) -> str:
    return f"tl:rl:{key}"

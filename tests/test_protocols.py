"""How the HTTP protocol counts a client's connections (the rest of server/runtime/ is
tested against real servers in tests/live)."""

from __future__ import annotations

import pytest

from server.runtime.limits import connection_key

TRUSTED = ("10.0.0.0/24", "2001:db8:ffff::1")


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # one subscriber's /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: someone else
        ("::ffff:203.0.113.7", "203.0.113.7"),  # an IPv4 client of a dual-stack socket
        ("10.0.0.9", None),  # a trusted proxy: every reader behind it shares its address
        ("2001:db8:ffff::1", None),
        ("/run/threadline.sock", None),  # not an IP address
    ],
)
def test_connections_are_counted_by_ipv4_address_or_ipv6_64(host: str, key: str | None) -> None:
    assert connection_key(host, TRUSTED) == key

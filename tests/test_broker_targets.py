"""THREADLINE_REDIS_URL names one Redis, a Sentinel-watched master or a Cluster (issue
#20); anything else is refused at start with what was expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.broker.targets import BrokerUrlError, RedisTarget, parse_target
from server.settings import Settings, SettingsError


def test_one_server_as_before() -> None:
    assert parse_target("redis://127.0.0.1:6379/0") == RedisTarget(
        "single", "redis://127.0.0.1:6379/0"
    )
    assert parse_target("rediss://:secret@cache:6380/2").tls
    assert parse_target("unix:///run/redis.sock").mode == "single"


def test_sentinel_with_nodes_service_database_and_credentials() -> None:
    url = "redis+sentinel://app:p%40ss@10.0.0.1:26379,10.0.0.2:26380,[::1]:26381/tl/3"
    assert parse_target(url) == RedisTarget(
        "sentinel",
        url,
        (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 26381)),
        service="tl",
        db=3,
        username="app",
        password="p@ss",
        tls=False,
    )
    only_password = parse_target("rediss+sentinel://secret@s1:26379/tl")
    assert (only_password.username, only_password.password) == (None, "secret")
    assert only_password.tls and only_password.db == 0


def test_cluster_with_seed_nodes() -> None:
    target = parse_target("redis+cluster://c1:7000,c2:7001")
    assert target.mode == "cluster"
    assert target.nodes == (("c1", 7000), ("c2", 7001))


@pytest.mark.parametrize(
    "url",
    [
        "memcached://127.0.0.1:11211",
        "redis+sentinel://s1:26379",  # no service
        "redis+sentinel://s1:26379/tl/zero",  # a database that is no number
        "redis+sentinel://s1:26379/tl/0/extra",
        "redis+sentinel://s1/tl",  # no port
        "redis+sentinel://s1:99999/tl",
        "redis+sentinel://s1:26379/tl?ssl=true",
        "redis+cluster://c1:7000/0",  # a cluster has database 0 only
        "redis+replica://r1:6379",
        "127.0.0.1:6379",
        "redis+sentinel://fd00::1:26379/tl",  # IPv6 without its brackets
        "redis+sentinel://[::1:26379/tl",
        "redis+sentinel://s1:2637\u00b2/tl",  # a digit Python reads, int() does not
        "redis+sentinel://s 1:26379/tl",
    ],
)
def test_anything_else_is_refused_with_what_was_expected(url: str) -> None:
    with pytest.raises(BrokerUrlError, match="expected redis://"):
        parse_target(url)


def test_a_bad_url_stops_the_server_at_start_with_its_reason() -> None:
    with pytest.raises(SettingsError, match="THREADLINE_REDIS_URL: unknown scheme 'http'"):
        Settings.from_env({"THREADLINE_REDIS_URL": "http://cache:6379"})
    cluster = "rediss+cluster://app:secret@c1:7000,c2:7000"
    assert Settings.from_env({"THREADLINE_REDIS_URL": cluster}).redis_url == cluster
    sentinel = "redis+sentinel://s1:26379,s2:26379/tl"
    assert Settings.from_env({"THREADLINE_REDIS_URL": sentinel}).redis_url == sentinel


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://app:pa/ss@s1:26379/tl",  # the / splits the password off
        "redis://app:pa#ss@cache:6379/0",
    ],
)
def test_a_refusal_never_quotes_the_url(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"THREADLINE_REDIS_URL": url})
    assert "pa" not in str(refused.value).replace("expected", "")


def test_a_comma_in_the_password_is_the_passwords() -> None:
    target = parse_target("redis+sentinel://app:pa,ss@s1:26379,s2:26379/tl")
    assert target.password == "pa,ss"
    assert target.nodes == (("s1", 26379), ("s2", 26379))


def test_settings_show_a_sentinel_url_without_its_password() -> None:
    from server.settings.values import shown

    assert shown("redis+sentinel://app:hunter2@s1:26379,s2:26379/tl", hidden=False) == (
        "redis+sentinel://app:***@s1:26379,s2:26379/tl"
    )
    assert shown("redis://hunter2@cache:6379/0", hidden=False) == "redis://***@cache:6379/0"
    assert "hunter2" not in shown("rediss://:hunter2@cache:6380/1", hidden=False)


def test_the_guides_broker_urls_are_ones_the_server_takes() -> None:
    """docs/operators.md's Sentinel and Cluster examples, as an operator would fill them in
    (the optional parts written out and left out), start a server."""
    guide = (Path(__file__).resolve().parent.parent / "docs" / "operators.md").read_text()
    examples = re.findall(r"`THREADLINE_REDIS_URL=(rediss?\+\w+://[^`]+)`", guide)
    assert {url.partition("://")[0] for url in examples} == {"redis+sentinel", "redis+cluster"}
    for example in examples:
        for url in (re.sub(r"\[/DB\]", "", example), example.replace("[/DB]", "/2")):
            url = url.replace("SERVICE", "tl")
            target = parse_target(url)
            assert target.mode in ("sentinel", "cluster")
            assert len(target.nodes) == 3
            assert Settings.from_env({"THREADLINE_REDIS_URL": url}).redis_url == url

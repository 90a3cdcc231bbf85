"""Sites and moderators from the command line, on both databases: `site remove` takes every
row of the site with it and nothing else, `moderator passwd` ends the account's sessions,
`moderator add` says when an account exists, `moderator list` shows who moderates what."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, insert, select

from server.core.moderators import find_moderator
from server.core.passwords import hasher, verify
from server.store.database import SqlStore
from server.store.schema import (
    audit_log,
    bans,
    claims,
    comment_flags,
    comments,
    events,
    fanout_cursors,
    identities,
    identity_names,
    invitations,
    mail_addresses,
    mail_outbox,
    mail_sent_daily,
    metadata,
    moderator_sites,
    moderators,
    notifications,
    pages,
    reactions,
    sessions,
    sites,
    sso_keys,
    subscriptions,
)
from tests.support.config import BACKENDS, env_for
from tests.support.db import Databases
from tests.support.servers import ROOT
from tests.test_cli import run

T0 = 1_700_000_000_000
PASSWORD = "correct horse battery"


@pytest.fixture(params=BACKENDS)
async def cli_env(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> dict[str, str]:
    return env_for(await databases.create(request.param), tmp_path)


def _site_rows(conn: Connection, site: str, n: int) -> None:
    """A site with a row in every table that can name it: page, comment and reply, event,
    flag, ban, invitation, audit entry, a moderator's grant."""
    conn.execute(
        insert(sites).values(
            id=site, name=site.title(), origins='["https://a.test"]', created_at=T0
        )
    )
    conn.execute(
        insert(pages).values(id=n, site_id=site, key="p", seq=1, comment_count=2, created_at=T0)
    )
    conn.execute(
        insert(comments).values(
            id=10 * n,
            site_id=site,
            page_id=n,
            body="top",
            status="approved",
            created_at=T0,
            reply_count=1,
        )
    )
    conn.execute(
        insert(comments).values(
            id=10 * n + 1,
            site_id=site,
            page_id=n,
            parent_id=10 * n,
            reply_to_id=10 * n,
            body="reply",
            status="approved",
            created_at=T0,
        )
    )
    conn.execute(
        insert(events).values(
            page_id=n, seq=1, type="comment.created", comment_id=10 * n, created_at=T0
        )
    )
    conn.execute(insert(fanout_cursors).values(page_id=n, seq=1))
    conn.execute(
        insert(comment_flags).values(comment_id=10 * n, reporter=f"ip:{site}", created_at=T0)
    )
    conn.execute(
        insert(reactions).values(
            site_id=site, page_id=n, comment_id=10 * n, voter="v", kind="up", created_at=T0
        )
    )
    conn.execute(
        insert(notifications).values(
            site_id=site,
            recipient="r",
            kind="reply",
            comment_id=10 * n,
            page_id=n,
            created_at=T0,
            updated_at=T0,
        )
    )
    conn.execute(
        insert(bans).values(
            site_id=site, author_hash="ab", mode="hold", moderator_id=1, created_at=T0
        )
    )
    conn.execute(
        insert(invitations).values(
            token_hash=f"{site:x<64}",
            site_id=site,
            email="new@a.test",
            role="moderator",
            invited_by=1,
            created_at=T0,
            expires_at=T0 * 2,
        )
    )
    conn.execute(
        insert(audit_log).values(
            site_id=site, moderator_id=1, action="approve", comment_id=10 * n, created_at=T0
        )
    )
    conn.execute(insert(moderator_sites).values(moderator_id=1, site_id=site, role="owner"))
    conn.execute(
        insert(sso_keys).values(
            site_id=site, kid="k1", algorithm="HS256", material="sealed", created_at=T0
        )
    )
    conn.execute(
        insert(identities).values(
            id=n,
            site_id=site,
            subject="user-1",
            author_hash=f"{site:i<64}",
            name="Ada",
            created_at=T0,
            seen_at=T0,
        )
    )
    conn.execute(insert(identity_names).values(identity_id=n, name_key="ada", site_id=site))
    conn.execute(
        insert(mail_addresses).values(
            id=n,
            site_id=site,
            digest="d" * 64,
            sealed="sealed",
            author_hash="ab",
            lang="en",
            created_at=T0,
        )
    )
    conn.execute(
        insert(subscriptions).values(
            id=n,
            site_id=site,
            address_id=n,
            scope="replies",
            comment_id=10 * n,
            page_id=n,
            created_at=T0,
        )
    )
    conn.execute(
        insert(mail_outbox).values(
            site_id=site,
            kind="reply",
            address_id=n,
            subscription_id=n,
            comment_ids=str(10 * n + 1),
            created_at=T0,
            due_at=T0,
        )
    )
    conn.execute(insert(mail_sent_daily).values(site_id=site, day=1, sent=1))
    conn.execute(
        insert(claims).values(
            comment_id=10 * n,
            site_id=site,
            identity_hash=f"{site:i<64}",
            author_hash="ab",
            created_at=T0,
        )
    )


def _fill(conn: Connection) -> None:
    conn.execute(
        insert(moderators).values(id=1, email="mod@a.test", password_hash="x", created_at=T0)
    )
    conn.execute(
        insert(sessions).values(
            token_hash="t" * 64, moderator_id=1, csrf="c", created_at=T0, seen_at=T0
        )
    )
    _site_rows(conn, "gone", 1)
    _site_rows(conn, "kept", 2)


def _everything(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
        for t in metadata.sorted_tables
    }


def _of_site_gone(table: str, row: dict[str, Any]) -> bool:
    return (
        row.get("site_id") == "gone"
        or (table == "sites" and row["id"] == "gone")
        or row.get("page_id") == 1
        or row.get("comment_id") in (10, 11)
    )


def _primary_key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


async def test_site_remove_takes_every_row_of_the_site_and_nothing_else(
    cli_env: dict[str, str],
) -> None:
    store = SqlStore(cli_env["THREADLINE_DATABASE_URL"], pool_size=1)
    try:
        await store.run_sync(_fill, write=True)
        before = await store.run_sync(
            lambda conn: {
                t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                for t in metadata.sorted_tables
            }
        )
        expected = await store.run_sync(_everything)
        for table in metadata.sorted_tables:
            expected[table.name] = [
                tuple(row.values())
                for row in sorted(before[table.name], key=partial(_primary_key, table))
                if not _of_site_gone(table.name, row)
            ]
        named = {t for t, rows in before.items() if any(_of_site_gone(t, r) for r in rows)}
        assert named == {t.name for t in metadata.sorted_tables} - {
            "moderators",
            "sessions",
            "password_resets",
            "mail_throttle",  # an address's confirmations, across every site
        }  # accounts, not sites

        refused = run(cli_env, "site", "remove", "gone", "--yes")
        assert refused.returncode == 2
        assert "2 comments" in refused.stderr and "--erase" in refused.stderr
        assert "threadline site export gone" in refused.stderr
        removed = run(cli_env, "site", "remove", "gone", "--yes", "--erase")
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout.startswith(
            "removed site gone (Gone): 1 pages, 2 comments, 1 moderators' grants"
        )
        assert await store.run_sync(_everything) == expected
    finally:
        await store.close()
    assert run(cli_env, "site", "list").stdout.split("\t")[0] == "kept"
    again = run(cli_env, "site", "remove", "gone", "--yes")
    assert again.returncode == 2 and "no site 'gone'" in again.stderr


def _on_a_terminal(
    env: dict[str, str], answer: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """The command with a terminal for stdin, typing ``answer``."""
    main, tty = pty.openpty()
    try:
        os.write(main, answer.encode() + b"\n")
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=tty,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(main)
        os.close(tty)


def test_site_remove_asks_for_the_site_id_on_a_terminal_and_for_yes_elsewhere(
    cli_env: dict[str, str],
) -> None:
    assert run(cli_env, "site", "add", "empty", "--origin", "https://e.test").returncode == 0
    piped = run(cli_env, "site", "remove", "empty", stdin="empty\n")
    assert piped.returncode == 2 and "--yes" in piped.stderr
    declined = _on_a_terminal(cli_env, "y", "site", "remove", "empty")
    assert declined.returncode == 1, declined.stderr
    assert "Type the site id to confirm" in declined.stdout
    assert "left unchanged" in declined.stderr
    assert "empty" in run(cli_env, "site", "list").stdout
    confirmed = _on_a_terminal(cli_env, "empty", "site", "remove", "empty")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "removed site empty" in confirmed.stdout
    assert run(cli_env, "site", "list").stdout == ""


async def test_moderator_passwd_sets_the_password_and_ends_every_session(
    cli_env: dict[str, str],
) -> None:
    run(cli_env, "site", "add", "blog", "--origin", "https://blog.test")
    assert (
        run(
            cli_env, "moderator", "add", "mod@example.com", "--site", "blog", stdin=PASSWORD + "\n"
        ).returncode
        == 0
    )
    store = SqlStore(cli_env["THREADLINE_DATABASE_URL"], pool_size=1)
    try:
        moderator = await find_moderator(store, "mod@example.com")
        assert moderator is not None
        async with store.write() as tx:
            for browser in ("a", "b"):
                await tx.insert_session(browser * 64, moderator.id, "csrf", T0)
        short = run(cli_env, "moderator", "passwd", "mod@example.com", stdin="short\n")
        assert short.returncode == 2 and "at least 10" in short.stderr
        changed = run(cli_env, "moderator", "passwd", "Mod@Example.com", stdin="a new passphrase\n")
        assert changed.returncode == 0, changed.stderr
        assert changed.stdout == "changed the password of mod@example.com; ended its 2 sessions\n"
        after = await find_moderator(store, "mod@example.com")
        assert after is not None
        ph = hasher("test")
        assert verify(ph, after.password_hash, "a new passphrase")
        assert not verify(ph, after.password_hash, PASSWORD)
        async with store.read() as tx:
            assert await tx.find_session("a" * 64) is None
            assert await tx.find_session("b" * 64) is None
    finally:
        await store.close()
    unknown = run(cli_env, "moderator", "passwd", "nobody@example.com", stdin="")
    assert unknown.returncode == 2 and "no moderator" in unknown.stderr


async def test_moderator_add_for_an_existing_account_says_its_password_is_unchanged(
    cli_env: dict[str, str],
) -> None:
    for site in ("blog", "shop"):
        run(cli_env, "site", "add", site, "--origin", f"https://{site}.test")
    run(cli_env, "moderator", "add", "mod@example.com", "--site", "blog", stdin=PASSWORD + "\n")
    again = run(
        cli_env,
        "moderator",
        "add",
        "mod@example.com",
        "--site",
        "shop",
        "--owner",
        stdin="another password\n",
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(
        "mod@example.com already has an account: granted shop; its password is unchanged"
    )
    assert "moderator passwd mod@example.com" in again.stdout
    store = SqlStore(cli_env["THREADLINE_DATABASE_URL"], pool_size=1)
    try:
        moderator = await find_moderator(store, "mod@example.com")
    finally:
        await store.close()
    assert moderator is not None
    assert verify(hasher("test"), moderator.password_hash, PASSWORD)
    assert {s: r.value for s, r in moderator.sites.items()} == {
        "blog": "moderator",
        "shop": "owner",
    }


def test_moderator_list_shows_accounts_with_their_sites(cli_env: dict[str, str]) -> None:
    for site in ("blog", "shop"):
        run(cli_env, "site", "add", site, "--origin", f"https://{site}.test")
    run(cli_env, "moderator", "add", "zed@example.com", "--site", "shop", stdin=PASSWORD + "\n")
    run(
        cli_env,
        "moderator",
        "add",
        "ann@example.com",
        "--site",
        "blog",
        "--owner",
        stdin=PASSWORD + "\n",
    )
    run(cli_env, "moderator", "add", "ann@example.com", "--site", "shop")
    everyone = run(cli_env, "moderator", "list")
    assert everyone.returncode == 0, everyone.stderr
    assert everyone.stdout == (
        "ann@example.com\tblog:owner shop:moderator\t\nzed@example.com\tshop:moderator\t\n"
    )
    blog = run(cli_env, "moderator", "list", "--site", "blog")
    assert blog.stdout == "ann@example.com\tblog:owner shop:moderator\t\n"
    unknown = run(cli_env, "moderator", "list", "--site", "nosuch")
    assert unknown.returncode == 2 and "no site 'nosuch'" in unknown.stderr

"""The `threadline` command: help, sites, moderators, errors, and live effect on servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.config import env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ROOT, ServerProcess
from tests.support.services import PostgresCluster, free_port


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def cli_env(databases: Databases, tmp_path: Path) -> dict[str, str]:
    return env_for(await databases.create("sqlite"), tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["migrate"],
        ["site"],
        ["site", "add"],
        ["site", "list"],
        ["site", "update"],
        ["site", "remove"],
        ["moderator"],
        ["moderator", "add"],
        ["moderator", "passwd"],
        ["moderator", "list"],
        ["moderator", "remove"],
        ["settings"],
        ["import"],
        ["db", "copy"],
        ["site", "export"],
    ],
)
def test_every_command_describes_itself(args: list[str], tmp_path: Path) -> None:
    result = run({"THREADLINE_DATA_DIR": str(tmp_path)}, *args, "--help")
    assert result.returncode == 0
    assert "usage: threadline" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_help_loads_neither_the_database_nor_the_web_server_nor_an_event_loop() -> None:
    """`threadline --help` stays quick: each command imports what it needs when it runs."""
    probe = (
        "import sys\n"
        "from server.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({'asyncio', 'sqlalchemy', 'starlette', 'uvicorn'} & sys.modules.keys()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_migrate_puts_the_database_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    result = run({"THREADLINE_DATA_DIR": str(data), "THREADLINE_ENV": "test"}, "migrate")
    assert result.returncode == 0, result.stderr
    assert (data / "threadline.db").is_file()


def test_site_add_list_update(cli_env: dict[str, str]) -> None:
    added = run(
        cli_env,
        "site",
        "add",
        "blog",
        "--origin",
        "https://Blog.Example",
        "--moderation",
        "first-time",
    )
    assert added.returncode == 0, added.stderr
    assert "https://blog.example" in added.stdout
    listed = run(cli_env, "site", "list")
    assert listed.stdout.split("\t")[:3] == ["blog", "first-time", "https://blog.example"]
    updated = run(
        cli_env,
        "site",
        "update",
        "blog",
        "--add-origin",
        "https://www.blog.example",
        "--moderation",
        "all",
        "--banned-word",
        "casino",
    )
    assert updated.returncode == 0, updated.stderr
    assert "https://www.blog.example" in run(cli_env, "site", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["site", "add", "Bad Id!", "--origin", "https://x.test"], "site ids"),
        (["site", "add", "ok", "--origin", "not-an-origin"], "not an origin"),
        (
            ["site", "add", "ok", "--origin", "https://x.test", "--moderation", "some"],
            "invalid choice",
        ),
        (["site", "add", "ok"], "--origin"),
        (["site", "update", "nosuch", "--moderation", "all"], "no site"),
        (["moderator", "remove", "nobody@example.com"], "no moderator"),
        (["bogus"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_error(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = run(cli_env, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_site_is_an_error_unless_exist_ok(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "site", "add", "dup", "--origin", "https://x.test").returncode == 0
    again = run(cli_env, "site", "add", "dup", "--origin", "https://x.test")
    assert again.returncode == 2 and "already exists" in again.stderr
    ok = run(cli_env, "site", "add", "dup", "--origin", "https://x.test", "--exist-ok")
    assert ok.returncode == 0


def test_settings_shows_each_value_in_effect_and_where_it_came_from(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run(
        {
            "THREADLINE_DATA_DIR": str(data),
            "THREADLINE_PAGE_SIZE": "50",
            "THREADLINE_REDIS_URL": "redis://:pw-sekrit@cache:6379/0",
        },
        "settings",
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in result.stdout.splitlines()}
    assert rows["THREADLINE_PAGE_SIZE"] == ["50", "environment"]
    assert rows["THREADLINE_EDIT_WINDOW"] == ["900", "default"]
    assert rows["THREADLINE_REDIS_URL"] == ["redis://:***@cache:6379/0", "environment"]
    assert rows["THREADLINE_DATABASE_URL"] == [f"sqlite:///{data}/threadline.db", "default"]
    assert rows["THREADLINE_SECRET_KEY"][1].startswith("generated into")
    assert "sekrit" not in result.stdout
    assert not data.exists()  # showing the settings writes nothing, not even a secret


def test_bad_setting_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    result = run(
        {"THREADLINE_DATA_DIR": str(tmp_path), "THREADLINE_PAGE_SIZE": "many"}, "site", "list"
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "THREADLINE_PAGE_SIZE" in result.stderr and "whole number" in result.stderr


def test_unmigrated_database_says_how_to_fix_it(tmp_path: Path) -> None:
    env = {
        "THREADLINE_DATA_DIR": str(tmp_path),
        "THREADLINE_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db",
    }
    result = run(env, "site", "list")
    assert result.returncode == 2
    assert "threadline migrate" in result.stderr


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("threadline: error: ") and result.stderr.count("\n") == 1, (
        result.stderr
    )
    return result.stderr


# (what the command is given) -> the arguments of `threadline`; `good` is a migrated SQLite
# database, `missing_pg` a database that is not on the PostgreSQL server, `typo_dir` a SQLite
# path whose directory does not exist, `typo_file` one whose file does not.
DATABASE_MISTAKES = {
    "migrate missing PostgreSQL database": (["migrate"], "missing_pg", "createdb"),
    "migrate mistyped SQLite directory": (["migrate"], "typo_dir", "no directory"),
    "serve missing PostgreSQL database": (["serve", "--port", "PORT"], "missing_pg", "createdb"),
    "serve mistyped SQLite file": (["serve", "--port", "PORT"], "typo_file", "threadline migrate"),
    "site list mistyped SQLite file": (["site", "list"], "typo_file", "no SQLite database"),
    "copy to missing PostgreSQL database": (
        ["db", "copy", "--from", "good", "--to", "missing_pg"],
        None,
        "createdb",
    ),
    "copy from missing PostgreSQL database": (
        ["db", "copy", "--from", "missing_pg", "--to", "new_sqlite"],
        None,
        "createdb",
    ),
    "copy from mistyped SQLite file": (
        ["db", "copy", "--from", "typo_file", "--to", "new_sqlite"],
        None,
        "fix --from",
    ),
    "copy to mistyped SQLite directory": (
        ["db", "copy", "--from", "good", "--to", "typo_dir"],
        None,
        "fix --to",
    ),
}


@pytest.mark.parametrize("case", DATABASE_MISTAKES)
def test_a_database_mistake_is_one_line_exit_2_and_creates_nothing(
    case: str, cli_env: dict[str, str], pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    args, configured, says = DATABASE_MISTAKES[case]
    urls = {
        "good": cli_env["THREADLINE_DATABASE_URL"],
        "missing_pg": pg_cluster.url("threadline_typo"),
        "typo_dir": f"sqlite:///{tmp_path}/dta/threadline.db",
        "typo_file": f"sqlite:///{tmp_path}/threadlin.db",
        "new_sqlite": f"sqlite:///{tmp_path}/new.db",
        "PORT": str(free_port()),
    }
    env = {**cli_env, "THREADLINE_DATABASE_URL": urls[configured]} if configured else cli_env
    before = _files(tmp_path)
    stderr = _one_line_error(run(env, *[urls.get(a, a) for a in args]))
    assert says in stderr
    assert "Traceback" not in stderr
    assert _files(tmp_path) == before  # no SQLite file, no directory


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tl:pw-sekrit@db:port/tl",
        "sqlite:///",
        "postgresql://tl:pw-sekrit@[::1/tl",
        "mysql://tl:pw-sekrit@db/tl",
    ],
)
def test_a_malformed_database_url_is_one_line_that_never_shows_it(
    cli_env: dict[str, str], url: str
) -> None:
    for result in (
        run({**cli_env, "THREADLINE_DATABASE_URL": url}, "site", "list"),
        run(cli_env, "db", "copy", "--from", url, "--to", "sqlite:///x.db"),
        run(cli_env, "db", "copy", "--from", cli_env["THREADLINE_DATABASE_URL"], "--to", url),
    ):
        stderr = _one_line_error(result)
        assert "expected" in stderr or "not a valid URL" in stderr
        assert "sekrit" not in stderr


def test_db_copy_leaves_the_data_directory_alone(cli_env: dict[str, str], tmp_path: Path) -> None:
    """It names both databases itself: no secret key is generated for it."""
    env = {k: v for k, v in cli_env.items() if k != "THREADLINE_SECRET_KEY"}
    env["THREADLINE_DATA_DIR"] = str(tmp_path / "data")
    done = run(
        env,
        "db",
        "copy",
        "--from",
        cli_env["THREADLINE_DATABASE_URL"],
        "--to",
        f"sqlite:///{tmp_path}/copy.db",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "copy.db").is_file() and not (tmp_path / "data").exists()


async def test_a_wrong_postgresql_password_is_one_line_that_never_shows_it(
    cli_env: dict[str, str], pg_cluster: PostgresCluster
) -> None:
    await pg_cluster.add_password_role("pwcheck", "the-right-one")
    url = pg_cluster.url("postgres", user="pwcheck:not-the-right-one")
    stderr = _one_line_error(run({**cli_env, "THREADLINE_DATABASE_URL": url}, "migrate"))
    assert 'refused the password of user "pwcheck"' in stderr
    assert "right-one" not in stderr
    stderr = _one_line_error(
        run(
            cli_env,
            "db",
            "copy",
            "--from",
            cli_env["THREADLINE_DATABASE_URL"],
            "--to",
            pg_cluster.url("postgres", user="pwcheck"),
        )
    )
    assert 'wants a password for user "pwcheck"' in stderr and "fix" not in stderr


def test_moderator_password_comes_from_stdin_never_argv(cli_env: dict[str, str]) -> None:
    run(cli_env, "site", "add", "blog", "--origin", "https://blog.test")
    added = run(
        cli_env,
        "moderator",
        "add",
        "Mod@Example.com",
        "--site",
        "blog",
        "--owner",
        stdin="correct horse battery\n",
    )
    assert added.returncode == 0, added.stderr
    assert "mod@example.com" in added.stdout and "owner" in added.stdout
    short = run(cli_env, "moderator", "add", "new@example.com", "--site", "blog", stdin="short\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    none = run(cli_env, "moderator", "add", "other@example.com", "--site", "blog", stdin="")
    assert none.returncode == 2 and "stdin" in none.stderr
    removed = run(cli_env, "moderator", "remove", "mod@example.com", "--site", "blog")
    assert removed.returncode == 0
    gone = run(cli_env, "moderator", "remove", "mod@example.com")
    assert gone.returncode == 0


async def test_cli_changes_reach_a_running_server_within_5_seconds(cli_env: dict[str, str]) -> None:
    server = ServerProcess(cli_env).start()
    try:
        async with http_client(base_url=server.url) as http:
            url, params = "/api/v1/sites/late/thread", {"page": "p"}
            assert (await http.get(url, params=params)).status_code == 404
            await asyncio.to_thread(
                run, cli_env, "site", "add", "late", "--origin", "https://late.test"
            )
            assert await _within(5.0, http, url, params, {}, 200)
            headers = {"Origin": "https://new.late.test"}
            assert (await http.get(url, params=params, headers=headers)).status_code == 403
            await asyncio.to_thread(
                run, cli_env, "site", "update", "late", "--add-origin", "https://new.late.test"
            )
            assert await _within(5.0, http, url, params, headers, 200)
    finally:
        server.terminate()


async def _within(
    seconds: float,
    http: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await http.get(url, params=params, headers=headers)).status_code == status:
            return True
        await asyncio.sleep(0.1)
    return False


def run_into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command's reader is already gone, as `| head -1` is once it has its line."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args", [["settings"], ["settings", "--markdown"], ["site", "list"], ["site", "export", "blog"]]
)
def test_output_into_a_closed_pipe_stops_quietly(cli_env: dict[str, str], args: list[str]) -> None:
    assert run(cli_env, "site", "add", "blog", "--origin", "https://blog.test").returncode == 0
    done = run_into_closed_pipe(cli_env, *args)
    assert done.stderr == ""  # no BrokenPipeError, not even at exit
    assert done.returncode == 141  # 128 + SIGPIPE, as `cat` would end


def test_settings_piped_into_head_prints_its_first_line(cli_env: dict[str, str]) -> None:
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m server.cli settings | head -1"],
        cwd=ROOT,
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == ""
    assert done.stdout.startswith("THREADLINE_ENV") and done.stdout.count("\n") == 1


def test_ctrl_c_while_a_command_works_exits_130_without_a_traceback(
    cli_env: dict[str, str],
) -> None:
    """`threadline migrate` waits for another process's write lock; Ctrl-C ends the wait."""
    path = cli_env["THREADLINE_DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_open(proc.pid, Path(path))  # connected: it is waiting for the lock
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def _wait_until_open(pid: int, path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never opened {path}")


async def test_moderator_remove_is_audited_on_every_site_the_account_loses(
    cli_env: dict[str, str],
) -> None:
    from sqlalchemy import select

    from server.store.database import SqlStore
    from server.store.schema import audit_log

    for site in ("one", "two"):
        run(cli_env, "site", "add", site, "--origin", f"https://{site}.test")
        added = run(
            cli_env, "moderator", "add", "m@example.com", "--site", site, stdin="correct horse 1\n"
        )
        assert added.returncode == 0, added.stderr
    assert run(cli_env, "moderator", "remove", "m@example.com", "--site", "one").returncode == 0
    assert run(cli_env, "moderator", "remove", "m@example.com").returncode == 0
    store = SqlStore(cli_env["THREADLINE_DATABASE_URL"])
    try:
        async with store.read() as tx:
            rows = (
                await tx.conn.execute(
                    select(audit_log.c.site_id, audit_log.c.moderator_id, audit_log.c.detail)
                )
            ).all()
    finally:
        await store.close()
    assert sorted(rows) == [
        ("one", None, "removed moderator m@example.com"),
        ("two", None, "deleted the account of moderator m@example.com"),
    ]

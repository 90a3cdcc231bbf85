"""The `threadline` command: serve, migrate, manage sites and moderators."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from server.core.errors import DomainError
from server.settings import Settings, SettingsError, database_url_problem

EXIT_USAGE = 2
DATABASE_URL = "THREADLINE_DATABASE_URL"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a Unix tool whose reader went away


class CliError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


def _store(settings: Settings) -> Any:
    from server.store.database import SqlStore

    return SqlStore(settings.database_url, pool_size=2)


def _run(
    settings: Settings, work: Callable[[Any], Awaitable[int]], *, migrated: bool = True
) -> int:
    """``work(store)`` on the configured database, checked first: one line naming the fix
    if it cannot be used, or (unless this is the migration) is not migrated."""

    async def main() -> int:
        from server.store.migrate import check_migrated
        from server.store.preflight import check_database

        store = _store(settings)
        try:
            await check_database(
                store,
                DATABASE_URL,
                create=not migrated,
                hint=", or create it with `threadline migrate`",
            )
            if migrated:
                await check_migrated(store)
            return await work(store)
        finally:
            await store.close()

    from server.store.preflight import DatabaseProblem

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise CliError(exc.message) from None
    except (RuntimeError, DatabaseProblem) as exc:
        raise CliError(str(exc)) from None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.runtime.serve import uvicorn_options

    options = uvicorn_options(
        settings, host=args.host, port=args.port, workers=args.workers, reload=args.reload
    )
    from server.runtime import logs

    logs.configure(settings.log_format, settings.log_level, settings.access_log)
    if args.migrate:
        cmd_migrate(settings, args)
    else:
        _run(settings, _nothing)  # one line now, rather than a traceback from each worker
    uvicorn.run(**options)
    return 0


async def _nothing(store: Any) -> int:
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.store.database import sqlite_path
    from server.store.migrate import head_revision, migrate

    path = sqlite_path(settings.database_url)
    if path is not None and path.parent.resolve() == Path(settings.data_dir).resolve():
        # The data directory is Threadline's own to make; any other missing directory in a
        # SQLite URL is taken for a typo.
        path.parent.mkdir(parents=True, exist_ok=True)

    async def work(store: Any) -> int:
        await migrate(store)
        print(f"database at revision {head_revision()}")
        return 0

    return _run(settings, work, migrated=False)


def cmd_site_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import Conflict
    from server.core.sites import add_site

    async def work(store: Any) -> int:
        import time

        try:
            site = await add_site(
                store,
                args.site_id,
                origins=args.origin,
                mode=args.moderation,
                name=args.name,
                now=int(time.time() * 1000),
            )
        except Conflict:
            if not args.exist_ok:
                raise
            print(f"site {args.site_id} already exists; left unchanged")
            return 0
        print(
            f"added site {site.id}: origins {' '.join(site.origins)}, "
            f"moderation {site.moderation.value}"
        )
        return 0

    return _run(settings, work)


def cmd_site_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sites import list_sites

    async def work(store: Any) -> int:
        for site in await list_sites(store):
            print(f"{site.id}\t{site.moderation.value}\t{' '.join(site.origins)}\t{site.name}")
        return 0

    return _run(settings, work)


def cmd_site_update(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from server.core.sites import update_site

    async def work(store: Any) -> int:
        from server.core.sites import SiteDirectory

        filters = None
        if (
            args.banned_word is not None
            or args.suspect_word is not None
            or args.max_links is not None
            or args.flag_threshold is not None
        ):
            current = await SiteDirectory(store).get(args.site_id)
            filters = replace(
                current.filters,
                **{
                    k: v
                    for k, v in {
                        "banned_words": tuple(args.banned_word)
                        if args.banned_word is not None
                        else None,
                        "suspect_words": tuple(args.suspect_word)
                        if args.suspect_word is not None
                        else None,
                        "max_links": args.max_links,
                        "flag_threshold": args.flag_threshold,
                    }.items()
                    if v is not None
                },
            )
        site = await update_site(
            store,
            args.site_id,
            origins=args.origin,
            add_origins=args.add_origin or (),
            mode=args.moderation,
            name=args.name,
            filters=filters,
        )
        print(
            f"updated site {site.id}: origins {' '.join(site.origins)}, "
            f"moderation {site.moderation.value}"
        )
        return 0

    return _run(settings, work)


def cmd_site_remove(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import Conflict
    from server.core.sites import remove_site, site_removal

    async def work(store: Any) -> int:
        try:
            contents = await site_removal(store, args.site_id, erase=args.erase)
        except Conflict as exc:
            raise CliError(
                f"{exc.message}: keep a copy first (`threadline site export "
                f"{args.site_id} > {args.site_id}.json`), then remove it with "
                "--erase"
            ) from None
        what = (
            f"site {args.site_id} ({contents.site.name}): {contents.pages} pages, "
            f"{contents.comments} comments, {contents.moderators} moderators' grants"
        )
        if not args.yes and not _confirmed(
            f"Remove {what}? This cannot be undone. Type the site id to confirm: ", args.site_id
        ):
            print(f"site {args.site_id} left unchanged", file=sys.stderr)
            return 1
        await remove_site(store, args.site_id, erase=args.erase)
        print(f"removed {what} (the moderators' accounts stay)")
        return 0

    return _run(settings, work)


def _confirmed(prompt: str, expected: str) -> bool:
    if not sys.stdin.isatty():
        raise CliError("removing a site cannot be undone: confirm with --yes")
    try:
        return input(prompt).strip() == expected
    except EOFError:
        return False


def cmd_site_export(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from server.core.erasure import export_site
    from server.core.sites import SiteDirectory

    async def work(store: Any) -> int:
        site = await SiteDirectory(store).get(args.site_id)
        data = await export_site(store, site, settings.secret_key)
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0

    return _run(settings, work)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from server.core.import_write import dry_run, import_batch
    from server.core.imports import PageKey
    from server.imports import read

    try:
        batch = read(args.format, Path(args.file))
    except DomainError as exc:
        raise CliError(exc.message) from None
    if args.format == "json":
        from server.core.erasure import open_export_authors

        open_export_authors(batch, settings.secret_key)
    keys = PageKey(args.page_key or ("id" if args.format == "json" else "url"))

    async def work(store: Any) -> int:
        now = int(time.time() * 1000)
        site, create = await _import_site(store, batch, args.site, now)
        run = dry_run if args.dry_run else import_batch
        report = await run(
            store, site, batch, keys=keys, base_url=args.base_url, now=now, create_site=create
        )
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(report.new.items()))
        skipped = "".join(f", {n} {why}s skipped" for why, n in sorted(batch.skipped.items()))
        if create:
            print(
                f"{'would create' if args.dry_run else 'created'} site {site.id}: origins "
                f"{' '.join(site.origins)}, moderation {site.moderation.value}"
            )
        print(
            f"{'would import' if args.dry_run else 'imported'} {report.written} comments"
            f"{f' ({statuses})' if statuses else ''} on {report.pages} pages of site "
            f"{site.id}; {report.existing} already imported{skipped}"
        )
        return 0

    return _run(settings, work)


async def _import_site(store: Any, batch: Any, site_id: str | None, now: int) -> tuple[Any, bool]:
    """The target site, and whether the import must create it: a Threadline export brings
    its own site's settings."""
    from server.core.errors import NotFound
    from server.core.import_write import site_from_export
    from server.core.sites import SiteDirectory

    site_id = site_id or (batch.site or {}).get("id")
    if not isinstance(site_id, str):
        raise CliError("name the site to import into with --site")
    try:
        return await SiteDirectory(store).get(site_id), False
    except NotFound:
        if batch.site is None:
            raise CliError(
                f"site {site_id} does not exist: add it first with "
                f"`threadline site add {site_id} --origin ...`"
            ) from None
    return site_from_export(site_id, batch.site, now), True


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise CliError("the passwords did not match")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("expected the password as one line on stdin")
    return line


def cmd_moderator_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import add_moderator, find_moderator
    from server.core.passwords import hasher

    async def work(store: Any) -> int:
        import time

        existing = await find_moderator(store, args.email)
        password = None if existing else _read_password()
        moderator, created = await add_moderator(
            store,
            hasher(settings.password_profile),
            args.email,
            args.site,
            password=password,
            owner=args.owner,
            now=int(time.time() * 1000),
        )
        if created:
            role = moderator.sites[args.site].value
            print(f"added moderator {moderator.email} on site {args.site} as {role}")
        else:
            print(
                f"{moderator.email} already has an account: granted {args.site}; its "
                f"password is unchanged (`threadline moderator passwd {moderator.email}` "
                "changes it)"
            )
        return 0

    return _run(settings, work)


def cmd_moderator_passwd(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import NotFound
    from server.core.moderators import clean_email, find_moderator, set_moderator_password
    from server.core.passwords import hasher

    async def work(store: Any) -> int:
        email = clean_email(args.email)
        if await find_moderator(store, email) is None:  # before asking for a password
            raise NotFound("unknown_moderator", f"no moderator {email!r}")
        ended = await set_moderator_password(
            store, hasher(settings.password_profile), email, _read_password()
        )
        sessions = {0: "no session was open", 1: "ended its 1 session"}.get(
            ended, f"ended its {ended} sessions"
        )
        print(f"changed the password of {email}; {sessions}")
        return 0

    return _run(settings, work)


def cmd_moderator_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import list_moderators

    async def work(store: Any) -> int:
        for m in await list_moderators(store, args.site):
            grants = " ".join(f"{site}:{role.value}" for site, role in sorted(m.sites.items()))
            print(f"{m.email}\t{grants or '(no sites)'}\t{m.display_name or ''}")
        return 0

    return _run(settings, work)


def cmd_moderator_remove(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import remove_moderator

    async def work(store: Any) -> int:
        await remove_moderator(store, args.email, args.site)
        target = f"from site {args.site}" if args.site else "entirely"
        print(f"removed {args.email} {target}")
        return 0

    return _run(settings, work)


def cmd_settings(settings: Settings, args: argparse.Namespace) -> int:
    if args.markdown:
        print("| Variable | Default | Meaning |\n|---|---|---|")
        for name, default, help_ in Settings.documented():
            print(f"| `{name}` | {f'`{default}`' if default else 'unset'} | {help_} |")
        return 0
    rows = settings.effective()
    width = max(len(name) for name, _, _ in rows)
    values = min(max(len(value) for _, value, _ in rows), 40)
    for name, value, source in rows:
        print(f"{name:<{width}}  {value:<{values}}  {source}")
    return 0


def cmd_db_copy(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from server.store.copy import copy_database
    from server.store.preflight import DatabaseProblem

    def say(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    for option, url in (("--from", args.source), ("--to", args.target)):
        problem = database_url_problem(url)
        if problem:
            raise CliError(f"{option}: {problem}")  # never the URL: it may hold a password
    try:
        reports = asyncio.run(copy_database(args.source, args.target, say))
    except (RuntimeError, DatabaseProblem) as exc:
        raise CliError(str(exc)) from None
    except DomainError as exc:
        raise CliError(exc.message) from None
    width = max(len(r.name) for r in reports)
    for r in reports:
        if not args.quiet or not r.ok:  # --quiet: only what went wrong, on stderr
            print(
                f"{r.name:<{width}}  {r.source_rows:>9} rows -> {r.target_rows:>9}  "
                f"sha256 {r.source_sum[:16]} {'=' if r.ok else '!='} {r.target_sum[:16]}  "
                f"{'ok' if r.ok else 'MISMATCH'}",
                file=sys.stderr if args.quiet else None,
            )
    if all(r.ok for r in reports):
        say("verified: every table has the same rows and checksums")
        return 0
    print(
        "threadline: error: the copy differs from the source; run the command again to resume",
        file=sys.stderr,
    )
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadline",
        description="Threadline: self-hosted, embeddable comment threads with live events.",
        epilog="Configuration comes from THREADLINE_* environment variables: "
        "see `threadline settings`.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the web server",
        description="Serve the API, websockets, widget and moderation pages.",
    )
    serve.add_argument("--host", help="address to bind (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: $PORT or 8000)")
    serve.add_argument(
        "--workers", type=int, help="server processes (default: $WEB_CONCURRENCY or 1)"
    )
    serve.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve.add_argument("--migrate", action="store_true", help="run migrations first")
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser(
        "migrate",
        help="create or upgrade the database schema",
        description="Upgrade the database to the newest schema (idempotent).",
    )
    mig.set_defaults(func=cmd_migrate)

    site = sub.add_parser(
        "site",
        help="register and change sites",
        description="Sites are the websites that embed the widget.",
    )
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    add = site_sub.add_parser(
        "add",
        help="register a site",
        description="Register a site and the origins allowed to embed it.",
    )
    add.add_argument("site_id", help="short id used in the embed's data-site, e.g. myblog")
    add.add_argument(
        "--origin",
        action="append",
        required=True,
        help="allowed origin such as https://blog.example (repeatable; "
        "https://*.example.com allows subdomains)",
    )
    add.add_argument(
        "--moderation",
        default="none",
        choices=("none", "first-time", "all"),
        help="none: publish at once; first-time: hold an author's first comment; "
        "all: hold everything (default: none)",
    )
    add.add_argument("--name", help="display name (default: the id)")
    add.add_argument(
        "--exist-ok", action="store_true", help="succeed without changes if the site already exists"
    )
    add.set_defaults(func=cmd_site_add)
    lst = site_sub.add_parser("list", help="list sites", description="List every site.")
    lst.set_defaults(func=cmd_site_list)
    upd = site_sub.add_parser(
        "update",
        help="change a site",
        description="Change a site; running servers pick it up within 5 seconds.",
    )
    upd.add_argument("site_id")
    upd.add_argument("--origin", action="append", help="replace the allowed origins (repeatable)")
    upd.add_argument("--add-origin", action="append", help="add an allowed origin")
    upd.add_argument("--moderation", choices=("none", "first-time", "all"))
    upd.add_argument("--name")
    upd.add_argument(
        "--banned-word",
        action="append",
        help="refuse comments with this word (repeatable; replaces the list)",
    )
    upd.add_argument(
        "--suspect-word",
        action="append",
        help="hold comments with this word for review (repeatable)",
    )
    upd.add_argument("--max-links", type=int, help="hold comments with more links than this")
    upd.add_argument(
        "--flag-threshold", type=int, help="hold a comment once this many readers flag it"
    )
    upd.set_defaults(func=cmd_site_update)
    rem = site_sub.add_parser(
        "remove",
        help="remove a site and everything of it",
        description="Delete a site with its pages, comments, events, flags, bans, "
        "invitations, audit log and moderators' grants (the accounts stay). Asks "
        "for the site id on a terminal; refused while the site has comments "
        "unless --erase.",
    )
    rem.add_argument("site_id")
    rem.add_argument(
        "--erase",
        action="store_true",
        help="erase its comments too (export them first: they cannot be brought back)",
    )
    rem.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rem.set_defaults(func=cmd_site_remove)
    exp = site_sub.add_parser(
        "export",
        help="export a site's pages and comments as JSON",
        description="Print the site's pages and comments as JSON (no IP hashes, no secrets).",
    )
    exp.add_argument("site_id")
    exp.set_defaults(func=cmd_site_export)

    mod = sub.add_parser(
        "moderator", help="manage moderator accounts", description="Moderators log in at /moderate."
    )
    mod_sub = mod.add_subparsers(dest="moderator_command", required=True, metavar="ACTION")
    madd = mod_sub.add_parser(
        "add",
        help="create a moderator or grant a site",
        description="Create a moderator (password read from a prompt, or one line of stdin) "
        "or grant an existing one another site (its password is left as it is: "
        "see `moderator passwd`).",
    )
    madd.add_argument("email")
    madd.add_argument("--site", required=True, help="site id the moderator may moderate")
    madd.add_argument(
        "--owner", action="store_true", help="may also manage the site's settings and moderators"
    )
    madd.set_defaults(func=cmd_moderator_add)
    mpw = mod_sub.add_parser(
        "passwd",
        help="change a moderator's password",
        description="Set a new password (read from a prompt, or one line of stdin) and end "
        "every session of the account.",
    )
    mpw.add_argument("email")
    mpw.set_defaults(func=cmd_moderator_passwd)
    mlst = mod_sub.add_parser(
        "list",
        help="list moderators",
        description="Every moderator: e-mail, sites with roles, display name.",
    )
    mlst.add_argument("--site", help="only this site's moderators")
    mlst.set_defaults(func=cmd_moderator_list)
    mrem = mod_sub.add_parser(
        "remove",
        help="remove a moderator or revoke a site",
        description="Remove an account, or with --site revoke one site.",
    )
    mrem.add_argument("email")
    mrem.add_argument("--site", help="revoke only this site")
    mrem.set_defaults(func=cmd_moderator_remove)

    db = sub.add_parser(
        "db", help="database tools", description="Move a database, e.g. from SQLite to PostgreSQL."
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    cp = db_sub.add_parser(
        "copy",
        help="copy every row to another database, then verify",
        description="Copy every table from one database into another (migrated first), in "
        "batches; rows already there are skipped, so an interrupted copy is "
        "resumed by running it again. Ends by comparing row counts and SHA-256 "
        "checksums of every table. Stop the servers writing to the source first.",
    )
    cp.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="source, e.g. sqlite:///./data/threadline.db",
    )
    cp.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="target, e.g. postgresql://threadline@db/threadline",
    )
    cp.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing unless something is wrong (then on stderr); the exit "
        "status says how it went",
    )
    cp.set_defaults(func=cmd_db_copy, generate_secret=False)  # touches no data directory

    imp = sub.add_parser(
        "import",
        help="import comments from Disqus, WordPress, Isso or a Threadline export",
        description="Import threads and comments, with replies, authors' names, dates and "
        "statuses, in one transaction: a bad or cut-short file names the line "
        "or row at fault and imports nothing. Running the same import again "
        "adds only what is new. Imported comments reach open pages on their "
        "next load.",
    )
    imp.add_argument(
        "format",
        choices=("disqus", "wxr", "isso", "json"),
        help="disqus: Disqus XML export; wxr: WordPress export; isso: Isso's "
        "SQLite file; json: `threadline site export` output",
    )
    imp.add_argument("file", help="the export file (or Isso database)")
    imp.add_argument(
        "--site", help="site to import into (json: default the exported site, created when missing)"
    )
    imp.add_argument(
        "--page-key",
        choices=("url", "path", "id"),
        help="key threads by their URL without query (what the widget uses "
        "unless data-page is set; the default), their path, or the "
        "source's id (Disqus identifier, WordPress post id, Isso uri; the "
        "default for json)",
    )
    imp.add_argument(
        "--base-url",
        metavar="URL",
        help="completes relative page URLs, e.g. Isso's: https://blog.example",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and count what would be imported; write nothing",
    )
    imp.set_defaults(func=cmd_import)

    st = sub.add_parser(
        "settings",
        help="show the settings in effect",
        description="Every setting's value in effect and where it came "
        "from: the environment, the default, or generated (the "
        "secret key, kept in the data directory). Secrets are "
        "hidden, and passwords in URLs. Writes nothing.",
    )
    st.add_argument(
        "--markdown",
        action="store_true",
        help="print the documentation instead: every setting's default and "
        "meaning, as a Markdown table",
    )
    st.set_defaults(func=cmd_settings, generate_secret=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(
            os.environ, generate_secret=getattr(args, "generate_secret", True)
        )
        result: int = args.func(settings, args)
        sys.stdout.flush()  # here, where a closed pipe can still be answered quietly
        return result
    except (SettingsError, CliError) as exc:
        print(f"threadline: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _reader_went_away() -> int:
    """The output's reader stopped reading (`threadline settings | head -1`): stop without a
    traceback, and without a second one when Python flushes stdout on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())

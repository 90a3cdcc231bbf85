"""`threadline db copy` and `threadline import`: moving whole databases, and bringing
comments in from Disqus, WordPress, Isso or a Threadline export."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from server.cli.running import CliError, Subcommands, finish, now_ms, run_on_database
from server.core.errors import DomainError
from server.settings import Settings, database_url_problem

if TYPE_CHECKING:
    from server.core.imports import Batch
    from server.core.models import Site
    from server.store.database import SqlStore


def add_commands(subcommands: Subcommands) -> None:
    _add_db_commands(subcommands)
    _add_import_command(subcommands)


def _add_db_commands(subcommands: Subcommands) -> None:
    database = subcommands.add_parser(
        "db", help="database tools", description="Move a database, e.g. from SQLite to PostgreSQL."
    )
    actions = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        help="copy every row to another database, then verify",
        description="Copy every table from one database into another (migrated first), in "
        "batches; rows already there are skipped, so an interrupted copy is "
        "resumed by running it again. Ends by comparing row counts and SHA-256 "
        "checksums of every table. Stop the servers writing to the source first.",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="source, e.g. sqlite:///./data/threadline.db",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="target, e.g. postgresql://threadline@db/threadline",
    )
    copy.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing unless something is wrong (then on stderr); the exit "
        "status says how it went",
    )
    copy.set_defaults(func=cmd_db_copy, generate_secret=False)  # touches no data directory


def _add_import_command(subcommands: Subcommands) -> None:
    imports = subcommands.add_parser(
        "import",
        help="import comments from Disqus, WordPress, Isso or a Threadline export",
        description="Import threads and comments, with replies, authors' names, dates and "
        "statuses, in one transaction: a bad or cut-short file names the line "
        "or row at fault and imports nothing. Running the same import again "
        "adds only what is new. Imported comments reach open pages on their "
        "next load.",
    )
    imports.add_argument(
        "format",
        choices=("disqus", "wxr", "isso", "json"),
        help="disqus: Disqus XML export; wxr: WordPress export; isso: Isso's "
        "SQLite file; json: `threadline site export` output",
    )
    imports.add_argument("file", help="the export file (or Isso database)")
    imports.add_argument(
        "--site", help="site to import into (json: default the exported site, created when missing)"
    )
    imports.add_argument(
        "--page-key",
        choices=("url", "path", "id"),
        help="key threads by their URL without query (what the widget uses "
        "unless data-page is set; the default), their path, or the "
        "source's id (Disqus identifier, WordPress post id, Isso uri; the "
        "default for json)",
    )
    imports.add_argument(
        "--base-url",
        metavar="URL",
        help="completes relative page URLs, e.g. Isso's: https://blog.example",
    )
    imports.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and count what would be imported; write nothing",
    )
    imports.set_defaults(func=cmd_import)


def cmd_db_copy(settings: Settings, args: argparse.Namespace) -> int:
    from server.store.copy import copy_database

    def say(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    for option, url in (("--from", args.source), ("--to", args.target)):
        problem = database_url_problem(url)
        if problem:
            raise CliError(f"{option}: {problem}")  # never the URL: it may hold a password
    reports = finish(copy_database(args.source, args.target, say))
    width = max(len(report.name) for report in reports)
    for report in reports:
        if not args.quiet or not report.ok:  # --quiet: only what went wrong, on stderr
            print(
                f"{report.name:<{width}}  {report.source_rows:>9} rows -> "
                f"{report.target_rows:>9}  sha256 {report.source_sum[:16]} "
                f"{'=' if report.ok else '!='} {report.target_sum[:16]}  "
                f"{'ok' if report.ok else 'MISMATCH'}",
                file=sys.stderr if args.quiet else None,
            )
    if all(report.ok for report in reports):
        say("verified: every table has the same rows and checksums")
        return 0
    print(
        "threadline: error: the copy differs from the source; run the command again to resume",
        file=sys.stderr,
    )
    return 1


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
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

    async def write(store: SqlStore) -> int:
        now = now_ms()
        site, create = await _import_site(store, batch, args.site, now)
        run = dry_run if args.dry_run else import_batch
        report = await run(
            store, site, batch, keys=keys, base_url=args.base_url, now=now, create_site=create
        )
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(report.new.items()))
        skipped = "".join(
            f", {count} {reason}s skipped" for reason, count in sorted(batch.skipped.items())
        )
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

    return run_on_database(settings, write)


async def _import_site(
    store: SqlStore, batch: Batch, site_id: str | None, now: int
) -> tuple[Site, bool]:
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

"""`threadline site add|list|update|remove|export`: the websites that embed the widget."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from server.cli.prompts import confirmed
from server.cli.running import CliError, Subcommands, run_on_database, services_for
from server.settings import Settings

if TYPE_CHECKING:
    from server.core.models import Filters
    from server.store.database import SqlStore

MODERATION_MODES = ("none", "first-time", "all")


def add_commands(subcommands: Subcommands) -> None:
    site = subcommands.add_parser(
        "site",
        help="register and change sites",
        description="Sites are the websites that embed the widget.",
    )
    actions = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    add = actions.add_parser(
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
        choices=MODERATION_MODES,
        help="none: publish at once; first-time: hold an author's first comment; "
        "all: hold everything (default: none)",
    )
    add.add_argument("--name", help="display name (default: the id)")
    add.add_argument(
        "--exist-ok", action="store_true", help="succeed without changes if the site already exists"
    )
    add.set_defaults(func=cmd_site_add)

    listing = actions.add_parser("list", help="list sites", description="List every site.")
    listing.set_defaults(func=cmd_site_list)

    update = actions.add_parser(
        "update",
        help="change a site",
        description="Change a site; running servers pick it up within 5 seconds.",
    )
    update.add_argument("site_id")
    update.add_argument(
        "--origin", action="append", help="replace the allowed origins (repeatable)"
    )
    update.add_argument("--add-origin", action="append", help="add an allowed origin")
    update.add_argument("--moderation", choices=MODERATION_MODES)
    update.add_argument("--name")
    update.add_argument(
        "--banned-word",
        action="append",
        help="refuse comments with this word (repeatable; replaces the list)",
    )
    update.add_argument(
        "--suspect-word",
        action="append",
        help="hold comments with this word for review (repeatable)",
    )
    update.add_argument("--max-links", type=int, help="hold comments with more links than this")
    update.add_argument(
        "--flag-threshold", type=int, help="hold a comment once this many readers flag it"
    )
    update.add_argument(
        "--reactions",
        metavar="SET",
        help="what readers may react with: updown (the default), upvote, off, or "
        "emoji:👍,❤️,😂 (1 to 6 emoji)",
    )
    update.set_defaults(func=cmd_site_update)

    remove = actions.add_parser(
        "remove",
        help="remove a site and everything of it",
        description="Delete a site with its pages, comments, events, flags, bans, "
        "invitations, audit log and moderators' grants (the accounts stay). Asks "
        "for the site id on a terminal; refused while the site has comments "
        "unless --erase.",
    )
    remove.add_argument("site_id")
    remove.add_argument(
        "--erase",
        action="store_true",
        help="erase its comments too (export them first: they cannot be brought back)",
    )
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=cmd_site_remove)

    export = actions.add_parser(
        "export",
        help="export a site's pages and comments as JSON",
        description="Print the site's pages and comments as JSON (no IP hashes, no secrets).",
    )
    export.add_argument("site_id")
    export.set_defaults(func=cmd_site_export)


def cmd_site_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import Conflict
    from server.core.sites import add_site

    async def add(store: SqlStore) -> int:
        try:
            site = await add_site(
                services_for(settings, store),
                args.site_id,
                origins=args.origin,
                mode=args.moderation,
                name=args.name,
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

    return run_on_database(settings, add)


def cmd_site_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sites import list_sites

    async def show(store: SqlStore) -> int:
        for site in await list_sites(services_for(settings, store)):
            print(f"{site.id}\t{site.moderation.value}\t{' '.join(site.origins)}\t{site.name}")
        return 0

    return run_on_database(settings, show)


def cmd_site_update(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.site_admin import parse_reactions
    from server.core.sites import update_site

    async def update(store: SqlStore) -> int:
        site = await update_site(
            services_for(settings, store),
            args.site_id,
            origins=args.origin,
            add_origins=args.add_origin or (),
            mode=args.moderation,
            name=args.name,
            filters=await _changed_filters(store, args),
            reactions=None if args.reactions is None else parse_reactions(args.reactions),
        )
        print(
            f"updated site {site.id}: origins {' '.join(site.origins)}, "
            f"moderation {site.moderation.value}, "
            f"reactions {' '.join(site.reactions.choices) or 'off'}"
        )
        return 0

    return run_on_database(settings, update)


async def _changed_filters(store: SqlStore, args: argparse.Namespace) -> Filters | None:
    """The site's filters with the options given replacing theirs; None (leave them) when
    no filter option was given."""
    from dataclasses import replace

    from server.core.sites import SiteDirectory

    if (
        args.banned_word is None
        and args.suspect_word is None
        and args.max_links is None
        and args.flag_threshold is None
    ):
        return None
    current = (await SiteDirectory(store).get(args.site_id)).filters
    return replace(
        current,
        banned_words=current.banned_words if args.banned_word is None else tuple(args.banned_word),
        suspect_words=current.suspect_words
        if args.suspect_word is None
        else tuple(args.suspect_word),
        max_links=current.max_links if args.max_links is None else args.max_links,
        flag_threshold=current.flag_threshold
        if args.flag_threshold is None
        else args.flag_threshold,
    )


def cmd_site_remove(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import Conflict
    from server.core.sites import remove_site, site_removal

    async def remove(store: SqlStore) -> int:
        try:
            contents = await site_removal(
                services_for(settings, store), args.site_id, erase=args.erase
            )
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
        if not args.yes and not confirmed(
            f"Remove {what}? This cannot be undone. Type the site id to confirm: ", args.site_id
        ):
            print(f"site {args.site_id} left unchanged", file=sys.stderr)
            return 1
        await remove_site(services_for(settings, store), args.site_id, erase=args.erase)
        print(f"removed {what} (the moderators' accounts stay)")
        return 0

    return run_on_database(settings, remove)


def cmd_site_export(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from server.core.erasure import export_site
    from server.core.sites import SiteDirectory

    async def export(store: SqlStore) -> int:
        site = await SiteDirectory(store).get(args.site_id)
        data = await export_site(services_for(settings, store), site)
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0

    return run_on_database(settings, export)

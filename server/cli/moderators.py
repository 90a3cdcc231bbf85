"""`threadline moderator add|passwd|list|remove`: the accounts that log in at /moderate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.cli.prompts import read_password
from server.cli.running import Subcommands, run_on_database, services_for
from server.settings import Settings

if TYPE_CHECKING:
    from server.store.database import SqlStore


def add_commands(subcommands: Subcommands) -> None:
    moderator = subcommands.add_parser(
        "moderator", help="manage moderator accounts", description="Moderators log in at /moderate."
    )
    actions = moderator.add_subparsers(dest="moderator_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="create a moderator or grant a site",
        description="Create a moderator (password read from a prompt, or one line of stdin) "
        "or grant an existing one another site (its password is left as it is: "
        "see `moderator passwd`).",
    )
    add.add_argument("email")
    add.add_argument("--site", required=True, help="site id the moderator may moderate")
    add.add_argument(
        "--owner", action="store_true", help="may also manage the site's settings and moderators"
    )
    add.set_defaults(func=cmd_moderator_add)

    password = actions.add_parser(
        "passwd",
        help="change a moderator's password",
        description="Set a new password (read from a prompt, or one line of stdin) and end "
        "every session of the account.",
    )
    password.add_argument("email")
    password.set_defaults(func=cmd_moderator_passwd)

    listing = actions.add_parser(
        "list",
        help="list moderators",
        description="Every moderator: e-mail, sites with roles, display name.",
    )
    listing.add_argument("--site", help="only this site's moderators")
    listing.set_defaults(func=cmd_moderator_list)

    remove = actions.add_parser(
        "remove",
        help="remove a moderator or revoke a site",
        description="Remove an account, or with --site revoke one site.",
    )
    remove.add_argument("email")
    remove.add_argument("--site", help="revoke only this site")
    remove.set_defaults(func=cmd_moderator_remove)


def cmd_moderator_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import add_moderator, find_moderator
    from server.core.passwords import hasher

    async def add(store: SqlStore) -> int:
        existing = await find_moderator(store, args.email)
        # An existing account keeps its password: granting a site must not reset it.
        password = None if existing else read_password()
        moderator, created = await add_moderator(
            services_for(settings, store),
            hasher(settings.password_profile),
            args.email,
            args.site,
            password=password,
            owner=args.owner,
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

    return run_on_database(settings, add)


def cmd_moderator_passwd(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.errors import NotFound
    from server.core.moderators import clean_email, find_moderator, set_moderator_password
    from server.core.passwords import hasher

    async def change_password(store: SqlStore) -> int:
        email = clean_email(args.email)
        if await find_moderator(store, email) is None:  # before asking for a password
            raise NotFound("unknown_moderator", f"no moderator {email!r}")
        ended = await set_moderator_password(
            services_for(settings, store),
            hasher(settings.password_profile),
            email,
            read_password(),
        )
        sessions = {0: "no session was open", 1: "ended its 1 session"}.get(
            ended, f"ended its {ended} sessions"
        )
        print(f"changed the password of {email}; {sessions}")
        return 0

    return run_on_database(settings, change_password)


def cmd_moderator_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import list_moderators

    async def show(store: SqlStore) -> int:
        for moderator in await list_moderators(services_for(settings, store), args.site):
            grants = " ".join(
                f"{site}:{role.value}" for site, role in sorted(moderator.sites.items())
            )
            print(f"{moderator.email}\t{grants or '(no sites)'}\t{moderator.display_name or ''}")
        return 0

    return run_on_database(settings, show)


def cmd_moderator_remove(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.moderators import revoke_moderator

    async def remove(store: SqlStore) -> int:
        # Audited like an owner's removal, as the operator's (no moderator) on each site lost.
        await revoke_moderator(services_for(settings, store), args.email, args.site)
        target = f"from site {args.site}" if args.site else "entirely"
        print(f"removed {args.email} {target}")
        return 0

    return run_on_database(settings, remove)

"""`threadline sso policy|key`: a site's single sign-on (docs/sso.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli.running import CliError, Subcommands, run_on_database, services_for
from server.settings import Settings

if TYPE_CHECKING:
    from server.store.database import SqlStore

POLICIES = ("anonymous", "sso-optional", "sso-only")
ALGORITHMS = ("HS256", "EdDSA", "RS256")


def add_commands(subcommands: Subcommands) -> None:
    sso = subcommands.add_parser(
        "sso",
        help="sign readers in with the site's own accounts",
        description="Single sign-on: the site's backend signs a token for its logged-in "
        "reader, who then comments under their own name (docs/sso.md).",
    )
    actions = sso.add_subparsers(dest="sso_command", required=True, metavar="ACTION")
    policy = actions.add_parser(
        "policy",
        help="who may comment: anyone, anyone with sign-in, signed-in readers only",
        description="Set the site's sign-in policy (and whether a token's "
        "`role: moderator` shows the Moderator badge).",
    )
    policy.add_argument("site_id")
    policy.add_argument("policy", choices=POLICIES)
    policy.add_argument(
        "--moderators",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="trust a token's role: moderator claim (badge, published at once)",
    )
    policy.set_defaults(func=cmd_sso_policy)

    key = actions.add_parser("key", help="the keys the site's tokens are signed with")
    key_actions = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    add = key_actions.add_parser(
        "add",
        help="add a signing key (several may be active: rotate by adding, then removing)",
        description="Add a key: an HS256 shared secret (--generate prints a new one, "
        "once) or an EdDSA (Ed25519) / RS256 public key in PEM (--key-file).",
    )
    add.add_argument("site_id")
    add.add_argument("kid", help="the key id the site's tokens name in their `kid` header")
    add.add_argument("--algorithm", required=True, choices=ALGORITHMS)
    source = add.add_mutually_exclusive_group(required=True)
    source.add_argument("--generate", action="store_true", help="HS256: make a new secret")
    source.add_argument(
        "--key-file", help="the PEM public key, or the HS256 secret, in a file ('-': stdin)"
    )
    add.set_defaults(func=cmd_sso_key_add)
    listing = key_actions.add_parser("list", help="list a site's signing keys")
    listing.add_argument("site_id")
    listing.set_defaults(func=cmd_sso_key_list)
    remove = key_actions.add_parser("remove", help="remove a signing key")
    remove.add_argument("site_id")
    remove.add_argument("kid")
    remove.set_defaults(func=cmd_sso_key_remove)


def cmd_sso_policy(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sso_admin import set_sso

    async def change(store: SqlStore) -> int:
        site = await set_sso(
            services_for(settings, store),
            args.site_id,
            policy=args.policy,
            moderators=args.moderators,
        )
        print(
            f"site {site.id}: sign-in {site.sso.policy.value}, "
            f"moderators by token {'yes' if site.sso.moderators else 'no'}"
        )
        return 0

    return run_on_database(settings, change)


def _material(args: argparse.Namespace) -> tuple[str, bool]:
    from server.core.sso_admin import new_shared_secret

    if args.generate:
        if args.algorithm != "HS256":
            raise CliError("--generate makes HS256 secrets; give public keys with --key-file")
        return new_shared_secret(), True
    try:
        text = sys.stdin.read() if args.key_file == "-" else Path(args.key_file).read_text()
    except OSError as error:
        raise CliError(f"cannot read {args.key_file}: {error.strerror}") from None
    return text.strip() if args.algorithm == "HS256" else text, False


def cmd_sso_key_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sso_admin import add_sso_key

    material, generated = _material(args)

    async def add(store: SqlStore) -> int:
        key = await add_sso_key(
            services_for(settings, store),
            args.site_id,
            kid=args.kid,
            algorithm=args.algorithm,
            material=material,
        )
        print(f"added key {key.kid} ({key.algorithm}) to site {args.site_id}")
        if generated:
            # Shown once: the store keeps it sealed and never gives it back.
            print(f"shared secret (give it to the site's backend; not shown again): {material}")
        return 0

    return run_on_database(settings, add)


def cmd_sso_key_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sso_admin import list_sso_keys

    async def show(store: SqlStore) -> int:
        for key in await list_sso_keys(services_for(settings, store), args.site_id):
            first_line = key.material.strip().splitlines()[0] if key.material.strip() else ""
            print(f"{key.kid}\t{key.algorithm}\t{first_line}")
        return 0

    return run_on_database(settings, show)


def cmd_sso_key_remove(settings: Settings, args: argparse.Namespace) -> int:
    from server.core.sso_admin import remove_sso_key

    async def remove(store: SqlStore) -> int:
        await remove_sso_key(services_for(settings, store), args.site_id, args.kid)
        print(f"removed key {args.kid} from site {args.site_id}")
        return 0

    return run_on_database(settings, remove)

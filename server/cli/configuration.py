"""`threadline settings`: every setting's value in effect and where it came from, or (with
--markdown) their documentation, which README's settings table must match."""

from __future__ import annotations

import argparse

from server.cli.running import Subcommands
from server.settings import Settings

WIDEST_VALUE = 40  # a longer value (a URL) overflows its column rather than widen them all


def add_commands(subcommands: Subcommands) -> None:
    show = subcommands.add_parser(
        "settings",
        help="show the settings in effect",
        description="Every setting's value in effect and where it came "
        "from: the environment, the default, or generated (the "
        "secret key, kept in the data directory). Secrets are "
        "hidden, and passwords in URLs. Writes nothing.",
    )
    show.add_argument(
        "--markdown",
        action="store_true",
        help="print the documentation instead: every setting's default and "
        "meaning, as a Markdown table",
    )
    # Showing the settings must not write a secret key into the data directory.
    show.set_defaults(func=cmd_settings, generate_secret=False)


def cmd_settings(settings: Settings, args: argparse.Namespace) -> int:
    if args.markdown:
        print("| Variable | Default | Meaning |\n|---|---|---|")
        for name, default, meaning in Settings.documented():
            print(f"| `{name}` | {f'`{default}`' if default else 'unset'} | {meaning} |")
        return 0
    rows = settings.effective()
    name_width = max(len(name) for name, _, _ in rows)
    value_width = min(max(len(value) for _, value, _ in rows), WIDEST_VALUE)
    for name, value, source in rows:
        print(f"{name:<{name_width}}  {value:<{value_width}}  {source}")
    return 0

"""The `threadline` argument parser, assembled from each command group's own definitions."""

from __future__ import annotations

import argparse

from server.cli import configuration, data, moderators, serving, sites, sso

# In the order `threadline --help` lists them.
COMMAND_GROUPS = (serving, sites, sso, moderators, data, configuration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadline",
        description="Threadline: self-hosted, embeddable comment threads with live events.",
        epilog="Configuration comes from THREADLINE_* environment variables: "
        "see `threadline settings`.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(subcommands)
    return parser

"""Asking the person at the terminal: a confirmation, a password. Scripts have no terminal,
so each prompt says what a script gives instead (`--yes`, one line of stdin)."""

from __future__ import annotations

import getpass
import sys

from server.cli.running import CliError


def confirmed(prompt: str, expected: str) -> bool:
    """Whether the person typed ``expected``; without a terminal, ask for ``--yes`` instead
    of reading a confirmation a script could not have meant."""
    if not sys.stdin.isatty():
        raise CliError("removing a site cannot be undone: confirm with --yes")
    try:
        return input(prompt).strip() == expected
    except EOFError:
        return False


def read_password() -> str:
    """Twice from a prompt that does not echo, or once from stdin: never from argv, where
    `ps` and shell history would show it."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise CliError("the passwords did not match")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("expected the password as one line on stdin")
    return line

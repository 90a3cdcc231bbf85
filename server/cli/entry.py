"""The console script: parse, read the settings, run the command, and turn every way it can
end into an exit status (a user's mistake as one line, Ctrl-C, a reader that went away)."""

from __future__ import annotations

import os
import sys

from server.cli.parser import build_parser
from server.cli.running import EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, EXIT_USAGE, CliError, Command
from server.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(
            os.environ, generate_secret=getattr(args, "generate_secret", True)
        )
        command: Command = args.func
        result = command(settings, args)
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

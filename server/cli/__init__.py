"""The `threadline` command: serve, migrate, manage sites and moderators, copy and import data.

One module per command group, each defining its parsers and handlers: ``serving`` (serve,
migrate), ``sites``, ``moderators``, ``data`` (db copy, import) and ``configuration``
(settings); ``parser`` assembles them, ``entry`` runs one, ``running`` and ``prompts`` hold
what they share."""

from server.cli.configuration import cmd_settings
from server.cli.entry import main

__all__ = ["cmd_settings", "main"]

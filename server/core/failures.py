"""How work that retries by itself logs a failed round: a dependency that is down
(``Unavailable``) in one quiet line, since the store has already logged the outage once,
with its start and its end; anything else, a bug, with its traceback."""

from __future__ import annotations

import logging
import sys

from server.core.errors import Unavailable


def log_failure(log: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled (call it inside ``except``) with ``message``."""
    error = sys.exc_info()[1]
    if isinstance(error, Unavailable):
        log.debug(message + " (%s: %s)", *args, error.code, error.message)
    else:
        log.exception(message, *args)

"""The widget's script as served: the parts in widget/src joined in order inside one function,
then minified once per process.

The parts keep full names and comments for their readers; rjsmin takes out comments and
whitespace only (no renaming, so a stack trace still names real functions), which keeps
/widget.js well under its 12 KiB gzipped budget."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

log = logging.getLogger("threadline.web")

SOURCE_DIR = Path(__file__).resolve().parent.parent.parent / "widget" / "src"
# A part may use what the parts before it define, when it runs: this is that order.
PARTS = (
    "basics.js",
    "texts.js",
    "saved-state.js",
    "page-key.js",
    "api.js",
    "live.js",
    "styles.js",
    "avatars.js",
    "identity.js",
    "thread-view.js",
    "composer.js",
    "widget.js",
)


def widget_source(source_dir: Path = SOURCE_DIR) -> str:
    """The parts in order, inside one function: their names stay off the host page's globals."""
    missing = [name for name in PARTS if not (source_dir / name).exists()]
    if missing:
        return (
            f"console.error('[threadline] widget/src/{missing[0]} is missing from this install');"
        )
    body = "\n".join((source_dir / name).read_text() for name in PARTS)
    return f'(() => {{\n"use strict";\n{body}\n}})();\n'


def minified(script: str) -> str:
    """The script without comments and needless whitespace, or as it is (with one warning)
    when the minifier is missing or fails: a larger widget beats none."""
    try:
        import rjsmin

        return str(rjsmin.jsmin(script))
    except Exception as exc:  # noqa: BLE001 -- any failure falls back to the readable script
        log.warning("serving /widget.js unminified: %s", exc or type(exc).__name__)
        return script


@functools.cache
def served_widget() -> bytes:
    """What /widget.js serves, made once per process (at start-up, by create_app)."""
    return minified(widget_source()).encode()

"""The widget's script as served: the parts in widget/src joined in order inside one function,
then minified once per process; its second chunk, /widget-engage.js (reactions, sorting,
pins, permalinks), an ES module the widget imports by a URL carrying the chunk's digest; and
the third, /widget-notify.js (the notification centre), which the second imports the same way
for a reader with a credential.

The parts keep full names and comments for their readers; rjsmin takes out comments and
whitespace only (no renaming, so a stack trace still names real functions), which keeps
/widget.js well under its 12 KiB gzipped budget."""

from __future__ import annotations

import functools
import hashlib
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
ENGAGE_DIR = SOURCE_DIR / "engage"
# The second chunk's parts, in the same sense; the last one exports install().
ENGAGE_PARTS = (
    "texts.js",
    "styles.js",
    "reactions.js",
    "engagement.js",
)
# Where widget/src/widget.js names the chunk's version; replaced by its digest when served.
ENGAGE_VERSION_MARK = "ENGAGE-VERSION"
NOTIFY_DIR = SOURCE_DIR / "notify"
# The third chunk's parts, in the same sense; centre.js exports follow(), and subscribe.js
# (the offer of e-mail on replies, using centre.js's helpers) offer().
NOTIFY_PARTS = (
    "texts.js",
    "styles.js",
    "centre.js",
    "subscribe.js",
)
# Where widget/src/engage/engagement.js names the third chunk's version.
NOTIFY_VERSION_MARK = "NOTIFY-VERSION"


def missing_part(source_dir: Path, parts: tuple[str, ...], folder: str) -> str | None:
    """A script saying in the console which part is missing, or None when none is."""
    missing = [name for name in parts if not (source_dir / name).exists()]
    if not missing:
        return None
    return f"console.error('[threadline] {folder}/{missing[0]} is missing from this install');"


def widget_source(source_dir: Path = SOURCE_DIR) -> str:
    """The parts in order, inside one function: their names stay off the host page's globals."""
    missing = missing_part(source_dir, PARTS, "widget/src")
    if missing:
        return missing
    body = "\n".join((source_dir / name).read_text() for name in PARTS)
    return f'(() => {{\n"use strict";\n{body}\n}})();\n'


def engage_source(source_dir: Path = ENGAGE_DIR) -> str:
    """The chunk's parts in order: a module already keeps its names to itself. A missing part
    still gives a module with install(), one that says so: the widget goes on without it."""
    missing = missing_part(source_dir, ENGAGE_PARTS, "widget/src/engage")
    if missing:
        return f"export const install = () => {{ {missing} }};\n"
    return "\n".join((source_dir / name).read_text() for name in ENGAGE_PARTS)


def notify_source(source_dir: Path = NOTIFY_DIR) -> str:
    """The notification centre's parts in order; a missing part still gives a module with
    follow(), one that says so: the widget goes on without a bell."""
    missing = missing_part(source_dir, NOTIFY_PARTS, "widget/src/notify")
    if missing:
        return f"export const follow = () => {{ {missing} }};\n"
    return "\n".join((source_dir / name).read_text() for name in NOTIFY_PARTS)


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
def served_notify() -> bytes:
    """What /widget-notify.js serves, made once per process."""
    return minified(notify_source()).encode()


def notify_version() -> str:
    """The third chunk's digest: the v= of its URL in the second chunk."""
    return hashlib.sha256(served_notify()).hexdigest()[:16]


@functools.cache
def served_engage() -> bytes:
    """What /widget-engage.js serves, made once per process, with the third chunk's current
    URL in it (so the second chunk's digest changes with the third's)."""
    return minified(engage_source()).replace(NOTIFY_VERSION_MARK, notify_version()).encode()


def engage_version() -> str:
    """The chunk's digest: the v= of its URL, so a URL names one content forever."""
    return hashlib.sha256(served_engage()).hexdigest()[:16]


@functools.cache
def served_widget() -> bytes:
    """What /widget.js serves, made once per process (at start-up, by create_app), with the
    chunk's current URL in it."""
    return minified(widget_source()).replace(ENGAGE_VERSION_MARK, engage_version()).encode()

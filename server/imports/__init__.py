"""File readers for `threadline import`: each turns one foreign format into a core Batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from server.core.imports import Batch

FORMATS = ("disqus", "wxr", "isso", "json")


def read(fmt: str, path: Path) -> Batch:
    """Parse ``path`` completely (raising ``bad_import_file`` at the first fault) before
    anything is written."""
    reader: Callable[[Path], Batch]
    if fmt == "disqus":
        from server.imports.disqus import read_disqus as reader
    elif fmt == "wxr":
        from server.imports.wxr import read_wxr as reader
    elif fmt == "isso":
        from server.imports.isso import read_isso as reader
    elif fmt == "json":
        from server.imports.native import read_export as reader
    else:
        raise ValueError(f"unknown import format {fmt!r}")
    return reader(path)

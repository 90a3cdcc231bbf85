"""Isso's SQLite database: ``threads`` (uri, title) and ``comments`` (tid, parent, created,
modified, mode, author, text). Isso keeps Markdown source, which is plain text here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from server.core.imports import (
    EARLIEST,
    LATEST,
    Batch,
    ImportedComment,
    ImportedPage,
    bad_file,
    comment_text,
    short_name,
    short_title,
)
from server.core.models import Status

MODES = {1: Status.APPROVED, 2: Status.PENDING, 4: Status.DELETED}


def read_isso(path: Path) -> Batch:
    if not path.is_file():
        raise bad_file(str(path), "no such file")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise bad_file(str(path), f"cannot open it as SQLite ({exc})") from None
    try:
        return _read(db, path)
    except sqlite3.DatabaseError as exc:
        raise bad_file(str(path), f"not a readable Isso database ({exc})") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, path: Path) -> Batch:
    # A cut-short file often opens and even answers some queries: check every page first.
    problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise bad_file(
            str(path), "the database is damaged or cut short: " + "; ".join(problems[:3])
        )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"threads", "comments"} <= tables:
        raise bad_file(str(path), "not an Isso database: it has no threads and comments tables")
    batch = Batch("isso")
    for tid, uri, title in db.execute("SELECT id, uri, title FROM threads ORDER BY id"):
        where = f"{path}: threads row id={tid}"
        batch.add_page(
            ImportedPage(
                source_id=str(tid), url=uri, ident=uri, title=short_title(title), where=where
            )
        )
    rows = db.execute(
        "SELECT id, tid, parent, created, modified, mode, author, text FROM comments ORDER BY id"
    )
    for cid, tid, parent, created, modified, mode, author, text in rows:
        where = f"{path}: comments row id={cid}"
        status = MODES.get(mode) if isinstance(mode, int) else None
        if status is None:
            raise bad_file(where, f"unknown mode {mode!r} (Isso uses 1, 2 and 4)")
        if not _timestamp(created) or (modified is not None and not _timestamp(modified)):
            raise bad_file(
                where, f"created {created!r} or modified {modified!r} is not a timestamp"
            )
        if not all(v is None or isinstance(v, str) for v in (author, text)):
            raise bad_file(where, "its author and text must be text")
        batch.comments.append(
            ImportedComment(
                source_id=str(cid),
                page=str(tid),
                parent=str(parent) if parent is not None else None,
                name=short_name(author),
                body=comment_text(text or ""),
                status=status,
                created_at=round(created * 1000),
                edited_at=round(modified * 1000) if isinstance(modified, int | float) else None,
                where=where,
            )
        )
    return batch


def _timestamp(value: object) -> bool:
    """Seconds since the epoch, in the range imports accept."""
    return isinstance(value, int | float) and EARLIEST / 1000 <= value < LATEST / 1000

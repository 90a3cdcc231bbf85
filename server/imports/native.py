"""Threadline's own JSON export (`threadline site export`), read back: a restore or a move
to another server or site. Author hashes only mean something on the site that made them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from server.core.imports import (
    Batch,
    ImportedComment,
    ImportedPage,
    bad_file,
    comment_text,
    short_name,
    short_title,
)
from server.core.models import Status
from server.imports.dates import iso_ms

EXPORT_FORMAT = "threadline-export"
REACTION_MAX = 64  # characters of one reaction's name (up, down, an emoji)


def read_export(path: Path) -> Batch:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise bad_file(str(path), f"cannot read it ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise bad_file(
            f"{path}:{exc.lineno}:{exc.colno}", f"the JSON is malformed or cut short ({exc.msg})"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format", EXPORT_FORMAT) != EXPORT_FORMAT
        or not isinstance(data.get("site"), dict)
    ):
        raise bad_file(str(path), "not a Threadline export (made by `threadline site export`)")
    batch = Batch("threadline", site=data["site"])
    for i, page in enumerate(_list(data, "pages", path)):
        where = f"{path}: pages[{i}]"
        batch.add_page(
            ImportedPage(
                source_id=str(_field(page, "id", int, where)),
                url=_opt(page, "url", where),
                ident=_field(page, "key", str, where),
                title=short_title(_opt(page, "title", where)),
                where=where,
            )
        )
    for i, item in enumerate(_list(data, "comments", path)):
        where = f"{path}: comments[{i}]"
        status = _field(item, "status", str, where)
        try:
            parsed = Status(status)
        except ValueError:
            raise bad_file(where, f"unknown status {status!r}") from None
        parent = item.get("reply_to") or item.get("parent")
        edited = _opt(item, "edited_at", where)
        batch.comments.append(
            ImportedComment(
                source_id=str(_field(item, "id", int, where)),
                page=str(_field(item, "page_id", int, where)),
                parent=str(parent) if isinstance(parent, int) else None,
                name=short_name(_opt(item, "name", where)),
                body=comment_text(_field(item, "body", str, where)),
                status=parsed,
                created_at=iso_ms(_field(item, "created_at", str, where), where, "created_at"),
                edited_at=iso_ms(edited, where, "edited_at") if edited else None,
                moderator=_field(item, "moderator", bool, where),
                author_hash=_opt(item, "author", where),
                held_reason=_opt(item, "held_reason", where),
                flags=_field(item, "flags", int, where),
                verified=item.get("verified") is True,
                avatar=_opt(item, "avatar", where),
                reactions=_reactions(item, where),
                where=where,
            )
        )
    return batch


def _reactions(item: dict[str, Any], where: str) -> tuple[tuple[str, int], ...]:
    """A comment's reaction totals (exports before reactions have none)."""
    value = item.get("reactions", {})
    if not isinstance(value, dict) or not all(
        isinstance(kind, str)
        and 0 < len(kind) <= REACTION_MAX
        and isinstance(count, int)
        and not isinstance(count, bool)
        and count >= 0
        for kind, count in value.items()
    ):
        raise bad_file(where, "'reactions' must map reactions to counts")
    return tuple((kind, count) for kind, count in value.items() if count)


def _list(data: dict[str, Any], name: str, path: Path) -> list[dict[str, Any]]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad_file(str(path), f"{name!r} must be a list of objects")
    return value


def _field(item: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = item.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_file(where, f"{name!r} must be {kind.__name__}, not {value!r}")
    return value


def _opt(item: dict[str, Any], name: str, where: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_file(where, f"{name!r} must be a string or null, not {value!r}")
    return value

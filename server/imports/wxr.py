"""WordPress's WXR export (RSS 2.0 with the ``wp:`` namespace): each <item> is a post or
page, its <wp:comment> children the comments; pingbacks and trackbacks are not comments."""

from __future__ import annotations

from pathlib import Path

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
from server.imports.dates import sql_ms
from server.imports.htmltext import html_to_text
from server.imports.xmlrecords import Node, read_records

WP_NAMESPACE = "http://wordpress.org/export/"  # followed by the WXR version: 1.0, 1.1, 1.2
STATUSES = {
    "1": Status.APPROVED,
    "approve": Status.APPROVED,
    "0": Status.PENDING,
    "hold": Status.PENDING,
    "spam": Status.SPAM,
    "trash": Status.REJECTED,
    "post-trashed": Status.REJECTED,
}
COMMENT_TYPES = ("", "comment")  # not pingbacks, trackbacks, order notes or other plugins'


def read_wxr(path: Path) -> Batch:
    batch = Batch("wxr")

    def record(node: Node) -> None:
        if node.name == "item":
            _item(batch, node, path)

    read_records(path, 3, record, root="rss", kind="a WordPress export")
    return batch


def _wp(node: Node, name: str) -> str:
    found = next(
        (n for n in node.children if n.name == name and n.ns.startswith(WP_NAMESPACE)), None
    )
    return found.text.strip() if found is not None else ""


def _item(batch: Batch, node: Node, path: Path) -> None:
    where = f"{path}:{node.line}: <item>"
    found = [n for n in node.children if n.name == "comment" and n.ns.startswith(WP_NAMESPACE)]
    if not found:
        return
    post_id = _wp(node, "post_id")
    if not post_id:
        raise bad_file(where, "the item has comments but no wp:post_id")
    batch.add_page(
        ImportedPage(
            source_id=post_id,
            url=node.text_of("link") or None,
            ident=post_id,
            title=short_title(node.text_of("title")),
            where=where,
        )
    )
    for comment in found:
        _comment(batch, post_id, comment, f"{path}:{comment.line}: <wp:comment>")


def _comment(batch: Batch, post_id: str, node: Node, where: str) -> None:
    kind = _wp(node, "comment_type")
    if kind not in COMMENT_TYPES:
        batch.skipped[kind] += 1
        return
    comment_id = _wp(node, "comment_id")
    if not comment_id:
        raise bad_file(where, "the comment has no wp:comment_id")
    approved = _wp(node, "comment_approved")
    status = STATUSES.get(approved)
    if status is None:
        raise bad_file(where, f"comment {comment_id}: unknown wp:comment_approved {approved!r}")
    # Without the UTC date, the blog's local time is the best there is (off by its zone).
    created = sql_ms(_wp(node, "comment_date_gmt"), where, "wp:comment_date_gmt") or sql_ms(
        _wp(node, "comment_date"), where, "wp:comment_date"
    )
    if created is None:
        raise bad_file(where, f"comment {comment_id} has no date")
    parent = _wp(node, "comment_parent")
    batch.comments.append(
        ImportedComment(
            source_id=comment_id,
            page=post_id,
            parent=parent if parent not in ("", "0") else None,
            name=short_name(_wp(node, "comment_author")),
            body=comment_text(html_to_text(_wp(node, "comment_content"))),
            status=status,
            created_at=created,
            where=where,
        )
    )

"""Disqus's XML export: <thread> records for pages, <post> records for comments, linked by
``dsq:id`` attributes; message bodies are HTML."""

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
from server.imports.dates import iso_ms
from server.imports.htmltext import html_to_text
from server.imports.xmlrecords import Node, read_records


def read_disqus(path: Path) -> Batch:
    batch = Batch("disqus")

    def record(node: Node) -> None:
        where = f"{path}:{node.line}: <{node.name}>"
        if node.name == "thread":
            batch.add_page(
                ImportedPage(
                    source_id=_dsq_id(node, where),
                    url=node.text_of("link") or None,
                    ident=node.text_of("id") or None,
                    title=short_title(node.text_of("title")),
                    where=where,
                )
            )
        elif node.name == "post":
            _post(batch, node, where)

    read_records(path, 2, record, root="disqus", kind="a Disqus export")
    return batch


def _post(batch: Batch, node: Node, where: str) -> None:
    post_id = _dsq_id(node, where)
    thread = node.child("thread")
    if thread is None or not thread.attrs.get("id"):
        raise bad_file(where, f"post {post_id} names no thread")
    parent = node.child("parent")
    status = Status.APPROVED
    if _true(node, "isSpam"):
        status = Status.SPAM
    elif _true(node, "isDeleted"):
        status = Status.DELETED
    elif node.child("isApproved") is not None and not _true(node, "isApproved"):
        status = Status.PENDING
    author = node.child("author")
    name = (author.text_of("name") or author.text_of("username")) if author else ""
    created = node.text_of("createdAt")
    if not created:
        raise bad_file(where, f"post {post_id} has no createdAt")
    batch.comments.append(
        ImportedComment(
            source_id=post_id,
            page=thread.attrs["id"],
            parent=(parent.attrs.get("id") or None) if parent is not None else None,
            name=short_name(name),
            body=comment_text(html_to_text(node.text_of("message"))),
            status=status,
            created_at=iso_ms(created, where),
            where=where,
        )
    )


def _dsq_id(node: Node, where: str) -> str:
    value = node.attrs.get("id", "").strip()
    if not value:
        raise bad_file(where, "it has no dsq:id attribute")
    return value


def _true(node: Node, name: str) -> bool:
    return node.text_of(name).lower() == "true"

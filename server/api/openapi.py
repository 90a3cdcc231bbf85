"""The OpenAPI 3.1 document of the JSON API (tests keep it true to the routes and replies)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.core.text import BODY_MAX, NAME_MAX, PAGE_KEY_MAX, TITLE_MAX, URL_MAX
from server.http.responses import JSON

NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "4XX": _json(_ref("Error"), "The request was refused; `error.code` says why"),
    "503": _json(_ref("Error"), "A dependency is unavailable; retry after `Retry-After`"),
}

SITE = {
    "name": "site",
    "in": "path",
    "required": True,
    "description": "The site id",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
}
COMMENT_ID = {
    "name": "comment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
}
PAGE = {
    "name": "page",
    "in": "query",
    "required": True,
    "description": "The page key: the embed's data-page, else its canonical URL",
    "schema": {"type": "string", "minLength": 1, "maxLength": PAGE_KEY_MAX},
}
CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The opaque cursor from the previous page",
    "schema": {"type": "string", "maxLength": 200},
}
BEARER: list[dict[str, Any]] = [{}, {"authorToken": []}]


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    security: list[dict[str, Any]] | None = None,
    op_id: str,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": op_id,
        "parameters": [SITE, *(params or [])],
        "responses": {**responses, **ERRORS},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if security is not None:
        operation["security"] = security
    return operation


def _schemas() -> dict[str, Any]:
    statuses = ["approved", "pending", "deleted", "rejected", "spam"]
    comment = {
        "type": "object",
        "required": [
            "id",
            "parent",
            "reply_to",
            "name",
            "body",
            "status",
            "moderator",
            "created_at",
            "edited_at",
            "reply_count",
        ],
        "properties": {
            "id": {"type": "integer"},
            "parent": NULLABLE_INT,
            "reply_to": NULLABLE_INT,
            "name": NULLABLE_STR,
            "body": {"type": "string"},
            "status": {"enum": statuses},
            "moderator": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "edited_at": {"type": ["string", "null"], "format": "date-time"},
            "reply_count": {"type": "integer"},
        },
    }
    page = {
        "type": "object",
        "required": ["key", "seq", "count", "title", "url"],
        "properties": {
            "key": {"type": "string"},
            "seq": {"type": "integer"},
            "count": {"type": "integer"},
            "title": NULLABLE_STR,
            "url": NULLABLE_STR,
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "additionalProperties": False,
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "Comment": comment,
        "ThreadComment": {
            "allOf": [
                comment,
                {
                    "type": "object",
                    "required": ["replies", "replies_cursor"],
                    "properties": {
                        "replies": {"type": "array", "items": _ref("Comment")},
                        "replies_cursor": NULLABLE_STR,
                    },
                },
            ]
        },
        "Page": page,
        "Thread": {
            "type": "object",
            "required": ["page", "comments", "cursor", "has_more", "config", "form_token"],
            "properties": {
                "page": _ref("Page"),
                "comments": {"type": "array", "items": _ref("ThreadComment")},
                "cursor": NULLABLE_STR,
                "has_more": {"type": "boolean"},
                "config": {
                    "type": "object",
                    "required": ["edit_window", "moderation"],
                    "properties": {
                        "edit_window": {"type": "integer"},
                        "moderation": {"enum": ["none", "first-time", "all"]},
                    },
                },
                "form_token": {"type": "string"},
            },
        },
        "Replies": {
            "type": "object",
            "required": ["replies", "cursor", "has_more"],
            "properties": {
                "replies": {"type": "array", "items": _ref("Comment")},
                "cursor": NULLABLE_STR,
                "has_more": {"type": "boolean"},
            },
        },
        "Draft": {
            "type": "object",
            "required": ["page", "body"],
            "additionalProperties": False,
            "properties": {
                "page": {"type": "string", "minLength": 1, "maxLength": PAGE_KEY_MAX},
                "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX},
                "name": {"type": ["string", "null"], "maxLength": NAME_MAX},
                "parent": {"type": ["integer", "null"], "minimum": 1},
                "url": {"type": ["string", "null"], "maxLength": URL_MAX},
                "title": {"type": ["string", "null"], "maxLength": TITLE_MAX},
                "form_token": {
                    "type": ["string", "null"],
                    "maxLength": 64,
                    "description": "`form_token` from the thread listing",
                },
                "hp": {
                    "type": ["string", "null"],
                    "maxLength": 200,
                    "description": "Honeypot: must stay empty",
                },
            },
        },
        "Posted": {
            "type": "object",
            "required": ["comment", "status", "page"],
            "properties": {
                "comment": _ref("Comment"),
                "status": {"enum": ["approved", "pending"]},
                "page": _ref("Page"),
                "author_token": {
                    "type": "string",
                    "description": "Only on an author's first post: keep it",
                },
            },
        },
        "Edit": {
            "type": "object",
            "required": ["body"],
            "additionalProperties": False,
            "properties": {"body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX}},
        },
        "OneComment": {
            "type": "object",
            "required": ["comment"],
            "properties": {"comment": _ref("Comment")},
        },
        "Counts": {
            "type": "object",
            "required": ["counts"],
            "properties": {
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}}
            },
        },
        "PageList": {
            "type": "object",
            "required": ["pages"],
            "additionalProperties": False,
            "properties": {
                "pages": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 100,
                    "items": {"type": "string", "minLength": 1, "maxLength": PAGE_KEY_MAX},
                }
            },
        },
        "Envelope": {
            "type": "object",
            "required": ["type", "page", "seq", "data"],
            "properties": {
                "type": {"type": "string"},
                "page": {"type": "string"},
                "seq": {"type": "integer"},
                "data": {"type": "object"},
            },
        },
        "Events": {
            "type": "object",
            "required": ["events", "seq", "has_more"],
            "properties": {
                "events": {"type": "array", "items": _ref("Envelope")},
                "seq": {"type": "integer"},
                "has_more": {"type": "boolean"},
            },
        },
        "Flagged": {
            "type": "object",
            "required": ["flagged", "flags", "undo"],
            "properties": {
                "flagged": {"const": True},
                "flags": {"type": "integer"},
                "undo": {
                    "type": "string",
                    "description": "Takes this flag back: `DELETE .../flag?undo=...`",
                },
            },
        },
        "Unflagged": {
            "type": "object",
            "required": ["flagged", "flags"],
            "properties": {"flagged": {"const": False}, "flags": {"type": "integer"}},
        },
        "Mine": {
            "type": "object",
            "required": ["comments"],
            "properties": {"comments": {"type": "array", "items": _ref("Comment")}},
        },
        "Erased": {
            "type": "object",
            "required": ["erased"],
            "properties": {"erased": {"type": "integer"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    base = "/api/v1/sites/{site}"
    one = base + "/comments/{comment_id}"
    idem = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes a retried post safe: the same key replays the first answer",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,100}$"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Threadline API",
            "version": "1",
            "description": "Comment threads for embedded widgets. Requests from browsers "
            "must come from one of the site's origins. Every error is "
            '`{"error": {"code", "message"}}`.',
        },
        "paths": {
            base + "/thread": {
                "get": _op(
                    "A page's comments, newest first, with their first replies",
                    {"200": _json(_ref("Thread"), "One page of the thread")},
                    params=[
                        PAGE,
                        {"name": "order", "in": "query", "schema": {"enum": ["newest", "oldest"]}},
                        CURSOR,
                    ],
                    op_id="thread_get",
                )
            },
            one + "/replies": {
                "get": _op(
                    "More replies of a comment, oldest first",
                    {"200": _json(_ref("Replies"), "The next replies")},
                    params=[COMMENT_ID, CURSOR],
                    op_id="replies_get",
                )
            },
            base + "/comments": {
                "post": _op(
                    "Post a comment or reply",
                    {
                        "201": _json(_ref("Posted"), "Stored: published or held"),
                        "200": _json(_ref("Posted"), "A retry of an earlier post (same key)"),
                    },
                    params=[idem],
                    body=_ref("Draft"),
                    security=BEARER,
                    op_id="comments_create",
                )
            },
            one: {
                "patch": _op(
                    "Edit your comment (inside the edit window)",
                    {"200": _json(_ref("OneComment"), "Edited")},
                    params=[COMMENT_ID],
                    body=_ref("Edit"),
                    security=[{"authorToken": []}],
                    op_id="comments_update",
                ),
                "delete": _op(
                    "Delete your comment (inside the edit window)",
                    {"200": _json(_ref("OneComment"), "Deleted")},
                    params=[COMMENT_ID],
                    security=[{"authorToken": []}],
                    op_id="comments_delete",
                ),
            },
            one + "/flag": {
                "post": _op(
                    "Report a comment to the moderators",
                    {"200": _json(_ref("Flagged"), "Counted")},
                    params=[COMMENT_ID],
                    security=BEARER,
                    op_id="comments_flag",
                ),
                "delete": _op(
                    "Take back your own flag, from the network and with the author token "
                    "that raised it (a comment the flags held stays held)",
                    {"200": _json(_ref("Unflagged"), "Taken back (or already gone)")},
                    params=[
                        COMMENT_ID,
                        {
                            "name": "undo",
                            "in": "query",
                            "required": True,
                            "description": "`undo` from the flag's answer",
                            "schema": {"type": "string", "maxLength": 64},
                        },
                    ],
                    security=BEARER,
                    op_id="comments_unflag",
                ),
            },
            base + "/authors/me": {
                "get": _op(
                    "Everything your author token wrote on this site",
                    {"200": _json(_ref("Mine"), "Your comments")},
                    security=[{"authorToken": []}],
                    op_id="authors_me_get",
                ),
                "delete": _op(
                    "Erase everything your author token wrote on this site",
                    {"200": _json(_ref("Erased"), "How many were erased")},
                    security=[{"authorToken": []}],
                    op_id="authors_me_delete",
                ),
            },
            base + "/counts": {
                "get": _op(
                    "Approved-comment counts of up to 100 pages",
                    {"200": _json(_ref("Counts"), "Counts by page key")},
                    params=[
                        {
                            "name": "page",
                            "in": "query",
                            "required": True,
                            "style": "form",
                            "explode": True,
                            "schema": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": {"type": "string"},
                            },
                        }
                    ],
                    op_id="counts_get",
                ),
                "post": _op(
                    "Approved-comment counts of up to 100 pages",
                    {"200": _json(_ref("Counts"), "Counts by page key")},
                    body=_ref("PageList"),
                    op_id="counts_post",
                ),
            },
            base + "/events": {
                "get": _op(
                    "Durable events after a seq: the replay behind the live protocol",
                    {"200": _json(_ref("Events"), "Events in seq order")},
                    params=[
                        PAGE,
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                    ],
                    op_id="events_get",
                )
            },
            base + "/feed.atom": {
                "get": _op(
                    "Atom feed of the 50 newest approved comments of the site, or of one page",
                    {
                        "200": {
                            "description": "An Atom 1.0 feed (RFC 4287)",
                            "content": {"application/atom+xml": {"schema": {"type": "string"}}},
                        }
                    },
                    params=[{**PAGE, "required": False}],
                    op_id="feed_get",
                )
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "authorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The author token returned by your first post",
                }
            },
        },
    }


_DOCUMENT = openapi_document()


async def openapi_json(request: Request) -> Response:
    return JSON(
        _DOCUMENT,
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )

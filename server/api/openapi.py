"""The OpenAPI 3.1 document of the JSON API (tests keep it true to the routes and replies)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.api.openapi_schemas import json_body, ref, schemas
from server.core.text import PAGE_KEY_MAX
from server.http.responses import JSON

ERRORS = {
    "4XX": json_body(ref("Error"), "The request was refused; `error.code` says why"),
    "503": json_body(ref("Error"), "A dependency is unavailable; retry after `Retry-After`"),
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
BEARER: list[dict[str, Any]] = [{}, {"authorToken": []}, {"readerSession": []}]
MINE: list[dict[str, Any]] = [{"authorToken": []}, {"readerSession": []}]
NOTIFICATION_ID = {
    "name": "notification_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
}


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
                    {"200": json_body(ref("Thread"), "One page of the thread")},
                    params=[
                        PAGE,
                        {
                            "name": "order",
                            "in": "query",
                            "description": "newest (default), oldest, or best: ranked by the "
                            "lower bound of the 95 % Wilson interval of readers' reactions, "
                            "as of the first page's moment (its cursor carries it)",
                            "schema": {"enum": ["newest", "oldest", "best"]},
                        },
                        CURSOR,
                        {
                            "name": "around",
                            "in": "query",
                            "required": False,
                            "description": "A permalink: list from the start through the "
                            "page holding this comment (a reply: its parent's page, and the "
                            "parent's replies through it); adds `target` and `from_start`",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    op_id="thread_get",
                )
            },
            one + "/replies": {
                "get": _op(
                    "More replies of a comment, oldest first",
                    {"200": json_body(ref("Replies"), "The next replies")},
                    params=[COMMENT_ID, CURSOR],
                    op_id="replies_get",
                )
            },
            base + "/comments": {
                "post": _op(
                    "Post a comment or reply",
                    {
                        "201": json_body(ref("Posted"), "Stored: published or held"),
                        "200": json_body(ref("Posted"), "A retry of an earlier post (same key)"),
                    },
                    params=[idem],
                    body=ref("Draft"),
                    security=BEARER,
                    op_id="comments_create",
                )
            },
            one: {
                "patch": _op(
                    "Edit your comment (inside the edit window)",
                    {"200": json_body(ref("OneComment"), "Edited")},
                    params=[COMMENT_ID],
                    body=ref("Edit"),
                    security=MINE,
                    op_id="comments_update",
                ),
                "delete": _op(
                    "Delete your comment (inside the edit window)",
                    {"200": json_body(ref("OneComment"), "Deleted")},
                    params=[COMMENT_ID],
                    security=MINE,
                    op_id="comments_delete",
                ),
            },
            one + "/flag": {
                "post": _op(
                    "Report a comment to the moderators",
                    {"200": json_body(ref("Flagged"), "Counted")},
                    params=[COMMENT_ID],
                    security=BEARER,
                    op_id="comments_flag",
                ),
                "delete": _op(
                    "Take back your own flag, from the network and with the author token "
                    "that raised it (a comment the flags held stays held)",
                    {"200": json_body(ref("Unflagged"), "Taken back (or already gone)")},
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
            one + "/pin": {
                "put": _op(
                    "Pin a published top-level comment to the top of its thread (at most 3 "
                    "a page): a signed-in reader the site says is a moderator",
                    {"200": json_body(ref("OneComment"), "Pinned (or already pinned)")},
                    params=[COMMENT_ID],
                    security=[{"readerSession": []}],
                    op_id="comments_pin",
                ),
                "delete": _op(
                    "Unpin a comment: a signed-in reader the site says is a moderator",
                    {"200": json_body(ref("OneComment"), "Unpinned (or was not pinned)")},
                    params=[COMMENT_ID],
                    security=[{"readerSession": []}],
                    op_id="comments_unpin",
                ),
            },
            one + "/reaction": {
                "put": _op(
                    "React to a comment (one reaction per reader: another one replaces it)",
                    {"200": json_body(ref("Reacted"), "Counted (or already so)")},
                    params=[COMMENT_ID],
                    body=ref("Reaction"),
                    security=BEARER,
                    op_id="reaction_put",
                ),
                "delete": _op(
                    "Take back your reaction to a comment",
                    {"200": json_body(ref("Reacted"), "Taken back (or there was none)")},
                    params=[COMMENT_ID],
                    security=MINE,
                    op_id="reaction_delete",
                ),
            },
            one + "/subscribe": {
                "post": _op(
                    "Ask for e-mail about replies to your comment (scope replies) or about "
                    "every comment published on its page (scope thread). Double opt-in: "
                    "the answer is the same whatever the address's state; a new address "
                    "is sent one confirmation (at most one a day across sites)",
                    {"202": json_body(ref("CheckYourInbox"), "Asked")},
                    params=[COMMENT_ID],
                    body=ref("Subscribe"),
                    security=MINE,
                    op_id="comments_subscribe",
                )
            },
            base + "/reactions/mine": {
                "get": _op(
                    "Your live reactions on a page (the newest 1,000)",
                    {"200": json_body(ref("MyReactions"), "By comment id")},
                    params=[PAGE],
                    security=MINE,
                    op_id="reactions_mine",
                )
            },
            base + "/notifications": {
                "get": _op(
                    "Your notifications, the latest changed first (20 a page; kept 30 days)",
                    {"200": json_body(ref("Notifications"), "A page of them")},
                    params=[CURSOR],
                    security=MINE,
                    op_id="notifications_get",
                )
            },
            base + "/notifications/read": {
                "post": _op(
                    "Mark some (ids) or all of your notifications read",
                    {"200": json_body(ref("Unread"), "How many are left unread")},
                    body=ref("MarkRead"),
                    security=MINE,
                    op_id="notifications_read",
                )
            },
            base + "/notifications/{notification_id}": {
                "delete": _op(
                    "Delete one of your notifications",
                    {"204": {"description": "Deleted"}},
                    params=[NOTIFICATION_ID],
                    security=MINE,
                    op_id="notifications_delete",
                )
            },
            base + "/authors/me": {
                "get": _op(
                    "Everything you wrote on this site (author token or session)",
                    {"200": json_body(ref("Mine"), "Your comments")},
                    security=MINE,
                    op_id="authors_me_get",
                ),
                "delete": _op(
                    "Erase everything you wrote on this site (author token or session)",
                    {"200": json_body(ref("Erased"), "How many were erased")},
                    security=MINE,
                    op_id="authors_me_delete",
                ),
            },
            base + "/sso/session": {
                "post": _op(
                    "Sign a reader in: exchange the site's token for a session",
                    {"200": json_body(ref("Session"), "Signed in")},
                    body=ref("SignIn"),
                    op_id="sso_session_create",
                ),
                "delete": _op(
                    "Sign out: end this reader's sessions on the server",
                    {"200": json_body(ref("SignedOut"), "Every session begun before is over")},
                    security=[{"readerSession": []}],
                    op_id="sso_session_delete",
                ),
            },
            base + "/sso/claim": {
                "post": _op(
                    "Attach this browser's anonymous comments to the signed-in reader",
                    {"200": json_body(ref("Claimed"), "How many were attached")},
                    body=ref("Claim"),
                    security=[{"readerSession": []}],
                    op_id="sso_claim",
                )
            },
            base + "/counts": {
                "get": _op(
                    "Approved-comment counts of up to 100 pages",
                    {"200": json_body(ref("Counts"), "Counts by page key")},
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
                    {"200": json_body(ref("Counts"), "Counts by page key")},
                    body=ref("PageList"),
                    op_id="counts_post",
                ),
            },
            base + "/events": {
                "get": _op(
                    "Durable events after a seq: the replay behind the live protocol",
                    {"200": json_body(ref("Events"), "Events in seq order")},
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
            "schemas": schemas(),
            "securitySchemes": {
                "authorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The author token returned by your first post",
                },
                "readerSession": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The session a sign-in returned (single sign-on)",
                },
            },
        },
    }


_DOCUMENT = openapi_document()


async def openapi_json(request: Request) -> Response:
    return JSON(
        _DOCUMENT,
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )

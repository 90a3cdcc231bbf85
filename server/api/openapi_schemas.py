"""The schemas of the OpenAPI document: every JSON shape the API reads or answers."""

from __future__ import annotations

from typing import Any

from server.core.text import BODY_MAX, NAME_MAX, PAGE_KEY_MAX, TITLE_MAX, URL_MAX

NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
REACTION_TOTALS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 1},
    "description": "Reaction totals in the site's order of choices (none: left out)",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def schemas() -> dict[str, Any]:
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
            "verified",
            "avatar",
            "author_key",
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
            "verified": {
                "type": "boolean",
                "description": "Written by a reader the site signed in (single sign-on)",
            },
            "avatar": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "A verified reader's avatar: an https URL",
            },
            "author_key": {
                "type": ["string", "null"],
                "description": "Stable per verified reader (not their user id): for avatars",
            },
            "reactions": REACTION_TOTALS,
            "pinned": {"type": "boolean", "description": "Pinned by a moderator"},
        },
    }
    identity = {
        "type": "object",
        "required": ["name", "avatar", "moderator", "author_key"],
        "properties": {
            "name": {"type": "string"},
            "avatar": NULLABLE_STR,
            "moderator": {"type": "boolean"},
            "author_key": {"type": "string"},
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
                        "replies": {"type": "array", "items": ref("Comment")},
                        "replies_cursor": NULLABLE_STR,
                        "replies_from_start": {
                            "type": "boolean",
                            "description": "Only in a permalink's listing, on the parent of "
                            "the target reply: false when its replies start at the reply page "
                            "holding it (more than 10 pages in), not at the first",
                        },
                    },
                },
            ]
        },
        "Page": page,
        "Thread": {
            "type": "object",
            "required": ["page", "comments", "cursor", "has_more", "config", "form_token"],
            "properties": {
                "page": ref("Page"),
                "comments": {"type": "array", "items": ref("ThreadComment")},
                "cursor": NULLABLE_STR,
                "has_more": {"type": "boolean"},
                "config": {
                    "type": "object",
                    "required": ["edit_window", "moderation", "sso", "reactions", "mail"],
                    "properties": {
                        "edit_window": {"type": "integer"},
                        "moderation": {"enum": ["none", "first-time", "all"]},
                        "sso": {"enum": ["anonymous", "sso-optional", "sso-only"]},
                        "reactions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "The reactions readers may give: up, down or "
                            "emoji (none: reactions are off)",
                        },
                        "mail": {
                            "type": "boolean",
                            "description": "Whether readers may subscribe to e-mail about "
                            "replies and threads (false: subscribing answers `mail_off`)",
                        },
                    },
                },
                "form_token": {"type": "string"},
                "target": {
                    "type": "integer",
                    "description": "Only with `around`: the comment the listing is around",
                },
                "from_start": {
                    "type": "boolean",
                    "description": "Only with `around`: false when the comment is more than "
                    "10 pages in and the listing is the page holding it alone",
                },
            },
        },
        "Replies": {
            "type": "object",
            "required": ["replies", "cursor", "has_more"],
            "properties": {
                "replies": {"type": "array", "items": ref("Comment")},
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
                "comment": ref("Comment"),
                "status": {"enum": ["approved", "pending"]},
                "page": ref("Page"),
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
            "properties": {"comment": ref("Comment")},
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
                "events": {"type": "array", "items": ref("Envelope")},
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
            "properties": {"comments": {"type": "array", "items": ref("Comment")}},
        },
        "SignIn": {
            "type": "object",
            "required": ["token"],
            "additionalProperties": False,
            "properties": {
                "token": {
                    "type": "string",
                    "maxLength": 8192,
                    "description": "The JWT the site's backend signed for its reader",
                },
                "author_token": {
                    "type": "string",
                    "description": "This browser's anonymous author token, to count what "
                    "the reader may claim",
                },
            },
        },
        "Session": {
            "type": "object",
            "required": ["session", "expires_at", "identity", "claimable"],
            "properties": {
                "session": {
                    "type": "string",
                    "description": "Send as `Authorization: Bearer` wherever an author token goes",
                },
                "expires_at": {"type": "string", "format": "date-time"},
                "identity": identity,
                "claimable": {"type": "integer"},
            },
        },
        "SignedOut": {
            "type": "object",
            "required": ["signed_out"],
            "properties": {"signed_out": {"const": True}},
        },
        "Claim": {
            "type": "object",
            "required": ["author_token"],
            "additionalProperties": False,
            "properties": {"author_token": {"type": "string"}},
        },
        "Claimed": {
            "type": "object",
            "required": ["claimed"],
            "properties": {"claimed": {"type": "integer"}},
        },
        "Reaction": {
            "type": "object",
            "required": ["reaction"],
            "additionalProperties": False,
            "properties": {
                "reaction": {
                    "type": "string",
                    "maxLength": 64,
                    "description": "One of the thread listing's `config.reactions`",
                }
            },
        },
        "Reacted": {
            "type": "object",
            "required": ["reaction", "reactions"],
            "properties": {
                "reaction": {
                    "type": ["string", "null"],
                    "description": "Your reaction to the comment now (null: none)",
                },
                "reactions": REACTION_TOTALS,
                "token": {
                    "type": "string",
                    "description": "Only when the request carried no Bearer: your new author "
                    "token, kept like a first post's",
                },
            },
        },
        "MyReactions": {
            "type": "object",
            "required": ["mine"],
            "properties": {
                "mine": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Your live reactions on the page, by comment id",
                }
            },
        },
        "Notification": {
            "type": "object",
            "required": [
                "id",
                "kind",
                "comment",
                "page",
                "actors",
                "created_at",
                "updated_at",
                "read",
            ],
            "properties": {
                "id": {"type": "integer"},
                "kind": {
                    "type": "string",
                    "enum": ["reply", "moderator_reply", "approved", "rejected", "reactions"],
                },
                "comment": {
                    **ref("Comment"),
                    "description": "The reply, your decided comment or your reacted-to one; "
                    "its tombstone once it left public view",
                },
                "page": {
                    "type": "object",
                    "required": ["key", "url", "title"],
                    "properties": {
                        "key": {"type": "string"},
                        "url": {"type": ["string", "null"]},
                        "title": {"type": ["string", "null"]},
                    },
                },
                "actors": {
                    "type": "integer",
                    "description": "For reactions: the comment's live reactions (else 1)",
                },
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "read": {"type": "boolean"},
            },
        },
        "Notifications": {
            "type": "object",
            "required": ["notifications", "unread", "cursor", "has_more"],
            "properties": {
                "notifications": {"type": "array", "items": ref("Notification")},
                "unread": {"type": "integer"},
                "cursor": {"type": ["string", "null"]},
                "has_more": {"type": "boolean"},
            },
        },
        "MarkRead": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
                "all": {"type": "boolean", "const": True},
            },
        },
        "Unread": {
            "type": "object",
            "required": ["unread"],
            "properties": {"unread": {"type": "integer"}},
        },
        "Subscribe": {
            "type": "object",
            "additionalProperties": False,
            "required": ["email", "scope"],
            "properties": {
                "email": {"type": "string", "maxLength": 254},
                "scope": {"type": "string", "enum": ["replies", "thread"]},
                "lang": {
                    "type": "string",
                    "enum": ["en", "de", "es", "fr", "sr-Latn", "sr-Cyrl"],
                },
            },
        },
        "CheckYourInbox": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "const": "check_your_inbox"}},
        },
        "Erased": {
            "type": "object",
            "required": ["erased"],
            "properties": {"erased": {"type": "integer"}},
        },
    }

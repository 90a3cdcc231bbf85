"""JSON API handlers: parse input, call one core function, render the result. A refusal is
raised, and answered by the app's one ``DomainError`` handler."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.api import feeds
from server.api.inputs import bearer_token, idempotency_key, json_object, query, query_int
from server.api.openapi import openapi_json
from server.core import (
    author_changes,
    comments,
    erasure,
    flags,
    identities,
    notifications,
    pins,
    reactions,
    subscriptions,
    threads,
)
from server.core.errors import Invalid
from server.core.guards import form_token
from server.core.models import Order, Site, iso
from server.core.text import clean_page_key
from server.http.clientip import client_ip
from server.http.responses import JSON
from server.state import app_state


async def site_of(request: Request) -> Site:
    return await app_state(request).sites.get(request.path_params["site"])


def comment_id(request: Request) -> int:
    value: int = request.path_params["comment_id"]
    if not 0 < value < 2**62:
        raise Invalid("invalid_comment_id", "comment ids are positive whole numbers")
    return value


async def thread_get(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    page = clean_page_key(query(request, "page", required=True))
    order = threads.parse_order(query(request, "order"))
    cursor = query(request, "cursor")
    around = threads.parse_around(query(request, "around"))
    token = b'{"form_token":"' + form_token(app.secret, site.id, app.services.now_ms()).encode()
    if around is not None or (cursor and order is Order.BEST):
        await threads.count_ranked_request(
            app.services, site, client_ip(request.scope, app.settings.trusted_proxies)
        )
    if around is not None:
        # A permalink's listing: never cached (it is rare, and differs for every comment).
        if cursor:
            raise Invalid("invalid_around", "around lists from the start: send no cursor")
        listing = await threads.list_around(app.services, site, page, around, order=order)
        return Response(token + b'",' + orjson.dumps(listing)[1:], media_type="application/json")

    async def compute() -> tuple[bytes, bool]:
        listing, exists = await threads.list_thread(
            app.services, site, page, order=order, cursor=cursor
        )
        return orjson.dumps(listing), exists

    cached = (
        (await compute())[0]
        if cursor
        else await app.thread_cache.fetch(site.id, page, order.value, compute)
    )
    # The form token is per request; everything else may come from the cache.
    return Response(token + b'",' + cached[1:], media_type="application/json")


async def replies_get(request: Request) -> Response:
    site = await site_of(request)
    body = await threads.list_replies(
        app_state(request).services, site, comment_id(request), cursor=query(request, "cursor")
    )
    return JSON(body)


POST_FIELDS = ("page", "url", "title", "parent", "name", "body", "form_token", "hp")


async def comments_create(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, POST_FIELDS)
    app = app_state(request)
    result = await comments.post_comment(
        app.services,
        site,
        comments.Draft(**{k: data.get(k) for k in POST_FIELDS}),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
        idempotency_key=idempotency_key(request),
    )
    comment = result.comment.public()
    body: dict[str, Any] = {
        "comment": comment,
        "status": comment["status"],
        "page": threads.page_info(result.page),
    }
    if result.author_token is not None:
        body["author_token"] = result.author_token
    return JSON(
        body,
        status_code=200 if result.replayed else 201,
        headers={"Idempotent-Replayed": "true"} if result.replayed else None,
    )


async def comments_update(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("body",))
    app = app_state(request)
    comment = await author_changes.edit_comment(
        app.services,
        site,
        comment_id(request),
        data.get("body"),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"comment": comment.public()})


async def comments_delete(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    comment = await author_changes.delete_comment(
        app.services,
        site,
        comment_id(request),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"comment": comment.public()})


async def comments_flag(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    count, undo = await flags.flag_comment(
        app.services,
        site,
        comment_id(request),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"flagged": True, "flags": count, "undo": undo})


async def comments_unflag(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    count = await flags.unflag_comment(
        app.services,
        site,
        comment_id(request),
        query(request, "undo", required=True),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"flagged": False, "flags": count})


async def comments_pin(request: Request) -> Response:
    site = await site_of(request)
    comment = await pins.pin_as_reader(
        app_state(request).services, site, comment_id(request), bearer_token(request), pinned=True
    )
    return JSON({"comment": comment.public()})


async def comments_unpin(request: Request) -> Response:
    site = await site_of(request)
    comment = await pins.pin_as_reader(
        app_state(request).services, site, comment_id(request), bearer_token(request), pinned=False
    )
    return JSON({"comment": comment.public()})


async def reaction_put(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("reaction",))
    app = app_state(request)
    reacted = await reactions.react(
        app.services,
        site,
        comment_id(request),
        data.get("reaction"),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON(reacted.public())


async def reaction_delete(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    reacted = await reactions.unreact(
        app.services,
        site,
        comment_id(request),
        token=bearer_token(request),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON(reacted.public())


async def reactions_mine(request: Request) -> Response:
    site = await site_of(request)
    mine = await reactions.my_reactions(
        app_state(request).services,
        site,
        query(request, "page", required=True),
        bearer_token(request),
    )
    # One reader's own choices: no shared cache may keep them.
    return JSON({"mine": mine}, headers={"Cache-Control": "no-store"})


async def notifications_get(request: Request) -> Response:
    site = await site_of(request)
    listing = await notifications.list_notifications(
        app_state(request).services, site, bearer_token(request), query(request, "cursor")
    )
    # One reader's own: no shared cache may keep them.
    return JSON(listing.public(), headers={"Cache-Control": "no-store"})


async def notifications_read(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("ids", "all"))
    app = app_state(request)
    unread = await notifications.mark_read(
        app.services,
        site,
        bearer_token(request),
        data,
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"unread": unread}, headers={"Cache-Control": "no-store"})


async def notifications_delete(request: Request) -> Response:
    site = await site_of(request)
    notification_id: int = request.path_params["notification_id"]
    if not 0 < notification_id < 2**62:
        raise Invalid("invalid_notification_id", "notification ids are positive whole numbers")
    app = app_state(request)
    await notifications.delete_notification(
        app.services,
        site,
        bearer_token(request),
        notification_id,
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return Response(status_code=204)


async def comments_subscribe(request: Request) -> Response:
    site = await site_of(request)
    app = app_state(request)
    if not app.mail.enabled:
        raise subscriptions.mail_off()
    data = await json_object(request, ("email", "scope", "lang"))
    await subscriptions.subscribe(
        app.services,
        site,
        bearer_token(request),
        comment_id(request),
        data.get("scope"),
        data.get("email"),
        data.get("lang"),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    app.mail.wake()
    return JSON({"status": "check_your_inbox"}, status_code=202)


async def authors_me_get(request: Request) -> Response:
    site = await site_of(request)
    mine = await erasure.my_comments(app_state(request).services, site, bearer_token(request))
    return JSON({"comments": mine})


async def authors_me_delete(request: Request) -> Response:
    site = await site_of(request)
    erased = await erasure.erase_mine(app_state(request).services, site, bearer_token(request))
    return JSON({"erased": erased})


async def sso_session_create(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("token", "author_token"))
    app = app_state(request)
    signed_in = await identities.sign_in(
        app.services,
        site,
        data.get("token"),
        author_token=data.get("author_token"),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON(
        {
            "session": signed_in.session,
            "expires_at": iso(signed_in.expires_at),
            "identity": identities.identity_public(signed_in.identity),
            "claimable": signed_in.claimable,
        }
    )


async def sso_session_delete(request: Request) -> Response:
    site = await site_of(request)
    await identities.sign_out(app_state(request).services, site, bearer_token(request))
    return JSON({"signed_out": True})


async def sso_claim(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("author_token",))
    app = app_state(request)
    claimed = await identities.claim_comments(
        app.services,
        site,
        bearer_token(request),
        data.get("author_token"),
        client_ip=client_ip(request.scope, app.settings.trusted_proxies),
    )
    return JSON({"claimed": claimed})


async def counts_get(request: Request) -> Response:
    site = await site_of(request)
    pages = request.query_params.getlist("page")
    return JSON({"counts": await threads.count_pages(app_state(request).services, site, pages)})


async def counts_post(request: Request) -> Response:
    site = await site_of(request)
    data = await json_object(request, ("pages",))
    pages = data.get("pages")
    if not isinstance(pages, list):
        raise Invalid("invalid_pages", "pages must be a list of page keys")
    return JSON({"counts": await threads.count_pages(app_state(request).services, site, pages)})


async def feed_get(request: Request) -> Response:
    site = await site_of(request)
    page, items = await threads.newest_comments(
        app_state(request).services, site, query(request, "page")
    )
    return Response(
        feeds.render(site, page, items, app_state(request).settings.public_url),
        media_type="application/atom+xml; charset=utf-8",
        # Not kept by shared caches: a comment erased now leaves the feed now.
        headers={"Cache-Control": "no-cache"},
    )


async def events_get(request: Request) -> Response:
    site = await site_of(request)
    after = query_int(request, "after", 0)
    limit = max(1, min(query_int(request, "limit", threads.MAX_EVENTS), threads.MAX_EVENTS))
    page, events = await threads.events_after(
        app_state(request).services, site, query(request, "page", required=True), after, limit
    )
    return JSON(
        {
            "events": [e.envelope() for e in events],
            "seq": page.seq,
            "has_more": bool(events) and events[-1].seq < page.seq,
        }
    )


def routes() -> list[BaseRoute]:
    base = "/api/v1/sites/{site}"
    one = base + "/comments/{comment_id:int}"
    return [
        Route("/api/v1/openapi.json", openapi_json, methods=["GET"]),
        Route(base + "/thread", thread_get, methods=["GET"]),
        Route(one + "/replies", replies_get, methods=["GET"]),
        Route(base + "/comments", comments_create, methods=["POST"]),
        Route(one, comments_update, methods=["PATCH"]),
        Route(one, comments_delete, methods=["DELETE"]),
        Route(one + "/flag", comments_flag, methods=["POST"]),
        Route(one + "/flag", comments_unflag, methods=["DELETE"]),
        Route(one + "/pin", comments_pin, methods=["PUT"]),
        Route(one + "/pin", comments_unpin, methods=["DELETE"]),
        Route(one + "/subscribe", comments_subscribe, methods=["POST"]),
        Route(one + "/reaction", reaction_put, methods=["PUT"]),
        Route(one + "/reaction", reaction_delete, methods=["DELETE"]),
        Route(base + "/reactions/mine", reactions_mine, methods=["GET"]),
        Route(base + "/notifications", notifications_get, methods=["GET"]),
        Route(base + "/notifications/read", notifications_read, methods=["POST"]),
        Route(
            base + "/notifications/{notification_id:int}",
            notifications_delete,
            methods=["DELETE"],
        ),
        Route(base + "/authors/me", authors_me_get, methods=["GET"]),
        Route(base + "/authors/me", authors_me_delete, methods=["DELETE"]),
        Route(base + "/sso/session", sso_session_create, methods=["POST"]),
        Route(base + "/sso/session", sso_session_delete, methods=["DELETE"]),
        Route(base + "/sso/claim", sso_claim, methods=["POST"]),
        Route(base + "/counts", counts_get, methods=["GET"]),
        Route(base + "/counts", counts_post, methods=["POST"]),
        Route(base + "/events", events_get, methods=["GET"]),
        Route(base + "/feed.atom", feed_get, methods=["GET"]),
    ]

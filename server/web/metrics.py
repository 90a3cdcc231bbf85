"""GET /metrics: Prometheus text for this process, behind a bearer token."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from server.core.queue import comment_counts
from server.http.responses import error
from server.metrics import Exposition
from server.state import AppState, app_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: Request) -> Response:
    state = app_state(request)
    token = state.settings.metrics_token
    if not token:
        return error(404, "metrics_off", "set THREADLINE_METRICS_TOKEN to turn on /metrics")
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        return error(
            401,
            "unauthorized",
            "send Authorization: Bearer <metrics token>",
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(
        await render(state), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )


async def render(state: AppState) -> str:
    hub, live, out = state.hub, state.hub.stats, Exposition()
    out.metric(
        "threadline_websocket_connections",
        "gauge",
        "Open reader websockets in this process.",
        [((), hub.connections)],
    )
    out.metric(
        "threadline_broker_connected",
        "gauge",
        "1 while every broker subscription of this process is live (always 1 in-process).",
        [((), int(state.broker.connected))],
    )
    out.metric(
        "threadline_broker_catch_ups_total",
        "counter",
        "Times the broker's subscriptions came back (Redis restarted, failed over, a slot "
        "moved) and the open pages caught up from the database.",
        [((), live.catch_ups)],
    )
    out.metric(
        "threadline_pages_subscribed",
        "gauge",
        "Pages this process holds a broker subscription for.",
        [((), len(hub.rooms))],
    )
    out.metric(
        "threadline_readers_subscribed",
        "gauge",
        "Readers (author tokens, sessions) this process holds a broker subscription for.",
        [((), len(hub.readers.subscribed))],
    )
    out.metric(
        "threadline_notification_frames_total",
        "counter",
        "Unread-count frames this process sent to readers' sockets.",
        [((), hub.readers.frames)],
    )
    out.metric(
        "threadline_unread_counts_read_total",
        "counter",
        "Readers' unread counts read from the database (coalesced doorbells).",
        [((), hub.readers.reads)],
    )
    out.metric(
        "threadline_notify_comments_total",
        "counter",
        "Published comments this process's notification fan-out read (told or passed over).",
        [((), state.fanout.comments)],
    )
    out.metric(
        "threadline_notify_transaction_seconds_total",
        "counter",
        "Wall seconds of this process's notification fan-out transactions, BEGIN to COMMIT.",
        [((), state.fanout.busy_seconds)],
    )
    out.metric(
        "threadline_events_published_total",
        "counter",
        "Durable events this process committed and published.",
        [((), live.published)],
    )
    out.metric(
        "threadline_frames_delivered_total",
        "counter",
        "Frames written to local reader sockets (events, typing, presence).",
        [((), live.delivered)],
    )
    out.metric(
        "threadline_reaction_frames_total",
        "counter",
        "Coalesced reaction-totals frames this process sent (one per page per flush).",
        [((), hub.reaction_counts.frames)],
    )
    out.metric(
        "threadline_slow_clients_dropped_total",
        "counter",
        "Sockets closed (1013) because they did not read fast enough.",
        [((), live.dropped_slow)],
    )
    out.histogram(
        "threadline_fanout_seconds",
        "One event, from arrival in this process to every local socket written.",
        [((), live.fanout)],
    )
    out.histogram(
        "threadline_http_request_duration_seconds",
        "HTTP requests by route template, method and status class.",
        sorted(state.http_stats.latency.items()),
    )
    counted = await comment_counts(state.services)
    counts, site_ids = counted.by_status, counted.site_ids
    out.metric(
        "threadline_comments",
        "gauge",
        "Comments by site and status (`flagged` counts flagged approved or pending comments).",
        [((("site", site), ("status", status)), n) for site, status, n in counts],
    )
    out.metric(
        "threadline_moderation_queue_depth",
        "gauge",
        "Comments waiting for a moderator (pending plus flagged), by site.",
        [((("site", site),), n) for site, n in _queue(site_ids, counts).items()],
    )
    return out.text()


def _queue(site_ids: list[str], counts: list[tuple[str, str, int]]) -> dict[str, int]:
    """Every site's queue, 0 when nothing waits: an absent series is not an empty queue
    to an alert rule."""
    depth = dict.fromkeys(site_ids, 0)
    for site, status, n in counts:
        if status in ("pending", "flagged"):
            depth[site] = depth.get(site, 0) + n
    return depth

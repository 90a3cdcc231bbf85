"""The queue page and every action on an item: decide, bulk decide, reply, edit, ban."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from server.core.accounts import Session
from server.core.bans import ban_author
from server.core.comments import Draft, post_comment
from server.core.decisions import RESTORE_DAYS, Action, decide_comment, moderator_edit
from server.core.errors import DomainError, Forbidden, Invalid, NotFound
from server.core.models import Comment, Site, Status
from server.core.queue import TAB_ACTIONS, TABS, comment_history, view_queue
from server.http.app_state import app_state
from server.http.clientip import client_ip
from server.http.errors import wants_json
from server.i18n import N_
from server.moderation.forms import Posted, form_action
from server.moderation.render import done, page
from server.moderation.security import moderator_page, safe_next
from server.state import AppState

DONE = {
    Action.APPROVE: N_("Comment {id} approved."),
    Action.REJECT: N_("Comment {id} rejected."),
    Action.SPAM: N_("Comment {id} marked as spam."),
    Action.DELETE: N_("Comment {id} deleted."),
    Action.RESTORE: N_("Comment {id} restored."),
}
BULK_DONE = {
    Action.APPROVE: N_("Approved: {done}."),
    Action.REJECT: N_("Rejected: {done}."),
    Action.SPAM: N_("Marked as spam: {done}."),
    Action.DELETE: N_("Deleted: {done}."),
    Action.RESTORE: N_("Restored: {done}."),
}
BULK_PARTLY = {
    Action.APPROVE: N_("Approved: {done}. Already handled or not yours: {refused}."),
    Action.REJECT: N_("Rejected: {done}. Already handled or not yours: {refused}."),
    Action.SPAM: N_("Marked as spam: {done}. Already handled or not yours: {refused}."),
    Action.DELETE: N_("Deleted: {done}. Already handled or not yours: {refused}."),
    Action.RESTORE: N_("Restored: {done}. Already handled or not yours: {refused}."),
}
MAX_BULK = 200


@moderator_page
async def queue_page(request: Request, session: Session) -> Response:
    q = request.query_params
    tab = q.get("tab", "pending")
    try:
        page_no = int(q.get("page", "1"))
    except ValueError:
        page_no = 1
    view = await view_queue(
        app_state(request).services,
        session.moderator,
        tab=tab if tab in TABS else "pending",
        site_id=q.get("site") or None,
        search=q.get("q", ""),
        page=page_no,
    )

    def page_link(n: int) -> str:
        params = {"tab": view.tab, "page": n, "q": view.search, "site": view.site or ""}
        return "/moderate?" + urlencode({k: v for k, v in params.items() if v})

    return_to = request.url.path + ("?" + request.url.query if request.url.query else "")
    return page(
        request,
        "queue.html",
        session,
        section="queue",
        view=view,
        tabs=TABS,
        tab_actions=[a.value for a in TAB_ACTIONS[view.tab]],
        page_link=page_link,
        return_to=return_to,
        reply_names=await reply_names(app_state(request), session),
    )


@moderator_page
async def comment_page(request: Request, session: Session) -> Response:
    """One comment, its actions and its history: where the audit log links to."""
    state = app_state(request)
    item, history = await comment_history(
        state.services, session.moderator, request.path_params["comment_id"]
    )
    return page(
        request,
        "comment.html",
        session,
        section="queue",
        item=item,
        history=history,
        return_to=request.url.path,
        reply_names=await reply_names(state, session),
    )


async def reply_names(state: AppState, session: Session) -> dict[str, str]:
    """The name the moderator's replies are signed with, on each of their sites."""
    return {
        site_id: session.moderator.public_name(await state.sites.get(site_id))
        for site_id in session.moderator.sites
    }


async def _comment_site(state: AppState, session: Session, comment_id: int) -> tuple[Comment, Site]:
    async with state.store.read() as tx:
        comment = await tx.find_comment(comment_id)
    if comment is None:
        raise NotFound("comment_not_found", "no such comment")
    if not session.moderator.can_moderate(comment.site_id):
        raise Forbidden("not_your_site", "you do not moderate the site of that comment")
    return comment, await state.sites.get(comment.site_id)


def _status(value: object) -> Status | None:
    try:
        return Status(str(value)) if value else None
    except ValueError:
        raise Invalid("invalid_status", "unknown expected status") from None


def _version(value: object) -> str | None:
    return str(value)[:128] if value else None


@form_action()
async def queue_action(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    try:
        action = Action(request.path_params["action"])
    except ValueError:
        raise Invalid("invalid_action", "unknown action") from None
    comment, site = await _comment_site(state, session, request.path_params["comment_id"])
    if _unconfirmed(action, posted):
        return _confirm_delete(request, session, posted, [comment])
    updated = await decide_comment(
        state.services,
        site,
        comment.id,
        action,
        moderator=session.moderator,
        expected=_status(posted.form.get("expected")),
        version=_version(posted.form.get("version")),
    )
    return done(
        request,
        {"id": updated.id, "status": updated.status.value},
        DONE[action],
        posted.back,
        id=updated.id,
    )


def _unconfirmed(action: Action, posted: Posted) -> bool:
    return action is Action.DELETE and posted.form.get("confirm") != "1"


def _confirm_delete(
    request: Request, session: Session, posted: Posted, what: list[Comment] | list[int]
) -> Response:
    """Delete asks first: a page that posts the same form again, confirmed (the page's
    script asks in place instead)."""
    if wants_json(request):
        raise Invalid("confirm_delete", "deleting asks for confirmation: send confirm=1")
    fields = [(k, str(v)) for k, v in posted.form.multi_items() if k not in ("csrf", "confirm")]
    one = what[0] if len(what) == 1 and isinstance(what[0], Comment) else None
    return page(
        request,
        "confirm.html",
        session,
        section="queue",
        fields=fields,
        target=request.url.path,
        count=len(what),
        comment=one,
        back=safe_next(posted.back),
        days=RESTORE_DAYS,
    )


@form_action()
async def queue_bulk(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    try:
        action = Action(str(posted.form.get("action", "")))
        ids = [int(str(v)) for v in posted.form.getlist("ids")][:MAX_BULK]
    except ValueError:
        raise Invalid("invalid_bulk", "choose an action and items") from None
    if ids and _unconfirmed(action, posted):
        return _confirm_delete(request, session, posted, ids)
    decided: list[int] = []
    refused: list[dict[str, Any]] = []
    for comment_id in ids:
        try:
            comment, site = await _comment_site(state, session, comment_id)
            await decide_comment(
                state.services,
                site,
                comment.id,
                action,
                moderator=session.moderator,
                expected=_status(posted.form.get(f"s{comment_id}")),
                version=_version(posted.form.get(f"v{comment_id}")),
            )
            decided.append(comment_id)
        except DomainError as exc:
            refused.append({"id": comment_id, "code": exc.code, "message": exc.message})
    text = (BULK_PARTLY if refused else BULK_DONE)[action]
    return done(
        request,
        {"decided": decided, "refused": refused},
        text,
        posted.back,
        done=len(decided),
        refused=len(refused),
    )


@form_action()
async def queue_reply(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    comment, site = await _comment_site(state, session, request.path_params["comment_id"])
    async with state.store.read() as tx:
        page_row = await tx.find_page_by_id(comment.page_id)
    assert page_row is not None
    result = await post_comment(
        state.services,
        site,
        Draft(page=page_row.key, body=posted.form.get("body"), parent=comment.id),
        token=None,
        client_ip=client_ip(request.scope, state.settings.trusted_proxies),
        moderator=True,
        name_override=session.moderator.public_name(site),
    )
    return done(
        request,
        {"id": result.comment.id, "comment": result.comment.public()},
        N_("Reply posted."),
        posted.back,
    )


@form_action()
async def queue_edit(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    comment, site = await _comment_site(state, session, request.path_params["comment_id"])
    updated = await moderator_edit(
        state.services, site, comment.id, posted.form.get("body"), moderator=session.moderator
    )
    return done(request, {"id": updated.id, "body": updated.body}, N_("Edit saved."), posted.back)


@form_action()
async def queue_ban(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    comment, site = await _comment_site(state, session, request.path_params["comment_id"])
    ban = await ban_author(
        state.services,
        site,
        comment.id,
        moderator=session.moderator,
        mode=str(posted.form.get("mode", "reject")),
        include_ip=posted.form.get("include_ip") == "1",
        reason=str(posted.form.get("reason", "")),
    )
    return done(request, {"ban": ban.id}, N_("Author banned."), posted.back)

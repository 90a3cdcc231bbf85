"""The queue page and every action on an item: decide, bulk decide, reply, edit, ban, give
claimed comments back."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from server.core import pins, queue_actions
from server.core.accounts import Session
from server.core.authority import comment_to_moderate
from server.core.decisions import RESTORE_DAYS, Action
from server.core.errors import Invalid
from server.core.models import Comment, Status
from server.core.queue import TAB_ACTIONS, TABS, comment_history, view_queue_for
from server.http.clientip import client_ip
from server.http.errors import wants_json
from server.i18n import N_
from server.moderation.forms import Posted, form_action
from server.moderation.render import done, page
from server.moderation.security import moderator_page, safe_next
from server.state import AppState, app_state

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
    view = await view_queue_for(
        app_state(request).services, session.moderator, request.query_params
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


def _status(value: object) -> Status | None:
    try:
        return Status(str(value)) if value else None
    except ValueError:
        raise Invalid("invalid_status", "unknown expected status") from None


def _version(value: object) -> str | None:
    return str(value)[:128] if value else None


@form_action()
async def queue_action(request: Request, session: Session, posted: Posted) -> Response:
    svc = app_state(request).services
    try:
        action = Action(request.path_params["action"])
    except ValueError:
        raise Invalid("invalid_action", "unknown action") from None
    comment_id = request.path_params["comment_id"]
    if _unconfirmed(action, posted):
        comment, _ = await comment_to_moderate(svc, session.moderator, comment_id)
        return _confirm_delete(request, session, posted, [comment])
    updated = await queue_actions.decide(
        svc,
        session.moderator,
        comment_id,
        action,
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
    form = posted.form
    try:
        action = Action(str(form.get("action", "")))
        ids = [int(str(v)) for v in form.getlist("ids")][:MAX_BULK]
    except ValueError:
        raise Invalid("invalid_bulk", "choose an action and items") from None
    if ids and _unconfirmed(action, posted):
        return _confirm_delete(request, session, posted, ids)
    seen = [
        queue_actions.Seen(i, _status(form.get(f"s{i}")), _version(form.get(f"v{i}"))) for i in ids
    ]
    outcome = await queue_actions.decide_many(
        app_state(request).services, session.moderator, action, seen
    )
    refused = [{"id": i, "code": exc.code, "message": exc.message} for i, exc in outcome.refused]
    text = (BULK_PARTLY if refused else BULK_DONE)[action]
    return done(
        request,
        {"decided": outcome.decided, "refused": refused},
        text,
        posted.back,
        done=len(outcome.decided),
        refused=len(refused),
    )


@form_action()
async def queue_reply(request: Request, session: Session, posted: Posted) -> Response:
    state = app_state(request)
    result = await queue_actions.reply(
        state.services,
        session.moderator,
        request.path_params["comment_id"],
        posted.form.get("body"),
        client_ip=client_ip(request.scope, state.settings.trusted_proxies),
    )
    return done(
        request,
        {"id": result.comment.id, "comment": result.comment.public()},
        N_("Reply posted."),
        posted.back,
    )


@form_action()
async def queue_edit(request: Request, session: Session, posted: Posted) -> Response:
    updated = await queue_actions.edit(
        app_state(request).services,
        session.moderator,
        request.path_params["comment_id"],
        posted.form.get("body"),
    )
    return done(request, {"id": updated.id, "body": updated.body}, N_("Edit saved."), posted.back)


@form_action()
async def queue_ban(request: Request, session: Session, posted: Posted) -> Response:
    ban = await queue_actions.ban(
        app_state(request).services,
        session.moderator,
        request.path_params["comment_id"],
        mode=str(posted.form.get("mode", "reject")),
        include_ip=posted.form.get("include_ip") == "1",
        reason=str(posted.form.get("reason", "")),
    )
    return done(request, {"ban": ban.id}, N_("Author banned."), posted.back)


@form_action()
async def erase_author_data(request: Request, session: Session, posted: Posted) -> Response:
    erased = await queue_actions.erase_author_data(
        app_state(request).services, session.moderator, request.path_params["comment_id"]
    )
    return done(
        request,
        {"erased": erased},
        N_("Comments by that author erased: {n}."),
        posted.back,
        n=erased,
    )


@form_action()
async def queue_unclaim(request: Request, session: Session, posted: Posted) -> Response:
    given = await queue_actions.give_back_claims(
        app_state(request).services, session.moderator, request.path_params["comment_id"]
    )
    return done(
        request,
        {"given_back": given},
        N_("Comments given back to their anonymous author: {n}."),
        posted.back,
        n=given,
    )


async def _pin(request: Request, session: Session, posted: Posted, *, pinned: bool) -> Response:
    comment = await pins.pin_as_moderator(
        app_state(request).services,
        session.moderator,
        request.path_params["comment_id"],
        pinned=pinned,
    )
    return done(
        request,
        {"id": comment.id, "pinned": comment.pinned_at is not None},
        N_("Comment {id} pinned.") if pinned else N_("Comment {id} unpinned."),
        posted.back,
        id=comment.id,
    )


@form_action()
async def queue_pin(request: Request, session: Session, posted: Posted) -> Response:
    """Pin a published top-level comment to the top of its thread."""
    return await _pin(request, session, posted, pinned=True)


@form_action()
async def queue_unpin(request: Request, session: Session, posted: Posted) -> Response:
    return await _pin(request, session, posted, pinned=False)

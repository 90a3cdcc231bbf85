"""The /moderate routes."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.http import ids  # noqa: F401 -- registers the {name:id} route parameter
from server.moderation import account, admin, audit, auth, invitations, queue, reset

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {"moderate.js": "text/javascript; charset=utf-8", "moderate.css": "text/css"}


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        (STATIC / name).read_bytes(), media_type=_TYPES[name], headers={"Cache-Control": "no-cache"}
    )


def routes() -> list[BaseRoute]:
    one = "/moderate/comments/{comment_id:id}"
    site = "/moderate/sites/{site}"
    return [
        Route("/moderate", queue.queue_page, methods=["GET"]),
        Route("/moderate/login", auth.login_page, methods=["GET"]),
        Route("/moderate/login", auth.login_submit, methods=["POST"]),
        Route("/moderate/logout", auth.logout, methods=["POST"]),
        Route(reset.RESET, reset.reset_page, methods=["GET"]),
        Route(reset.RESET, reset.reset_ask, methods=["POST"]),
        Route(reset.RESET + "/{token}", reset.reset_form, methods=["GET"]),
        Route(reset.RESET + "/{token}", reset.reset_choose, methods=["POST"]),
        Route(one, queue.comment_page, methods=["GET"]),
        Route(one + "/reply", queue.queue_reply, methods=["POST"]),
        Route(one + "/edit", queue.queue_edit, methods=["POST"]),
        Route(one + "/ban", queue.queue_ban, methods=["POST"]),
        Route(one + "/erase", queue.erase_author_data, methods=["POST"]),
        Route(one + "/unclaim", queue.queue_unclaim, methods=["POST"]),
        Route(one + "/pin", queue.queue_pin, methods=["POST"]),
        Route(one + "/unpin", queue.queue_unpin, methods=["POST"]),
        Route(one + "/{action}", queue.queue_action, methods=["POST"]),
        Route("/moderate/bulk", queue.queue_bulk, methods=["POST"]),
        Route("/moderate/audit", audit.audit_page, methods=["GET"]),
        Route(account.ACCOUNT, account.account_page, methods=["GET"]),
        Route(account.ACCOUNT, account.account_name, methods=["POST"]),
        Route(site, admin.site_page, methods=["GET"]),
        Route(site + "/export", admin.site_export, methods=["GET"]),
        Route(site, admin.site_update, methods=["POST"]),
        Route(site + "/moderators", admin.site_invite_moderator, methods=["POST"]),
        Route(
            site + "/moderators/{moderator_id:id}/remove",
            admin.site_remove_moderator,
            methods=["POST"],
        ),
        Route(site + "/bans/{ban_id:id}/remove", admin.site_lift_ban, methods=["POST"]),
        Route(site + "/sso", admin.site_sso_update, methods=["POST"]),
        Route(site + "/sso/keys", admin.site_sso_key_add, methods=["POST"]),
        Route(site + "/sso/keys/new-secret", admin.site_sso_secret_new, methods=["POST"]),
        Route(site + "/sso/keys/remove", admin.site_sso_key_remove, methods=["POST"]),
        Route(
            site + "/invitations/{invitation_id:id}/withdraw",
            admin.site_withdraw_invitation,
            methods=["POST"],
        ),
        Route("/moderate/join/{token}", invitations.join_page, methods=["GET"]),
        Route("/moderate/join/{token}", invitations.join_create, methods=["POST"]),
        Route("/moderate/join/{token}/accept", invitations.join_accept, methods=["POST"]),
        Route("/moderate/join/{token}/decline", invitations.join_decline, methods=["POST"]),
        Route("/moderate/static/{name}", static, methods=["GET"]),
    ]

"""The audit log page: what moderators did on the sites one moderates, filtered and paged."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from server.core.accounts import Session
from server.core.audit import ACTIONS, audit_log
from server.moderation.render import page
from server.moderation.security import moderator_page
from server.state import app_state


@moderator_page
async def audit_page(request: Request, session: Session) -> Response:
    q = request.query_params
    action = q.get("action") if q.get("action") in ACTIONS else None
    moderator = (q.get("moderator") or "").strip().lower() or None
    comment = q.get("comment", "")
    comment_id = int(comment) if comment.isdigit() and len(comment) < 18 else None
    page_no = int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 6 else 1
    log = await audit_log(
        app_state(request).services,
        session.moderator,
        action=action,
        by=moderator,
        comment_id=comment_id,
        page=page_no,
    )

    def page_link(n: int) -> str:
        params = {
            "action": action or "",
            "moderator": moderator or "",
            "comment": comment_id or "",
            "page": n,
        }
        return "/moderate/audit?" + urlencode({k: v for k, v in params.items() if v})

    return page(
        request,
        "audit.html",
        session,
        section="audit",
        entries=log.entries,
        has_next=log.has_next,
        page=page_no,
        page_link=page_link,
        audit_actions=ACTIONS,
        filters={"action": action, "moderator": moderator, "comment": comment_id},
    )

"""A moderator's own account: the display name their public replies are signed with."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.core.accounts import Session
from server.core.moderators import set_display_name
from server.i18n import N_
from server.moderation.forms import Posted, form_action
from server.moderation.render import done, page
from server.moderation.security import moderator_page
from server.state import app_state

ACCOUNT = "/moderate/account"


@moderator_page
async def account_page(request: Request, session: Session) -> Response:
    state = app_state(request)
    sites = [await state.sites.get(site_id) for site_id in sorted(session.moderator.sites)]
    return page(request, "account.html", session, section="account", sites=sites)


@form_action(back=lambda request: ACCOUNT)
async def account_name(request: Request, session: Session, posted: Posted) -> Response:
    name = await set_display_name(
        app_state(request).services, session.moderator.id, posted.form.get("display_name", "")
    )
    return done(
        request,
        {"display_name": name},
        N_("Your replies are now signed {name}.")
        if name
        else N_("Your replies are now signed with each site's name."),
        posted.back,
        name=name,
    )

"""A short form of `make bench`'s notifications scenario, so it cannot rot: real server
processes, real PostgreSQL, a real SMTP server (aiosmtpd) and wrk. Followers subscribe and
confirm through their e-mail; replies are posted with notifications on and off. The figures
are printed, never compared with a time."""

from __future__ import annotations

import pytest

from bench.harness import Services
from bench.scenarios_notifications import notification_posting

pytestmark = pytest.mark.slow


async def test_reply_posting_runs_with_notifications_on_and_off(
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fig = await notification_posting(services, seconds=1, sessions=1)
    with capsys.disabled():
        print("\nnotifications on/off (short form):", fig)
    assert fig["non_2xx"] == 0, fig
    assert fig["posts_per_s_on"] > 0 and fig["posts_per_s_off"] > 0, fig
    # Each follower's first reply is e-mailed at once (the rest wait for the digest window),
    # after its confirmation: at least the confirmations and one e-mail per follower.
    assert fig["emails_sent"] >= 20 + 22, fig

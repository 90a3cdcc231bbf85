"""A short form of `make bench`'s hot page scenario (issue 19), so it cannot rot: a real
server process on each store, wrk posting to one page from 1,000 addresses through the
trusted proxy header, CPU read from the server and from the bench's PostgreSQL cluster. The
figures are printed, never compared with a time."""

from __future__ import annotations

import pytest

from bench.harness import Services
from bench.scenarios_hot_page import SHAPES, hot_page
from tests.support.config import BACKENDS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", BACKENDS)
async def test_posting_to_one_hot_page_runs_and_counts_its_cpu(
    backend: str,
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fig = await hot_page(services, backend, SHAPES["one page, 1,000 addresses"], (1, 1, 1))
    with capsys.disabled():
        print(
            f"\nhot page ({backend}, short form):", {k: v for k, v in fig.items() if k != "windows"}
        )
    assert fig["non_2xx"] == 0, fig
    assert fig["posts_per_s"] > 0 and fig["server_us_per_post"] > 0, fig
    if backend == "postgresql":
        assert fig["db_us_per_post"] > 0, fig  # the cluster's backends were found and read
    else:
        assert fig["db_us_per_post"] is None

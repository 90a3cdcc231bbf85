"""Reading a Prometheus text scrape back into numbers."""

from __future__ import annotations

import httpx

TOKEN = "metrics-token-for-tests-0123456789"


def parse(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample line (labels kept as written)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


async def scrape(http: httpx.AsyncClient, base_url: str, token: str = TOKEN) -> dict[str, float]:
    r = await http.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)

"""REST through the hub with its relay: the official client pages, the key stays in the hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from massive import RESTClient
from massive.exceptions import BadResponse

from tests.hub.conftest import REAL_KEY, TOKEN
from ticktape.hub.relay import Hub
from ticktape.sim.server import Simulator

rest = pytest.importorskip("ticktape.hub.rest", reason="the REST relay is not in this build")


async def test_the_official_rest_client_pages_aggregates_through_the_hub(tmp_path: Path) -> None:
    frm, to = "2024-06-10", "2024-06-11"
    async with (
        Simulator(rate=100, api_key=REAL_KEY) as sim,
        Hub(upstream_url=sim.ws_url, api_key=REAL_KEY, token=TOKEN) as hub,
    ):
        hub.rest = rest.RestRelay(sim.rest_url, REAL_KEY, hub.rest_url, tmp_path / "c.sqlite3")
        client = RESTClient(TOKEN, base=hub.rest_url, retries=0)
        paged = await asyncio.to_thread(
            lambda: list(client.list_aggs("AAPL", 1, "minute", frm, to, limit=200))
        )
        assert len(paged) > 400  # more than two pages, each one through the hub
        upstream_requests = sim.rest_requests
        again = await asyncio.to_thread(
            lambda: list(client.list_aggs("AAPL", 1, "minute", frm, to, limit=200))
        )
        assert [(a.timestamp, a.close) for a in again] == [(a.timestamp, a.close) for a in paged]
        assert sim.rest_requests == upstream_requests  # finished history: from the cache
        stranger = RESTClient(REAL_KEY, base=hub.rest_url, retries=0)  # the key is no token
        with pytest.raises(BadResponse, match="Unknown API Key"):
            await asyncio.to_thread(
                lambda: list(stranger.list_aggs("AAPL", 1, "day", "2024-01-02", "2024-01-05"))
            )

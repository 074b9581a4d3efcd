"""REST through the hub with its relay: the official client pages, next_url leads back to the
address each client used, the key stays in the hub."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from massive import RESTClient
from massive.exceptions import BadResponse

from tests.hub.conftest import REAL_KEY, TOKEN
from ticktape.feed.rest import RestClient
from ticktape.hub.relay import Hub
from ticktape.hub.rest import RestRelay
from ticktape.market import MarketState
from ticktape.market.history import History
from ticktape.sim.server import Simulator

SEED = "/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05"


async def test_the_official_rest_client_pages_aggregates_through_the_hub(tmp_path: Path) -> None:
    frm, to = "2024-06-10", "2024-06-11"
    async with (
        Simulator(rate=100, api_key=REAL_KEY) as sim,
        Hub(upstream_url=sim.ws_url, api_key=REAL_KEY, token=TOKEN) as hub,
    ):
        hub.rest = RestRelay(sim.rest_url, REAL_KEY, hub.rest_url, tmp_path / "c.sqlite3")
        client = RESTClient(TOKEN, base=hub.rest_url, retries=0)
        paged = await asyncio.to_thread(
            lambda: list(client.list_aggs("AAPL", 1, "minute", frm, to, limit=200))
        )
        assert len(paged) > 400  # more than two pages, each one through the hub
        upstream_requests = sim.rest_requests
        # A second client naming the hub by another name pages the same bars, from the cache.
        by_name = RESTClient(TOKEN, base=hub.rest_url.replace("127.0.0.1", "localhost"))
        again = await asyncio.to_thread(
            lambda: list(by_name.list_aggs("AAPL", 1, "minute", frm, to, limit=200))
        )
        assert [(a.timestamp, a.close) for a in again] == [(a.timestamp, a.close) for a in paged]
        assert sim.rest_requests == upstream_requests  # finished history: from the cache
        stranger = RESTClient(REAL_KEY, base=hub.rest_url, retries=0)  # the key is no token
        with pytest.raises(BadResponse, match="Unknown API Key"):
            await asyncio.to_thread(
                lambda: list(stranger.list_aggs("AAPL", 1, "day", "2024-01-02", "2024-01-05"))
            )


def live_like(request: httpx.Request) -> httpx.Response:
    """The live API at its worst: next_url on its own host, with the key in it."""
    assert request.headers["authorization"] == f"Bearer {REAL_KEY}"
    if "cursor=" in request.url.query.decode():
        return httpx.Response(200, json={"status": "OK", "results": [{"t": 2}]})
    nxt = f"https://api.upstream.test{request.url.path}?cursor=c2&apiKey={REAL_KEY}"
    return httpx.Response(200, json={"status": "OK", "results": [{"t": 1}], "next_url": nxt})


async def test_next_url_leads_each_client_back_to_the_hub_address_it_used(
    tmp_path: Path,
) -> None:
    async with Hub(upstream_url="ws://127.0.0.1:9", api_key=REAL_KEY, token=TOKEN) as hub:
        hub.rest = RestRelay(
            "https://api.upstream.test",
            REAL_KEY,
            hub.rest_url,
            tmp_path / "c.sqlite3",
            transport=httpx.MockTransport(live_like),
        )
        port = urlsplit(hub.rest_url).port
        auth = {"Authorization": f"Bearer {TOKEN}"}
        seen: dict[str, str] = {}
        # The second request of the same page is a cache hit: stored hub-relative, each
        # reply is rewritten for the client reading it.
        for host in ("127.0.0.1", "localhost"):
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", headers=auth) as http:
                first = await http.get(SEED)
                seen[host] = first.json()["next_url"]
                second = await http.get(seen[host])
                assert second.json()["results"] == [{"t": 2}]
                assert REAL_KEY not in first.text + second.text
        assert seen == {
            host: f"http://{host}:{port}{SEED}?cursor=c2" for host in ("127.0.0.1", "localhost")
        }


async def test_ticktapes_client_counts_the_pages_the_hub_answered_from_its_cache(
    tmp_path: Path,
) -> None:
    async def pages_and_hits() -> tuple[int, int]:
        async with RestClient(hub.rest_url, TOKEN) as client:
            pages = client.iter_pages("AAPL", 1, "minute", "2024-06-10", "2024-06-11", limit=500)
            return len([p async for p in pages]), client.cache_hits

    async with (
        Simulator(rate=100, api_key=REAL_KEY) as sim,
        Hub(upstream_url=sim.ws_url, api_key=REAL_KEY, token=TOKEN) as hub,
    ):
        hub.rest = RestRelay(sim.rest_url, REAL_KEY, hub.rest_url, tmp_path / "c.sqlite3")
        first = await pages_and_hits()
        assert first[0] >= 2 and first[1] == 0
        assert await pages_and_hits() == (first[0], first[0])


async def test_a_second_apps_daily_seed_costs_no_upstream_request(tmp_path: Path) -> None:
    """Apps seed their "1D" chart with whole days up to yesterday: the same request from
    every app all day, so the hub answers all but the first from its cache."""

    async def seed(rest: RestClient) -> int:
        before = sim.rest_requests
        history = History(
            MarketState(),
            "stocks",
            clock=lambda: int(time.time() * 1000),
            watched=lambda: ("AAPL",),
            rest=lambda: rest,
            on_error=lambda err, what: pytest.fail(f"{what}: {err}"),
        )
        history.want(("AAPL",))
        await history.run()
        return sim.rest_requests - before

    async with (
        Simulator(rate=100, api_key=REAL_KEY) as sim,
        Hub(upstream_url=sim.ws_url, api_key=REAL_KEY, token=TOKEN) as hub,
    ):
        # settle=0: finished at New York midnight, whatever hour the test runs
        hub.rest = RestRelay(sim.rest_url, REAL_KEY, hub.rest_url, tmp_path / "c", settle=0.0)
        async with (
            RestClient(hub.rest_url, TOKEN) as first,
            RestClient(hub.rest_url, TOKEN) as second,
        ):
            assert await seed(first) == 2  # its minutes and its daily bars
            assert await seed(second) == 1  # its minutes (today's: never cached)
            assert second.cache_hits == 1

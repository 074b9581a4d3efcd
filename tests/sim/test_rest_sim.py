"""The simulator's REST aggregates endpoint, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

from tests.sim.conftest import client, subscribe
from ticktape.feed.events import AggsResponse, MinuteAgg
from ticktape.sim.server import Simulator

KEY = {"Authorization": "Bearer k"}
NY = ZoneInfo("America/New_York")


def aggs_path(ticker: str, span: str, frm: object, to: object, mult: int = 1) -> str:
    return f"/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{frm}/{to}"


async def get_all(http: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[AggsResponse]:
    """Every page, following next_url with the key in the header only."""
    pages = []
    url: str | None = path
    while url is not None:
        r = await http.get(url, params=params if url == path else None, headers=KEY)
        assert r.status_code == 200, r.text
        page = msgspec.json.decode(r.content, type=AggsResponse)
        pages.append(page)
        url = page.next_url
    return pages


async def test_pagination_returns_every_bar_once_in_order() -> None:
    now = int(time.time() * 1000)
    frm, to = now - 3 * 3_600_000, now
    async with Simulator(api_key="k") as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        path = aggs_path("AAPL", "minute", frm, to)
        pages = await get_all(http, path, {"limit": 50})
        assert len(pages) >= 3
        assert all(p.resultsCount == len(p.results or []) <= 50 for p in pages)
        assert all(p.next_url and "cursor=" in p.next_url for p in pages[:-1])
        assert pages[-1].next_url is None
        paged = [b for p in pages for b in p.results or []]
        whole = (await get_all(http, path, {"limit": 50_000}))[0].results or []
        assert len(whole) >= 150
        assert paged == whole
        stamps = [b.timestamp for b in whole]
        # The minute containing `from` counts (its bucket starts a little before).
        assert stamps == sorted(set(stamps)) and frm - 60_000 < stamps[0] and stamps[-1] <= to
        desc = await get_all(http, path, {"limit": 40, "sort": "desc"})
        assert len(desc) >= 3
        assert [b for p in desc for b in p.results or []] == whole[::-1]


async def test_response_has_the_live_shape() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        r = await http.get(aggs_path("AAPL", "day", "2024-01-02", "2024-01-31"), headers=KEY)
        body = r.json()
        assert r.headers["content-type"] == "application/json"
        assert body["status"] == "OK" and body["ticker"] == "AAPL" and body["adjusted"] is True
        assert body["request_id"] and body["queryCount"] == body["resultsCount"] > 15
        assert "next_url" not in body
        first = body["results"][0]
        assert {"o", "h", "l", "c", "v", "vw", "t", "n"} <= first.keys()
        # Daily bars start at midnight New York time; dates are inclusive.
        days = [datetime.fromtimestamp(b["t"] / 1000, NY) for b in body["results"]]
        assert all((d.hour, d.minute) == (0, 0) for d in days)
        assert days[0].day == 2 and days[-1].day == 31


async def test_ms_and_date_bounds_agree_and_adjusted_is_echoed() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        frm = int(datetime(2024, 3, 4, tzinfo=NY).timestamp() * 1000)
        to = int(datetime(2024, 3, 8, 23, 59, 59, 999_000, tzinfo=NY).timestamp() * 1000)
        by_date = await http.get(aggs_path("MSFT", "day", "2024-03-04", "2024-03-08"), headers=KEY)
        by_ms = await http.get(
            aggs_path("MSFT", "day", frm, to), params={"adjusted": "false"}, headers=KEY
        )
        assert by_date.json()["results"] == by_ms.json()["results"]
        assert len(by_date.json()["results"]) == 5
        assert by_ms.json()["adjusted"] is False


async def test_key_rules_401() -> None:
    async with Simulator(api_key="k") as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        path = aggs_path("AAPL", "day", "2024-01-02", "2024-01-05")
        r = await http.get(path)
        assert r.status_code == 401
        assert r.json()["status"] == "ERROR"
        assert r.json()["error"] == "API Key was not provided"
        r = await http.get(path, headers={"Authorization": "Bearer nope"})
        assert (r.status_code, r.json()["error"]) == (401, "Unknown API Key")
        r = await http.get(path, params={"apiKey": "k"})
        assert r.status_code == 200


async def test_plan_without_the_market_gets_403() -> None:
    async with (
        Simulator(rest_markets=("stocks",)) as sim,
        httpx.AsyncClient(base_url=sim.rest_url) as http,
    ):
        r = await http.get(aggs_path("C:EURUSD", "day", "2024-01-02", "2024-01-05"), headers=KEY)
        assert r.status_code == 403
        assert r.json()["status"] == "NOT_AUTHORIZED"
        assert r.json()["message"].startswith("You are not entitled to this data")
        ok = await http.get(aggs_path("AAPL", "day", "2024-01-02", "2024-01-05"), headers=KEY)
        assert ok.status_code == 200


async def test_injected_429_then_500_then_success() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        path = aggs_path("AAPL", "day", "2024-01-02", "2024-01-05")
        sim.faults.rest_errors(429, 2, retry_after=3)
        for _ in range(2):
            r = await http.get(path, headers=KEY)
            assert r.status_code == 429 and r.headers["retry-after"] == "3"
            assert r.json()["error"].startswith("You've exceeded the maximum requests per minute")
        sim.faults.rest_errors(500, 1)
        assert (await http.get(path, headers=KEY)).status_code == 500
        assert (await http.get(path, headers=KEY)).status_code == 200


async def test_bad_requests_get_4xx_json() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        cases = {
            aggs_path("AAPL", "fortnight", "2024-01-02", "2024-01-05"): 400,
            aggs_path("AAPL", "day", "2024-13-02", "2024-01-05"): 400,
            aggs_path("AAPL", "day", "2024-01-02", "2024-01-05") + "?sort=sideways": 400,
            aggs_path("AAPL", "day", "2024-01-02", "2024-01-05") + "?limit=0": 400,
            aggs_path("AAPL", "day", "2024-01-02", "2024-01-05") + "?cursor=!!garbage": 400,
            "/v3/reference/tickers": 404,
        }
        for path, status in cases.items():
            r = await http.get(path, headers=KEY)
            assert r.status_code == status, path
            assert r.json()["status"] != "OK"


async def test_forex_and_crypto_tickers_have_history() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        for ticker in ("C:EURUSD", "X:BTCUSD"):
            r = await http.get(aggs_path(ticker, "day", "2024-01-02", "2024-01-09"), headers=KEY)
            assert r.status_code == 200 and r.json()["ticker"] == ticker
            assert len(r.json()["results"]) >= 5


async def test_live_minute_bars_equal_rest_bars_afterwards() -> None:
    async with (
        Simulator(speed=600, rate=2000) as sim,
        client(sim) as c,
        httpx.AsyncClient(base_url=sim.rest_url) as http,
    ):
        await subscribe(c, "AM.AAPL")
        live = [e for e in await c.events(lambda ev: len(ev) >= 3) if isinstance(e, MinuteAgg)]
        r = await http.get(aggs_path("AAPL", "minute", live[0].start, live[-1].start), headers=KEY)
        rest = {b["t"]: b for b in r.json()["results"]}
        for bar in live:
            got = rest[bar.start]
            assert (got["o"], got["h"], got["l"], got["c"]) == (
                bar.open,
                bar.high,
                bar.low,
                bar.close,
            )
            assert (got["v"], got["vw"]) == (bar.volume, bar.vwap)


async def test_next_url_survives_tickers_that_need_quoting() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.rest_url) as http:
        pages = await get_all(
            http, aggs_path("BRK.B", "day", "2024-01-02", "2024-02-29"), {"limit": 10}
        )
        assert len(pages) >= 4 and all(p.ticker == "BRK.B" for p in pages)
        pages = await get_all(
            http, aggs_path("%5EVIX", "day", "2024-01-02", "2024-01-31"), {"limit": 10}
        )
        assert len(pages) >= 2 and pages[0].ticker == "^VIX"

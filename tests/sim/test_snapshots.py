"""The simulator's stock snapshots: the whole universe, the top movers; both clients read them."""

from __future__ import annotations

import asyncio
from datetime import datetime

from massive import RESTClient

from ticktape.feed.rest import RestClient
from ticktape.sim.server import Simulator
from ticktape.sim.snapshots import MIN_VOLUME, TOP
from ticktape.sim.symbols import DEFAULT_STOCKS
from ticktape.timeutil import zone

ET = zone("America/New_York")
#: A Wednesday morning: the day has traded for an hour.
START = int(datetime(2026, 12, 2, 10, 40, tzinfo=ET).timestamp() * 1000)


async def test_every_ticker_of_the_universe_with_its_day_and_the_day_before() -> None:
    async with (
        Simulator(api_key="k", start_ms=START) as sim,
        RestClient(sim.rest_url, "k") as rest,
    ):
        snaps = await rest.snapshot_all()
        two = await rest.snapshot_all(["AAPL", "msft"])
    assert [s.ticker for s in snaps] == list(DEFAULT_STOCKS)
    for s in snaps:
        assert s.day is not None and s.prev_day is not None and s.last is not None
        assert s.day.low <= s.last <= s.day.high or s.day.close == s.last
        assert s.todays_change_pct is not None
        assert abs(s.todays_change_pct - 100 * (s.last / s.prev_day.close - 1)) < 1e-3
        assert s.last_quote is not None and s.last_quote.bid < s.last_quote.ask
    assert [s.ticker for s in two] == ["AAPL", "MSFT"]


async def test_gainers_and_losers_are_the_top_movers_in_order() -> None:
    async with (
        Simulator(api_key="k", start_ms=START) as sim,
        RestClient(sim.rest_url, "k") as rest,
    ):
        every = await rest.snapshot_all()
        gainers = await rest.snapshot_direction("gainers")
        losers = await rest.snapshot_direction("losers")
    liquid = [s for s in every if s.day is not None and s.day.volume >= MIN_VOLUME]
    by_pct = sorted(liquid, key=lambda s: s.todays_change_pct or 0.0)
    assert [s.ticker for s in gainers] == [s.ticker for s in reversed(by_pct)][:TOP]
    assert [s.ticker for s in losers] == [s.ticker for s in by_pct][:TOP]


async def test_the_official_client_reads_the_snapshots_unmodified() -> None:
    async with Simulator(api_key="k", start_ms=START) as sim:
        rest = RESTClient("k", base=sim.rest_url, retries=0)
        every = await asyncio.to_thread(rest.get_snapshot_all, "stocks")
        some = await asyncio.to_thread(rest.get_snapshot_all, "stocks", ["AAPL", "NVDA"])
        gainers = await asyncio.to_thread(rest.get_snapshot_direction, "stocks", "gainers")
        losers = await asyncio.to_thread(rest.get_snapshot_direction, "stocks", "losers")
    assert len(every) == len(DEFAULT_STOCKS)
    assert [s.ticker for s in some] == ["AAPL", "NVDA"]
    aapl = some[0]
    assert aapl.day is not None and aapl.day.volume and aapl.prev_day is not None
    assert aapl.last_quote is not None and aapl.last_quote.bid_price < aapl.last_quote.ask_price
    assert aapl.last_trade is not None and aapl.last_trade.price
    assert len(gainers) == len(losers) == TOP
    assert gainers[0].todays_change_percent >= gainers[-1].todays_change_percent
    assert losers[0].todays_change_percent <= losers[-1].todays_change_percent

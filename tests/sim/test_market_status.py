"""The simulator's market-status endpoints follow the NYSE calendar; both clients read them."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from massive import RESTClient

from ticktape.feed.marketstatus import MarketClock
from ticktape.feed.rest import RestClient
from ticktape.markethours import describe
from ticktape.sim.server import Simulator
from ticktape.timeutil import zone

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


@pytest.mark.parametrize(
    ("at", "market", "early", "after", "fx"),
    [
        ("2026-12-02 07:00", "extended-hours", True, False, "open"),
        ("2026-12-02 11:00", "open", False, False, "open"),
        ("2026-12-02 17:00", "extended-hours", False, True, "open"),
        ("2026-11-26 11:00", "closed", False, False, "open"),  # Thanksgiving
        ("2026-12-05 11:00", "closed", False, False, "closed"),  # Saturday
    ],
)
async def test_status_now_at_each_phase(
    at: str, market: str, early: bool, after: bool, fx: str
) -> None:
    async with (
        Simulator(api_key="k", market_clock=lambda: et(at)) as sim,
        RestClient(sim.rest_url, "k") as rest,
    ):
        now = await rest.market_status()
    assert (now.market, now.early_hours, now.after_hours) == (market, early, after)
    assert now.currencies == {"fx": fx, "crypto": "open"}
    assert now.exchanges["nyse"] == market


async def test_the_app_clock_reads_thanksgiving_and_the_short_day_from_the_server() -> None:
    at = et("2026-11-26 12:00")
    async with (
        Simulator(api_key="k", market_clock=lambda: at) as sim,
        RestClient(sim.rest_url, "k") as rest,
    ):
        now, days = await rest.market_status(), await rest.upcoming_market_days()
    clock = MarketClock("stocks")
    clock.server_said(now, days, at)
    r = clock.reading(at)
    assert describe(r, at) == "closed — Thanksgiving Day · opens Fri 04:00 (early close 13:00)"
    assert [(d.date, d.status) for d in days[:4]] == [
        ("2026-11-26", "closed"),
        ("2026-11-26", "closed"),
        ("2026-11-27", "early-close"),
        ("2026-11-27", "early-close"),
    ]


async def test_the_official_client_reads_status_and_holidays_unmodified() -> None:
    at = et("2026-12-02 11:00")
    async with Simulator(api_key="k", market_clock=lambda: at) as sim:
        rest = RESTClient("k", base=sim.rest_url, retries=0)
        status = await asyncio.to_thread(rest.get_market_status)
        holidays = await asyncio.to_thread(rest.get_market_holidays)
    assert status.market == "open"
    assert status.currencies is not None and status.currencies.fx == "open"
    christmas = [h for h in holidays if h.date == "2026-12-25"]
    assert {h.exchange for h in christmas} == {"NYSE", "NASDAQ"}
    assert all(h.status == "closed" and h.name == "Christmas Day" for h in christmas)
    eve = next(h for h in holidays if h.date == "2026-12-24")
    assert (eve.status, eve.close) == ("early-close", "2026-12-24T18:00:00.000Z")

"""Daily history from REST against the real simulator: "1D" shows months, not the minutes' days."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ticktape.config import Settings
from ticktape.feed.events import Agg
from ticktape.feed.rest import NetworkError, RestClient
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp

from .conftest import until
from .test_live import SIZE, SYMBOLS, sim_settings


async def test_daily_chart_holds_months_of_candles(settings: Settings) -> None:
    async with Simulator(seed=3, symbols=SYMBOLS, rate=100.0) as sim:
        app = TicktapeApp(sim_settings(settings, sim, "any"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(app.state.bars("AAPL", "1D")) > 200, within=30)
            days = [b.start_ms for b in app.state.bars("AAPL", "1D")]
            assert days == sorted(set(days))  # each day once, oldest first
            assert len(app.state.bars("AAPL", "1m")) > 100  # the minutes are there too


async def test_a_failed_daily_download_keeps_the_minutes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RestClient.iter_aggs

    def iter_aggs(self: RestClient, ticker: str, m: int, span: str, *a: Any, **k: Any) -> Any:
        if span == "day":
            return refuse()
        return real(self, ticker, m, span, *a, **k)

    async def refuse() -> AsyncIterator[Agg]:
        raise NetworkError("no route to the data server")
        yield  # pragma: no cover - makes this an async generator

    monkeypatch.setattr(RestClient, "iter_aggs", iter_aggs)
    async with Simulator(seed=3, symbols=SYMBOLS, rate=100.0) as sim:
        app = TicktapeApp(sim_settings(settings, sim, "any"), feed_label="SIMULATED")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot, lambda: any("AAPL daily" in n.message for n in app._notifications), within=30
            )
            assert len(app.state.bars("AAPL", "1m")) > 100
            assert not app.is_loading("AAPL")
            assert len(app.state.bars("AAPL", "1D")) < 10  # only the minutes' days

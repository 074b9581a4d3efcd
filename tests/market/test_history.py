"""History: one clock for every request, the selected symbol first, one failure costs one symbol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from ticktape.feed.events import Agg
from ticktape.market import MarketState
from ticktape.market.history import (
    DAILY_DAYS,
    DAY_MS,
    SEED_DAYS,
    History,
    daily_window,
    rest_ticker,
)

NOW = 1_764_700_000_000  # a fixed "now", far from the machine's wall clock


class FakeRest:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[tuple[str, str, int | date, int | date]] = []
        self.fail = fail or set()

    async def iter_aggs(
        self, ticker: str, multiplier: int, timespan: str, from_: int | date, to: int | date
    ) -> AsyncIterator[Agg]:
        self.calls.append((ticker, timespan, from_, to))
        if ticker in self.fail:
            raise OSError(f"{ticker} unavailable")
        end = to if isinstance(to, int) else NOW
        yield Agg(open=1.0, high=1.0, low=1.0, close=1.0, volume=10, timestamp=end - 60_000)


def loader(rest: FakeRest, errors: list[str], symbols: tuple[str, ...]) -> History:
    return History(
        MarketState(),
        "stocks",
        clock=lambda: NOW,
        watched=lambda: symbols,
        rest=lambda: rest,
        on_error=lambda err, what: errors.append(f"{what}: {err}"),
    )


async def test_minutes_end_at_the_injected_clock_and_daily_bars_at_its_yesterday() -> None:
    rest, errors = FakeRest(), []
    history = loader(rest, errors, ("AAPL",))
    history.want(("AAPL",))
    await history.run()
    # NOW is 2025-12-02 13:26 New York: the daily window is whole days, up to the 1st.
    assert rest.calls == [
        ("AAPL", "minute", NOW - SEED_DAYS * DAY_MS, NOW),
        ("AAPL", "day", date(2024, 10, 28), date(2025, 12, 1)),
    ]
    assert errors == [] and not history.is_loading("AAPL")


def test_the_daily_window_is_the_same_request_all_day_and_moves_at_new_york_midnight() -> None:
    midnight = 1_764_651_600_000  # 2025-12-02 00:00 New York
    first, last = daily_window(midnight), daily_window(midnight + DAY_MS - 1)
    assert first == last == (date(2024, 10, 28), date(2025, 12, 1))
    assert daily_window(midnight - 1) == (date(2024, 10, 27), date(2025, 11, 30))
    assert (first[1] - first[0]).days == DAILY_DAYS - 1


async def test_the_selected_symbol_loads_first_and_a_failure_costs_only_its_symbol() -> None:
    rest, errors = FakeRest(fail={"MSFT"}), []
    history = loader(rest, errors, ("AAPL", "MSFT", "NVDA"))
    history.want(("AAPL", "MSFT", "NVDA"), first="NVDA")
    assert history.is_loading("AAPL")
    await history.run()
    assert [c[0] for c in rest.calls if c[1] == "minute"] == ["NVDA", "AAPL", "MSFT"]
    assert errors == ["MSFT: MSFT unavailable"]
    assert history.want(("AAPL", "MSFT", "NVDA")) is False  # each is loaded once


async def test_nothing_is_requested_before_rest_is_open() -> None:
    errors: list[str] = []
    history = History(
        MarketState(),
        "stocks",
        clock=lambda: NOW,
        watched=lambda: ("AAPL",),
        rest=lambda: None,
        on_error=lambda err, what: errors.append(what),
    )
    history.want(("AAPL",))
    await history.run()
    assert history.queue == ["AAPL"] and errors == []


def test_rest_tickers_per_market() -> None:
    assert rest_ticker("EUR/USD") == "C:EURUSD"
    assert rest_ticker("BTC-USD") == "X:BTCUSD"
    assert rest_ticker("BRK.B") == "BRK.B"

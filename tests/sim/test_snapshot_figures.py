"""The snapshot's day figures are kept as the market trades: equal to the daily aggregates,
and a snapshot of the whole universe reads them without walking any history."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from ticktape.feed.snapshot import snapshot_decoder
from ticktape.sim import snapshots
from ticktape.sim.faults import Faults
from ticktape.sim.history import History, SymbolHistory
from ticktape.sim.market import SimMarket
from ticktape.sim.model_calendar import day_start, et_date
from ticktape.sim.rest import RestApi
from ticktape.timeutil import zone

ET = zone("America/New_York")
#: A Wednesday afternoon: the regular close, the evening and the next morning follow.
START = int(datetime(2026, 12, 2, 15, 30, tzinfo=ET).timestamp() * 1000)
HOUR = 3_600_000


def _from_history(market: SimMarket, symbol: str) -> tuple[object, object]:
    """Today's and the previous day's bars as the aggregates endpoint makes them."""
    now = market.now_ms
    today = day_start(et_date(now))
    days = market.history(symbol, 1, "day", today, now)
    back = day_start(et_date(now) - timedelta(days=3))
    before = market.history(symbol, 1, "day", back, today - 1)
    return (days[-1] if days else None), (before[-1] if before else None)


def test_the_kept_day_figures_equal_the_daily_bars_across_the_close_and_a_new_day() -> None:
    # An hour of market time per wall second: the session, the close, midnight, the next open.
    market = SimMarket(seed=5, rate=300, speed=3600, start_ms=START)
    checked = 0
    for hours in (0.2, 0.6, 1.0, 3.0, 9.0, 13.0, 14.5, 18.5, 19.5):
        market.advance(START + int(hours * HOUR / 3600))
        for symbol in market.universe:
            st = market.live(symbol)
            assert st is not None
            assert market.day_figures(st) == _from_history(market, symbol), (hours, symbol)
            checked += 1
    assert checked == 9 * len(market.universe)
    assert et_date(market.now_ms) > et_date(START)


@pytest.fixture
def history_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every read of the minute or segment history."""
    calls: list[str] = []
    for owner, name in (
        (History, "days"),
        (History, "minutes"),
        (History, "bars"),
        (SymbolHistory, "_segments_in"),
        (SymbolHistory, "minutes_of"),
    ):
        original = getattr(owner, name)

        def counted(*args: object, _name: str = name, _f: Any = original, **kw: object) -> object:
            calls.append(_name)
            return _f(*args, **kw)

        monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_whole_market_snapshot_walks_no_history(history_walks: list[str]) -> None:
    market = SimMarket(seed=2, rate=2000, start_ms=START - HOUR, listed=400)
    t = START - HOUR
    for _ in range(600):  # twelve seconds of 20 ms ticks: every name has joined and traded
        t += 20
        market.advance(t)
    history_walks.clear()
    every = snapshots.snapshot_body(market, "tickers")
    gainers = snapshots.snapshot_body(market, "gainers")
    assert every.count == len(market.universe) == 400
    assert gainers.count == snapshots.TOP
    assert history_walks == []


def test_a_body_joined_from_slices_is_the_body_made_in_one_go() -> None:
    market = SimMarket(seed=2, rate=2000, start_ms=START - HOUR, listed=150)
    t = START - HOUR
    for _ in range(200):
        t += 20
        market.advance(t)
    names = [*market.universe, "NOTLIVE"]
    parts = [snapshots.encoded_slice(market, names[i : i + 40]) for i in range(0, len(names), 40)]
    whole = snapshots.snapshot_body(market, "tickers", names)
    assert snapshots.joined_body(parts) == msgspec.json.encode(whole)
    assert whole.count == 150


def test_the_stream_keeps_ticking_while_a_whole_market_snapshot_is_served() -> None:
    market = SimMarket(seed=2, rate=2000, start_ms=START - HOUR, listed=1000)
    t = START - HOUR
    for _ in range(300):
        t += 20
        market.advance(t)
    api = RestApi(lambda cluster: market, api_key="k", faults=Faults())
    path = "/v2/snapshot/locale/us/markets/stocks/tickers?apiKey=k"
    answer = api.handle(Request(path, Headers()), "http://127.0.0.1")
    assert isinstance(answer, Coroutine)
    # Drive the request as the server's loop would, and let the tick task run at each yield.
    ticks = events = 0
    while True:
        try:
            answer.send(None)
        except StopIteration as done:
            response = done.value
            break
        t += 20
        events += len(market.advance(t))
        ticks += 1
    assert ticks >= 1000 // snapshots.SLICE  # the loop was handed back between slices
    assert events > 0  # and clients got events meanwhile
    body = snapshot_decoder.decode(response.body)
    assert body.count == len(body.tickers or []) == 1000

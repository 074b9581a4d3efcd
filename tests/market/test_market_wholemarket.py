"""The whole-market boards: blocks, halts, imbalances and movers, from events alone."""

from __future__ import annotations

import pytest

from ticktape.feed.conditions import regular_session
from ticktape.feed.events import Imbalance, LimitUpLimitDown, MinuteAgg, Quote, Trade
from ticktape.market.state import LULD_HALT, LULD_RESUME
from ticktape.market.wholemarket import (
    FINRA_TRF,
    BlockFilter,
    HaltBoard,
    ImbalanceBoard,
    Mover,
    MoversBoard,
)

T = 1_764_700_000_000


def trade(sym: str, price: float, size: int, **kw: object) -> Trade:
    return Trade(symbol=sym, price=price, size=size, timestamp=T, **kw)  # type: ignore[arg-type]


def test_blocks_are_big_by_size_or_by_notional_and_nothing_else_passes() -> None:
    f = BlockFilter(min_shares=10_000, min_notional=1_000_000)
    events = [
        trade("A", 10.0, 10_000),  # size
        trade("B", 500.0, 2_000),  # $1M notional
        trade("C", 10.0, 9_999),  # neither
        trade("D", 499.0, 2_000),  # $998k
        Quote(symbol="E", bid=1.0, ask=1.1, timestamp=T, bid_size=50_000),
    ]
    assert f.feed(events) == 2
    assert [b.symbol for b in f.newest(10)] == ["B", "A"]
    assert f.seen == 5


def test_new_thresholds_filter_from_then_on() -> None:
    f = BlockFilter()
    f.set_thresholds(100, 1e12)
    f.feed([trade("A", 1.0, 100), trade("B", 1.0, 99)])
    assert [b.symbol for b in f.newest(5)] == ["A"]
    with pytest.raises(ValueError, match="positive"):
        f.set_thresholds(0, 5.0)


def test_dark_prints_and_sides_against_a_known_nbbo() -> None:
    quotes = {"A": (10.0, 10.02)}
    f = BlockFilter(min_shares=1, nbbo=quotes.get)
    f.feed(
        [
            trade("A", 10.02, 100, exchange=FINRA_TRF),
            trade("A", 10.0, 100, trf_id=201),
            trade("A", 10.01, 100, exchange=11),
            trade("Z", 5.0, 100, exchange=11),
        ]
    )
    got = [(b.symbol, b.side, b.dark) for b in reversed(f.newest(10))]
    assert got == [("A", "B", True), ("A", "S", True), ("A", "M", False), ("Z", "", False)]


def test_an_impossible_print_is_not_a_block() -> None:
    f = BlockFilter(min_shares=1)
    f.feed([trade("A", float("nan"), 50_000), trade("B", -3.0, 50_000), trade("C", 1.0, 50_000)])
    assert [b.symbol for b in f.newest(5)] == ["C"]


def test_the_block_board_is_bounded() -> None:
    f = BlockFilter(min_shares=1, keep=3)
    f.feed([trade(f"S{i}", 1.0, 10) for i in range(10)])
    assert [b.symbol for b in f.newest(10)] == ["S9", "S8", "S7"]


def luld(sym: str, t: int, *ind: int) -> LimitUpLimitDown:
    return LimitUpLimitDown(symbol=sym, high=11.0, low=9.0, timestamp=t, indicators=ind)


def test_halts_and_resumptions_newest_first_and_who_is_halted_now() -> None:
    board = HaltBoard()
    board.feed([luld("A", T, LULD_HALT), luld("B", T + 1, LULD_HALT), luld("C", T + 2, 21)])
    board.feed([luld("A", T + 3, LULD_RESUME)])
    assert [(r.symbol, r.kind) for r in board.newest(5)] == [
        ("A", "RESUME"),
        ("B", "HALT"),
        ("A", "HALT"),
    ]
    assert set(board.halted) == {"B"}
    banded = HaltBoard(bands=True)
    banded.feed([luld("C", T, 21)])
    assert [r.kind for r in banded.newest(1)] == ["BAND"]


def noi(sym: str, imbalance: int, kind: str = "C") -> Imbalance:
    return Imbalance(
        symbol=sym,
        timestamp=T,
        auction_time=1600,
        auction_type=kind,
        imbalance=imbalance,
        paired=1000,
        clearing_price=10.5,
    )


def test_imbalances_keep_the_latest_per_symbol_and_rank_by_size() -> None:
    board = ImbalanceBoard()
    board.feed([noi("A", 5_000), noi("B", -90_000, "M"), noi("A", 20_000)])
    rows = board.largest(5)
    assert [(r.symbol, r.side, r.auction) for r in rows] == [
        ("B", "sell", "open"),
        ("A", "buy", "close"),
    ]


def am(sym: str, close: float, day_volume: int, vwap: float) -> MinuteAgg:
    return MinuteAgg(
        symbol=sym,
        open=close,
        high=close,
        low=close,
        close=close,
        volume=100,
        start=T,
        day_volume=day_volume,
        day_vwap=vwap,
    )


def test_movers_rank_gainers_losers_volume_and_dollars() -> None:
    board = MoversBoard()
    board.seed(
        [
            Mover("UP", 10.0, 10.0, 1_000, 10_000),
            Mover("DOWN", 10.0, 10.0, 5_000, 50_000),
            Mover("FLAT", 100.0, 100.0, 2_000, 200_000),
            Mover("NEW", 1.0, None, 0, 0),
        ]
    )
    board.feed([am("UP", 12.0, 3_000, 11.0), am("DOWN", 8.0, 6_000, 9.0)])
    assert [m.symbol for m in board.top("gainers", 2)] == ["UP", "FLAT"]
    assert [m.symbol for m in board.top("losers", 1)] == ["DOWN"]
    assert [m.symbol for m in board.top("active", 4)] == ["DOWN", "UP", "FLAT", "NEW"]
    assert [m.symbol for m in board.top("dollar", 1)] == ["FLAT"]
    up = board.rows["UP"]
    assert up.pct == pytest.approx(20.0)
    assert up.dollar_volume == pytest.approx(33_000)


def test_a_minute_bar_for_an_unseen_symbol_joins_unranked_by_percent() -> None:
    board = MoversBoard()
    board.feed([am("X", 5.0, 100, 5.0)])
    assert board.top("gainers", 5) == []
    assert [m.symbol for m in board.top("active", 5)] == ["X"]


def test_after_the_close_the_change_stays_the_regular_sessions_and_rolls_into_the_next_day() -> (
    None
):
    board = MoversBoard()
    board.seed([Mover("X", 10.0, 10.0, 1_000, 10_000)])
    _, close_ms = regular_session(T)
    bars = [am("X", 11.0, 2_000, 10.5), am("X", 12.0, 3_000, 10.6)]
    bars[0].start, bars[1].start = close_ms - 60_000, close_ms + 60_000  # 15:59, then 16:01
    board.feed(bars)
    x = board.rows["X"]
    assert (x.last, x.change, x.pct) == (12.0, pytest.approx(1.0), pytest.approx(10.0))
    nxt = am("X", 12.5, 500, 12.5)
    nxt.start = close_ms + 16 * 3_600_000  # 08:00 the next day: pre-market
    board.feed([nxt])
    assert (x.prev_close, x.volume) == (11.0, 500)  # the regular close, not the 12 after hours
    assert x.change == pytest.approx(1.5)

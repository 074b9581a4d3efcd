"""MarketState: day figures, conflation, notices, other markets, rings, hostile input."""

from __future__ import annotations

import pytest

from ticktape.feed.conditions import regular_session
from ticktape.feed.events import (
    CryptoMinuteAgg,
    CryptoQuote,
    CryptoTrade,
    ForexQuote,
    Imbalance,
    LimitUpLimitDown,
    MinuteAgg,
    Quote,
    SecondAgg,
    Status,
    Trade,
)
from ticktape.market import MarketState
from ticktape.market.bars import day_bounds

M = 60_000
T0 = 1_700_000_040_000


def trade(sym: str, price: float, t: int, size: int = 100, c: tuple[int, ...] = ()) -> Trade:
    return Trade(symbol=sym, price=price, size=size, timestamp=t, conditions=c)


def test_day_figures_from_trades() -> None:
    st = MarketState()
    st.apply([trade("X", 10, T0), trade("X", 12, T0 + 1, 300), trade("X", 8, T0 + 2)], 0)
    s = st.get("X")
    assert s is not None
    assert (s.open, s.high, s.low, s.last, s.volume) == (10, 12, 8, 8, 500)
    assert s.vwap == pytest.approx((10 * 100 + 12 * 300 + 8 * 100) / 500)
    assert s.last_ms == T0 + 2 and s.last_size == 100


def test_day_figures_from_server_aggregates_win() -> None:
    st = MarketState()
    st.apply([trade("X", 10, T0), trade("X", 11, T0 + 1)], 0)
    st.apply(
        [
            SecondAgg(
                symbol="X",
                open=11,
                high=11.5,
                low=10.5,
                close=11.2,
                volume=50,
                start=T0 + 1000,
                end=T0 + 2000,
                day_open=9.5,
                day_volume=10_000,
                day_vwap=10.25,
            )
        ],
        0,
    )
    s = st.get("X")
    assert s is not None
    assert s.open == 9.5 and s.open_official  # official `op`
    assert s.volume == 10_000 and s.vwap == pytest.approx(10.25)  # `av` and `a`
    assert (s.high, s.low) == (11.5, 10)
    assert s.last == 11.2  # the bar is newer than the last trade
    st.apply([trade("X", 9.0, T0 + 3000)], 0)  # trades go on from the official figures
    assert s.volume == 10_100 and s.open == 9.5 and s.low == 9.0


def test_smaller_official_volume_does_not_undo_counted_trades() -> None:
    st = MarketState()
    st.apply([trade("X", 10, T0, 5_000)], 0)
    st.apply(
        [
            MinuteAgg(
                symbol="X",
                open=10,
                high=10,
                low=10,
                close=10,
                volume=100,
                start=T0 - M,
                day_volume=1_000,
            )
        ],
        0,
    )
    s = st.get("X")
    assert s is not None and s.volume == 5_000


def test_new_exchange_day_rolls_figures_and_sets_prev_close() -> None:
    st = MarketState()
    _, end = day_bounds(T0)
    st.apply([trade("X", 10, end - 5_000), trade("X", 11, end - 1_000)], 0)
    st.apply([trade("X", 12, end + 1_000)], 0)
    s = st.get("X")
    assert s is not None
    assert s.prev_close == 11 and (s.open, s.high, s.low, s.volume) == (12, 12, 12, 100)
    assert s.change == pytest.approx(1) and s.change_pct == pytest.approx(100 / 11)


def test_the_previous_close_is_the_regular_sessions_not_an_after_hours_print() -> None:
    st = MarketState()
    open_ms, close_ms = regular_session(T0)
    _, end = day_bounds(T0)
    st.apply(
        [
            trade("X", 10, open_ms + 60_000),
            trade("X", 11, close_ms - 1_000),  # the regular close
            trade("X", 11.5, close_ms - 500, c=(37,)),  # an odd lot: sets no price
            trade("X", 13, close_ms + 3_600_000, c=(12,)),  # after hours (Form T): the last
            trade("EUR-X", 2.0, close_ms + 3_600_000),  # no sessions: its last is its close
        ],
        0,
    )
    s = st.get("X")
    assert s is not None and s.last == 13
    st.apply([trade("X", 12, end + 5 * 3_600_000, c=(12,)), trade("EUR-X", 2.1, end + 1)], 0)
    assert s.prev_close == 11 and s.change == pytest.approx(1)
    other = st.get("EUR-X")
    assert other is not None and other.prev_close == 2.0


def test_nbbo_fields() -> None:
    st = MarketState()
    st.apply([Quote(symbol="X", bid=10, ask=10.04, bid_size=3, ask_size=7, timestamp=T0)], 123)
    s = st.get("X")
    assert s is not None
    assert (s.bid, s.ask, s.bid_size, s.ask_size) == (10, 10.04, 3, 7)
    assert s.spread == pytest.approx(0.04) and s.mid == pytest.approx(10.02)
    assert s.quote_ms == T0 and s.updated_ms == 123
    assert s.last is None and s.high is None and s.vwap is None and s.change is None


def test_changed_since_reports_only_touched_symbols() -> None:
    st = MarketState()
    st.apply([trade("A", 1, T0), trade("B", 1, T0)], 0)
    v = st.version
    assert st.changed_since(v) == set()
    st.apply([Quote(symbol="B", bid=1, ask=2, timestamp=T0)], 0)
    assert st.changed_since(v) == {"B"}
    assert st.changed_since(0) == {"A", "B"}
    v2 = st.version
    st.seed_bars("C", [])
    assert st.changed_since(v2) == {"C"}


def test_status_only_frame_changes_no_symbol() -> None:
    st = MarketState()
    st.apply([Status(status="connected", message="hi")], 0)
    assert st.changed_since(0) == set() and not st.symbols


def test_luld_halt_resume_and_imbalance_notices() -> None:
    st = MarketState()
    st.apply(
        [
            LimitUpLimitDown(symbol="X", high=11, low=9, timestamp=T0 * 1_000),  # µs on the wire
            LimitUpLimitDown(
                symbol="X", high=11, low=9, timestamp=T0 * 1_000 + 1, indicators=(17,)
            ),
        ],
        0,
    )
    s = st.get("X")
    assert s is not None and s.halted and (s.luld_low, s.luld_high) == (9, 11)
    st.apply([LimitUpLimitDown(symbol="X", high=11, low=9, timestamp=T0, indicators=(18,))], 0)
    st.apply([Imbalance(symbol="X", timestamp=T0 * 1_000_000, imbalance=500, auction_type="C")], 0)
    kinds = [(n.kind, n.time_ms) for n in reversed(st.events_tape.newest())]
    assert kinds == [("LULD", T0), ("HALT", T0), ("RESUME", T0), ("NOI", T0)]
    assert not s.halted and st.events_tape.since(2) == 2


def test_forex_pair_last_is_mid() -> None:
    st = MarketState()
    st.apply([ForexQuote(pair="EUR/USD", bid=1.1, ask=1.1002, timestamp=T0)], 0)
    s = st.get("EUR/USD")
    assert s is not None and s.last == pytest.approx(1.1001) and s.bid == 1.1


def test_crypto_trade_side_from_conditions_and_bars() -> None:
    st = MarketState()
    st.apply(
        [
            CryptoQuote(pair="BTC-USD", bid=100, ask=101, timestamp=T0, bid_size=0.5),
            CryptoTrade(pair="BTC-USD", price=100.5, size=0.25, timestamp=T0 + 1, conditions=(2,)),
            CryptoTrade(pair="BTC-USD", price=100.5, size=0.5, timestamp=T0 + 2, conditions=(1,)),
            CryptoTrade(pair="BTC-USD", price=101, size=0.5, timestamp=T0 + 3),
        ],
        0,
    )
    entries = st.get("BTC-USD").trades.newest()  # type: ignore[union-attr]
    assert [e.side for e in entries] == ["B", "S", "B"]
    assert entries[-1].size == 0.25
    st.apply(
        [CryptoMinuteAgg(pair="BTC-USD", open=1, high=2, low=1, close=2, volume=3.5, start=T0)], 0
    )
    (bar,) = st.bars("BTC-USD", "1m")
    assert bar.volume == 3.5 and bar.close == 2


def test_rings_are_bounded_and_count_new_entries() -> None:
    st = MarketState(tape_size=50, symbol_tape_size=20, symbol_quote_size=5, record_all_quotes=True)
    st.apply([trade("A" if i % 4 else "B", 10 + i / 100, T0 + i) for i in range(100)], 0)
    st.apply([Quote(symbol="A", bid=i, ask=i + 1, timestamp=T0 + i) for i in range(9)], 0)
    a, b = st.get("A"), st.get("B")
    assert a is not None and b is not None
    assert len(a.trades) == 20 and len(b.trades) == 20 and a.trades.seq == 75
    assert len(a.quotes) == 5 and [q.bid for q in a.quotes.newest(2)] == [8, 7]
    assert len(st.tape) == 50 and st.tape.seq == 100
    assert st.tape.since(95) == 5 and st.tape.since(0) == 50
    newest = st.tape.newest()
    # entries of A older than A's ring are gone from the all-symbol view; B's are all there
    assert [e.time_ms for e in newest[:5]] == [T0 + 99, T0 + 98, T0 + 97, T0 + 96, T0 + 95]
    assert all(e.symbol == "A" for e in newest if e.time_ms % 4)
    assert len(newest) == 20 + 12  # A's newest 20, B's 12 of the newest 50
    assert [e.time_ms for e in st.tape.entries_since(97)] == [T0 + 97, T0 + 98, T0 + 99]
    assert [e.time_ms for e in a.trades][-1] == T0 + 99


def test_hostile_values_skip_only_that_event() -> None:
    st = MarketState()
    bad = Trade(symbol="X", price=1, size=1, timestamp=T0, exchange=2**40)
    st.apply([trade("X", 10, T0), bad, trade("X", 11, T0 + 1)], 0)
    s = st.get("X")
    assert st.bad_events == 1 and s is not None and s.last == 11
    assert s.volume == 200 and s.low == 10  # the bad event moved nothing
    assert [e.price for e in s.trades.newest()] == [11, 10]


def test_quote_history_starts_when_the_quote_tape_is_first_read() -> None:
    st = MarketState(symbol_quote_size=10)
    st.apply([Quote(symbol="A", bid=1, ask=2, timestamp=T0)], 0)
    a = st.get("A")
    assert a is not None
    ring = a.quotes  # the UI opens A's quote tape: recording starts now
    assert len(ring) == 0
    st.apply([Quote(symbol="A", bid=i, ask=i + 1, timestamp=T0 + i) for i in range(3)], 0)
    assert [(q.bid, q.time_ms) for q in a.quotes.newest()] == [(2, T0 + 2), (1, T0 + 1), (0, T0)]
    assert a.quotes.since(1) == 2 and a.quotes.entries_since(2)[0].bid == 2

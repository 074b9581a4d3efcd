"""Tiered history: shallow for symbols nobody looks at, deep once watched.

A symbol's stores start at the shallow depth; ``MarketState.watch`` or a
reader opening its trades, quotes or bars makes it deep, keeping what the
stores already hold. The all-symbol tape reads through the per-symbol rings,
so it must stay right across a resize.
"""

from __future__ import annotations

from ticktape.feed.events import MinuteAgg, Quote, SecondAgg, Trade
from ticktape.market import Bar, MarketState
from ticktape.market.minutes import MinuteBars

T0 = 1_700_000_000_000
M = 60_000


def trades(symbol: str, n: int, t0: int = T0, step: int = 1) -> list[Trade]:
    return [
        Trade(symbol=symbol, price=10 + i / 100, size=1, timestamp=t0 + i * step) for i in range(n)
    ]


def seconds(symbol: str, n: int) -> list[SecondAgg]:
    return [
        SecondAgg(symbol=symbol, open=1, high=2, low=1, close=2, volume=i, start=T0 + i * 1000)
        for i in range(n)
    ]


def test_unviewed_symbols_keep_shallow_bounded_history() -> None:
    st = MarketState()
    st.apply(trades("X", 3_000, step=M), 0)  # a trade a minute: 3,000 minutes
    st.apply(seconds("X", 500), 0)
    st.apply([Quote(symbol="X", bid=1, ask=2, timestamp=T0 + i) for i in range(50)], 0)
    s = st.get("X")
    assert s is not None and not s.watched
    assert (len(s.trade_ring), s.trade_ring.cap, s.trade_ring.seq) == (256, 256, 3_000)
    assert (len(s.seconds), s.seconds.cap) == (120, 120)
    assert len(s.quote_ring) == 0  # quotes of an unviewed symbol are not recorded
    assert s.minutes.cap == 960 and len(s.minutes) <= 961
    # the figures a watchlist row shows are whole all the same
    assert s.last == 10 + 2_999 / 100 and s.bid == 1 and s.ask == 2


def test_watch_deepens_and_keeps_what_was_held() -> None:
    st = MarketState()
    st.apply(trades("X", 400, step=M), 0)  # 400 minutes, 400 trades: the ring kept 256
    st.apply(seconds("X", 200), 0)
    s = st.get("X")
    assert s is not None
    held = [(e.time_ms, e.price) for e in s.trade_ring]
    held_seconds = [(b.start_ms, b.volume) for b in s.seconds]
    held_minutes = [(b.start_ms, b.close) for b in s.minutes.resample(1)]
    assert len(held) == 256 and held[-1][0] == T0 + 399 * M and len(held_seconds) == 120

    st.watch(["X"])
    assert s.watched
    assert [(e.time_ms, e.price) for e in s.trade_ring] == held
    assert [(b.start_ms, b.volume) for b in s.seconds] == held_seconds
    assert [(b.start_ms, b.close) for b in st.bars("X", "1m")] == held_minutes
    assert (s.trade_ring.cap, s.quote_ring.cap, s.seconds.cap, s.minutes.cap) == (
        2_000,
        256,
        3_600,
        20_000,
    )
    # deep from now on: the ring grows past its shallow size, oldest entries kept
    st.apply(trades("X", 1_000, t0=T0 + 400 * M, step=M), 0)
    entries = list(s.trades)
    assert len(entries) == 1_256 and (entries[0].time_ms, entries[0].price) == held[0]
    assert s.trades.since(s.trades.seq - 1_256) == 1_256
    assert len(st.bars("X", "1m")) == 1_400  # every minute so far, none dropped
    st.apply([Quote(symbol="X", bid=3, ask=4, timestamp=T0)], 0)
    assert [q.bid for q in s.quotes] == [3]


def test_reading_trades_quotes_or_bars_makes_a_symbol_watched() -> None:
    st = MarketState()
    st.apply(trades("A", 1) + trades("B", 1) + trades("C", 1), 0)
    a, b, c = st.get("A"), st.get("B"), st.get("C")
    assert a is not None and b is not None and c is not None
    assert not (a.watched or b.watched or c.watched)
    assert len(a.trades) == 1 and a.watched
    assert len(b.quotes) == 0 and b.watched
    assert len(st.bars("C", "5m")) == 1 and c.watched


def test_a_symbol_watched_before_it_is_seen_starts_deep() -> None:
    st = MarketState()
    st.watch(["NEW"])
    assert st.get("NEW") is None  # watching creates no symbol
    st.bars("SOON", "1m")  # the chart of a selected symbol with no data yet
    st.apply(trades("NEW", 300) + trades("SOON", 1) + trades("OTHER", 1), 0)
    new, soon, other = st.get("NEW"), st.get("SOON"), st.get("OTHER")
    assert new is not None and soon is not None and other is not None
    assert new.watched and soon.watched and not other.watched
    assert len(new.trade_ring) == 300 and new.qcap == 256


def test_seeded_history_is_kept_deep() -> None:
    st = MarketState()
    bars = [
        MinuteAgg(symbol="X", open=1, high=1, low=1, close=1, volume=1, start=T0 + k * M)
        for k in range(3_000)
    ]
    st.apply(bars[:10], 0)  # live AM bars first: X is shallow
    st.seed_bars("X", [Bar(b.start, 1, 1, 1, 1, 1) for b in bars])
    got = st.bars("X", "1m")
    assert len(got) == 3_000 and got[0].start_ms == T0


def test_sizes_are_chosen_by_the_caller() -> None:
    st = MarketState(
        symbol_tape_size=50, shallow_tape_size=5, shallow_second_bars=3, shallow_minute_bars=7
    )
    st.apply([*trades("X", 20, step=M), *seconds("X", 10)], 0)
    s = st.get("X")
    assert s is not None
    assert (len(s.trade_ring), len(s.seconds), s.minutes.cap) == (5, 3, 7)
    assert len(s.trades) == 5 and s.trade_ring.cap == 50  # deep size, contents kept
    # shallow sizes never exceed the deep ones
    small = MarketState(symbol_tape_size=20, second_bars=2)
    small.apply([*trades("Y", 30), *seconds("Y", 5)], 0)
    y = small.get("Y")
    assert y is not None and (len(y.trade_ring), len(y.seconds)) == (20, 2)


def test_all_symbol_tape_resolves_across_a_resize() -> None:
    """The all-symbol tape's newest entries are the newest trades each ring still holds."""
    st = MarketState(tape_size=40, symbol_tape_size=12, shallow_tape_size=4)
    sent: list[tuple[str, int]] = []
    held: dict[str, list[int]] = {"A": [], "B": []}
    caps = {"A": 4, "B": 4}

    def send(symbol: str, t: int) -> None:
        st.apply([Trade(symbol=symbol, price=10, size=1, timestamp=t)], 0)
        sent.append((symbol, t))
        held[symbol] = (held[symbol] + [t])[-caps[symbol] :]

    t = T0
    for i in range(30):
        t += 1
        send("A" if i % 3 else "B", t)
        if i == 14:  # A wrapped its shallow ring several times by now
            st.watch(["A"])
            caps["A"] = 12
        expected = [(sym, ts) for sym, ts in reversed(sent[-40:]) if ts in held[sym]]
        assert [(e.symbol, e.time_ms) for e in st.tape.newest()] == expected
    assert [(e.symbol, e.time_ms) for e in st.tape.entries_since(st.tape.seq - 5)] == sent[-5:]
    assert len(expected) == 12 + 4


def test_minute_store_merges_in_place_and_grows_keeping_bars() -> None:
    mb = MinuteBars(cap=4)
    for k in (0, 1, 3, 4, 5):  # 4 packed bars, minute 5 forming (the live tail)
        mb.trade(k * M, 10 + k, 1, 7)
    mb.trade(1 * M, 20, 2, 7)  # a late trade into a packed trade-built bar
    mb.put_am(Bar(2 * M, 5, 6, 4, 5, 9))  # a missing minute, into a full store
    mb.trade(2 * M, 99, 1, 7)  # AM bars are authoritative
    got = [(b.start_ms // M, b.high, b.close, b.volume) for b in mb.resample(1)]
    # the oldest minute went to make room for minute 2
    assert got == [(1, 20, 20, 3), (2, 6, 5, 9), (3, 13, 13, 1), (4, 14, 14, 1), (5, 15, 15, 1)]
    mb.resize(100)
    for k in range(6, 50):
        mb.trade(k * M, 1, 1, 7)
    bars = mb.resample(1)
    assert len(bars) == 49 and [b.start_ms // M for b in bars[:3]] == [1, 2, 3]

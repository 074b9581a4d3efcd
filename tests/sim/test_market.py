"""The live simulated market: determinism, realism rules, bars built from trades, rate and clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from ticktape.feed.conditions import (
    FORM_T,
    ODD_LOT,
    UPDATES_LAST,
    UPDATES_VOLUME,
    bar_flags,
    flags_for,
    trade_code,
)
from ticktape.feed.events import (
    CryptoL2,
    CryptoMinuteAgg,
    CryptoQuote,
    CryptoTrade,
    Event,
    ForexMinuteAgg,
    ForexQuote,
    Imbalance,
    LimitUpLimitDown,
    MinuteAgg,
    Quote,
    SecondAgg,
    Trade,
    encode,
)
from ticktape.sim.market import SimMarket
from ticktape.sim.model_stocks import CONDITIONS
from ticktape.sim.symbols import DEFAULT_STOCKS, profile

# Wednesday 2025-06-11 14:30:15.5 ET (regular hours), mid-second and mid-minute on purpose.
START = int(datetime(2025, 6, 11, 18, 30, 15, 500_000, tzinfo=UTC).timestamp() * 1000)
# The same day at 09:25:15.5 ET: five minutes of pre-market (Form T), then the open.
PRE_OPEN = int(datetime(2025, 6, 11, 13, 25, 15, 500_000, tzinfo=UTC).timestamp() * 1000)
SYMS = ["AAPL", "MSFT", "ZZZQ"]


def run(market: SimMarket, seconds: float, step_ms: int = 250, start: int = START) -> list[Event]:
    out: list[Event] = []
    for wall in range(start + step_ms, start + int(seconds * 1000) + 1, step_ms):
        out.extend(market.advance(wall))
    return out


def stocks(seed: int = 1, rate: float = 400.0, start: int = START, **kw: object) -> SimMarket:
    return SimMarket("stocks", seed=seed, symbols=SYMS, rate=rate, start_ms=start, **kw)  # type: ignore[arg-type]


def test_same_seed_same_events_however_advance_is_chunked() -> None:
    a = run(stocks(), 30, step_ms=250)
    b = run(stocks(), 30, step_ms=1_000)
    assert len(a) > 5_000
    assert encode(a) == encode(b)


def test_different_seed_differs() -> None:
    assert encode(run(stocks(seed=1), 5)) != encode(run(stocks(seed=2), 5))


def test_trades_on_tick_grid_and_quotes_not_crossed() -> None:
    events = run(stocks(rate=1_000.0), 10)
    trades = [e for e in events if isinstance(e, Trade)]
    quotes = [e for e in events if isinstance(e, Quote)]
    assert len(trades) > 1_000 and len(quotes) > 1_000
    for e in trades:
        scale = profile("stocks", e.symbol, 1).scale
        assert abs(e.price * scale - round(e.price * scale)) < 1e-6, e
        assert e.size > 0 and e.tape in (1, 2, 3) and e.id
        assert (ODD_LOT in e.conditions) == (e.size < 100)
        assert FORM_T not in e.conditions  # regular hours
    for q in quotes:
        assert 0 < q.bid < q.ask, q
        assert q.bid_size % 100 == 0 and q.ask_size % 100 == 0
    # realism: mostly round lots and no conditions, some odd lots, some trades off the quote
    assert 0.15 < sum(t.size < 100 for t in trades) / len(trades) < 0.45
    assert sum(t.conditions == () for t in trades) / len(trades) > 0.4
    assert len({t.exchange for t in trades}) > 5


def test_sequences_increase_per_symbol() -> None:
    last: dict[str, int] = {}
    for e in run(stocks(), 10):
        if isinstance(e, Trade | Quote):
            assert e.sequence > last.get(e.symbol, 0)
            last[e.symbol] = e.sequence


def _prices_bar(t: Trade) -> bool:
    """By ticktape's one condition table (feed.conditions), as the client builds bars."""
    return bool(bar_flags(trade_code(t.conditions), t.timestamp) & UPDATES_LAST)


def _expected_bar(trades: list[Trade]) -> tuple[float, float, float, float, int, float]:
    priced = [t for t in trades if _prices_bar(t)]
    volume = sum(t.size for t in trades)
    vwap = round(sum(t.price * t.size for t in trades) / volume, 4)
    return (
        priced[0].price,
        max(t.price for t in priced),
        min(t.price for t in priced),
        priced[-1].price,
        volume,
        vwap,
    )


@pytest.mark.parametrize("start", [START, PRE_OPEN], ids=["regular", "pre-market"])
def test_second_and_minute_bars_aggregate_the_eligible_trades(start: int) -> None:
    # 200 s of market time (from PRE_OPEN: Form T trades, then the 09:30 open)
    events = run(stocks(rate=300.0, speed=10.0, start=start), 20, start=start)
    by_second: dict[tuple[str, int], list[Trade]] = defaultdict(list)
    by_minute: dict[tuple[str, int], list[Trade]] = defaultdict(list)
    for e in events:
        if isinstance(e, Trade):
            by_second[e.symbol, e.timestamp // 1000 * 1000].append(e)
            by_minute[e.symbol, e.timestamp // 60_000 * 60_000].append(e)
    seconds = [e for e in events if isinstance(e, SecondAgg)]
    minutes = [e for e in events if isinstance(e, MinuteAgg)]
    assert len(seconds) > 100 and len(minutes) >= 6
    for bar in seconds + minutes:
        group = (by_second if isinstance(bar, SecondAgg) else by_minute)[bar.symbol, bar.start]
        got = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.vwap)
        assert got == pytest.approx(_expected_bar(group)), bar
        assert bar.end - bar.start == (1000 if isinstance(bar, SecondAgg) else 60_000)
        assert bar.avg_size == bar.volume // len(group)
        assert bar.day_volume and bar.day_volume >= bar.volume and bar.day_vwap


def test_every_printed_condition_counts_toward_volume() -> None:
    # model_stocks counts every trade into bar volume and trade counts; the table must agree
    assert all(flags_for(c) & UPDATES_VOLUME for c in CONDITIONS)


def test_official_open_is_the_first_regular_hours_priced_trade() -> None:
    events = run(stocks(rate=300.0, speed=30.0, start=PRE_OPEN), 20, start=PRE_OPEN)
    open_ms = PRE_OPEN + 4 * 60_000 + 44_500  # 09:30:00 ET
    trades = [e for e in events if isinstance(e, Trade) and e.symbol == "AAPL"]
    assert all((FORM_T in t.conditions) == (t.timestamp < open_ms) for t in trades)
    bars = [e for e in events if isinstance(e, MinuteAgg) and e.symbol == "AAPL"]
    pre = [b for b in bars if b.start < open_ms]
    post = [b for b in bars if b.start >= open_ms]
    assert pre and post
    assert all(b.day_open is None for b in pre)  # no official open before 09:30
    first = next(
        t for t in trades if t.timestamp >= open_ms and flags_for(t.conditions) & UPDATES_LAST
    )
    assert {b.day_open for b in post} == {first.price}


def test_minute_bar_is_emitted_only_after_its_minute_closed() -> None:
    events = run(stocks(rate=200.0, speed=10.0), 15)
    for i, e in enumerate(events):
        if isinstance(e, MinuteAgg):
            assert all(t.timestamp < e.end for t in events[:i] if isinstance(t, Trade))
            assert all(t.timestamp >= e.end for t in events[i:] if isinstance(t, Trade))


def test_day_volume_accumulates_across_bars() -> None:
    minutes = [e for e in run(stocks(speed=30.0), 10) if isinstance(e, MinuteAgg)]
    aapl = [m for m in minutes if m.symbol == "AAPL"]
    assert len(aapl) >= 3
    for prev, cur in pairwise(aapl):
        assert cur.day_volume == (prev.day_volume or 0) + cur.volume
        assert cur.day_open == prev.day_open and cur.day_open


def test_luld_and_imbalance_use_their_wire_units() -> None:
    market = stocks(rate=2_000.0)
    events = run(market, 3)
    lulds = [e for e in events if isinstance(e, LimitUpLimitDown)]
    assert {e.symbol for e in lulds} == set(SYMS)  # bands are published when a symbol starts
    for e in lulds:
        assert e.low < e.high and e.timestamp // 1000 >= START and e.time_ms >= START
    # the closing-auction window makes imbalances for every symbol
    late = int(datetime(2025, 6, 11, 19, 52, tzinfo=UTC).timestamp() * 1000)
    m2 = SimMarket("stocks", seed=1, symbols=SYMS, rate=500.0, start_ms=late)
    nois = [e for e in m2.advance(late + 10_000) if isinstance(e, Imbalance)]
    closing = [e for e in nois if e.auction_type == "C"]  # (the rest: rare halt reopenings)
    assert {e.symbol for e in closing} == set(SYMS)
    assert {e.auction_type for e in nois} <= {"C", "H"}
    for n in nois:
        assert n.auction_time == 1600 or n.auction_type == "H"
        assert late <= n.time_ms <= late + 10_000 and n.timestamp > 10**17  # nanoseconds
        assert n.paired > 0 and n.clearing_price > 0


def test_rate_is_events_per_wall_second_at_any_speed() -> None:
    primary = (Trade, Quote)
    at_1 = [e for e in run(stocks(rate=500.0), 20) if isinstance(e, primary)]
    assert 9_000 < len(at_1) < 11_000
    fast = stocks(rate=500.0, speed=10.0)
    at_10 = [e for e in run(fast, 20) if isinstance(e, primary)]
    assert 9_000 < len(at_10) < 11_000
    assert at_10[-1].timestamp - START > 190_000  # but they span 10x the market time


def test_market_clock_speed_and_delay() -> None:
    m = stocks(speed=60.0, delay_ms=900_000)
    assert m.market_ms(START) == START - 900_000
    assert m.market_ms(START + 1_000) == START + 60_000 - 900_000
    events = m.advance(START + 2_000)
    assert events and max(e.time_ms for e in events) < START + 120_000 - 900_000
    assert any(isinstance(e, MinuteAgg) for e in events)


def test_default_universe_is_live_from_the_start() -> None:
    m = SimMarket("stocks", seed=3, rate=5_000.0, start_ms=START)
    assert m.universe == list(DEFAULT_STOCKS) and len(m.universe) >= 100
    seen = {e.symbol for e in m.advance(START + 10_000) if isinstance(e, Trade)}
    assert len(seen) > 80
    m.ensure("NEWCO")
    assert any(isinstance(e, Trade) and e.symbol == "NEWCO" for e in m.advance(START + 20_000))


def test_any_symbol_exists_with_a_price_from_its_name() -> None:
    a = profile("stocks", "QWERTY", 0)
    assert a == profile("stocks", "QWERTY", 0)
    assert 4.5 < a.price < 950
    assert profile("stocks", "AAPL", 0).price == pytest.approx(228, rel=0.05)
    assert profile("forex", "EUR/USD", 0).price == pytest.approx(1.08, rel=0.05)
    assert profile("forex", "USD/JPY", 0).decimals == 3
    assert profile("forex", "EUR/USD", 0).decimals == 5
    assert profile("crypto", "BTC-USD", 0).price > 10_000
    assert 1_000 < profile("crypto", "ETH-USD", 0).price < 10_000


def test_forex_quotes_and_minute_bars() -> None:
    m = SimMarket("forex", seed=1, symbols=["EUR/USD", "USD/JPY"], rate=200.0, start_ms=START)
    events = [e for w in range(1, 121) for e in m.advance(START + w * 1_000)]
    quotes = [e for e in events if isinstance(e, ForexQuote)]
    bars = [e for e in events if isinstance(e, ForexMinuteAgg)]
    assert {q.pair for q in quotes} == {"EUR/USD", "USD/JPY"}
    for q in quotes:
        assert 0 < q.bid < q.ask
        digits = 3 if q.pair == "USD/JPY" else 5
        assert round(q.bid, digits) == q.bid and round(q.ask, digits) == q.ask
    assert 140 < next(q.bid for q in quotes if q.pair == "USD/JPY") < 160
    assert len(bars) >= 2
    for b in bars:
        in_bar = [q for q in quotes if q.pair == b.pair and b.start <= q.timestamp < b.end]
        assert b.volume == len(in_bar) and b.low <= min(b.open, b.close) <= b.high


def test_crypto_trades_quotes_books_and_bars() -> None:
    m = SimMarket("crypto", seed=1, symbols=["BTC-USD", "DOGE-USD"], rate=300.0, start_ms=START)
    events = [e for w in range(1, 91) for e in m.advance(START + w * 1_000)]
    trades = [e for e in events if isinstance(e, CryptoTrade)]
    books = [e for e in events if isinstance(e, CryptoL2)]
    bars = [e for e in events if isinstance(e, CryptoMinuteAgg)]
    assert trades and books and bars and any(isinstance(e, CryptoQuote) for e in events)
    assert all(t.conditions in ((1,), (2,)) and t.size > 0 for t in trades)
    assert all(t.received and t.received >= t.timestamp for t in trades)
    for b in books:
        assert 10 <= len(b.bids) <= 20 and 10 <= len(b.asks) <= 20
        assert b.bids[0][0] < b.asks[0][0]
        assert [p for p, _ in b.bids] == sorted((p for p, _ in b.bids), reverse=True)
        assert [p for p, _ in b.asks] == sorted(p for p, _ in b.asks)
    for bar in bars:
        mine = [t for t in trades if t.pair == bar.pair and bar.start <= t.timestamp < bar.end]
        assert bar.volume == pytest.approx(sum(t.size for t in mine))
        assert (bar.open, bar.close) == (mine[0].price, mine[-1].price)
        assert bar.high == max(t.price for t in mine) and bar.low == min(t.price for t in mine)

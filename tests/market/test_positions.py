"""P&L of lots, hand-computed, across a day boundary too."""

from __future__ import annotations

from datetime import date

import pytest

from ticktape.feed.events import Trade
from ticktape.market import MarketState
from ticktape.market.positions import (
    Lot,
    LotError,
    lot_phrase,
    parse_lot_phrase,
    position,
    totals,
)

MON, TUE = date(2025, 3, 10), date(2025, 3, 11)
#: Monday 2025-03-10 15:00 and Tuesday 10:00, New York (EDT, UTC-4).
MON_MS, TUE_MS = 1_741_633_200_000, 1_741_701_600_000


def test_held_lots_make_day_pnl_from_the_previous_close_new_ones_from_their_cost() -> None:
    lots = [Lot("AAPL", 10, 100.0, MON), Lot("AAPL", 5, 108.0, TUE)]
    p = position(lots, last=110.0, prev_close=105.0, today=TUE)
    assert p.quantity == 15
    assert p.avg_cost == pytest.approx((1000 + 540) / 15)  # 102.666…
    assert p.market_value == pytest.approx(1650.0)
    # held: 10 × (110 − 105) = 50; opened today: 5 × (110 − 108) = 10
    assert p.day_pnl == pytest.approx(60.0)
    assert p.total_pnl == pytest.approx(1650 - 1540)  # 110
    assert p.total_pct == pytest.approx(110 / 1540 * 100)  # 7.14 %


def test_the_same_lots_a_day_later_count_the_new_lot_from_the_close() -> None:
    lots = [Lot("AAPL", 10, 100.0, MON), Lot("AAPL", 5, 108.0, TUE)]
    p = position(lots, last=107.0, prev_close=110.0, today=date(2025, 3, 12))
    assert p.day_pnl == pytest.approx(15 * (107 - 110))  # −45: both held now
    assert p.total_pnl == pytest.approx(15 * 107 - 1540)  # 65


def test_a_short_lot_and_a_fractional_crypto_lot() -> None:
    short = position([Lot("TSLA", -20, 250.0)], last=240.0, prev_close=245.0, today=TUE)
    assert short.market_value == pytest.approx(-4800.0)
    assert short.day_pnl == pytest.approx(100.0)  # −20 × (240 − 245)
    assert short.total_pnl == pytest.approx(200.0) and short.total_pct == pytest.approx(4.0)
    btc = position([Lot("BTC-USD", 0.125, 60_000.0, TUE)], 64_000.0, None, today=TUE)
    assert btc.day_pnl == pytest.approx(500.0) and btc.total_pnl == pytest.approx(500.0)


def test_unknowns_stay_unknown_and_totals_add_what_is_known() -> None:
    no_close = position([Lot("X", 1, 10.0)], last=12.0, prev_close=None, today=TUE)
    assert no_close.day_pnl is None and no_close.total_pnl == pytest.approx(2.0)
    no_price = position([Lot("Y", 1, 10.0)], last=None, prev_close=9.0, today=TUE)
    assert no_price.market_value is None
    a = position([Lot("A", 10, 100.0)], 110.0, 105.0, TUE)
    b = position([Lot("B", 2, 50.0)], 40.0, 45.0, TUE)
    t = totals([a, b, no_close, no_price])
    assert t.market_value == pytest.approx(1100 + 80 + 12)
    assert t.day_pnl == pytest.approx(50 - 10)
    assert t.total_pnl == pytest.approx(100 - 20 + 2)
    assert t.total_pct == pytest.approx(82 / (1000 + 100 + 10) * 100)


def test_day_pnl_through_market_state_across_the_day_boundary() -> None:
    """Monday's last trade becomes Tuesday's previous close when Tuesday's first trade comes."""
    state = MarketState()
    state.apply([Trade("AAPL", 104.0, 100, MON_MS), Trade("AAPL", 105.0, 100, MON_MS + 1)], MON_MS)
    lots = [Lot("AAPL", 10, 100.0, MON)]
    s = state.symbols["AAPL"]
    monday = position(lots, s.last, s.prev_close, MON)
    assert monday.day_pnl == pytest.approx(50.0)  # opened Monday: from its cost
    state.apply([Trade("AAPL", 110.0, 100, TUE_MS)], TUE_MS)
    assert s.prev_close == 105.0
    tuesday = position(lots, s.last, s.prev_close, TUE)
    assert tuesday.day_pnl == pytest.approx(50.0)  # 10 × (110 − 105)
    assert tuesday.total_pnl == pytest.approx(100.0)


def test_phrases_add_replace_and_delete() -> None:
    add = parse_lot_phrase("BTC-USD", "0.12345678 @ 61,250.5 2025-03-10 cold wallet")
    assert add.index is None and add.lot == Lot("BTC-USD", 0.12345678, 61250.5, MON, "cold wallet")
    assert lot_phrase(add.lot) == "0.12345678 @ 61250.5 2025-03-10 cold wallet"
    edit = parse_lot_phrase("AAPL", "#2 -5 @ 190")
    assert edit.index == 1 and edit.lot == Lot("AAPL", -5, 190.0)
    assert parse_lot_phrase("AAPL", "#3 delete").lot is None
    for bad, said in [
        ("ten @ 5", "quantity 'ten' is not a number"),
        ("0 @ 5", "quantity must not be 0"),
        ("1 @ -5", "price must be above 0"),
        ("1 @ 5 2025-13-01", "date '2025-13-01' is not YYYY-MM-DD"),
        ("#0 1 @ 5", "'0' is not a lot number"),
        ("1 5", "write it as"),
    ]:
        with pytest.raises(LotError, match=said):
            parse_lot_phrase("AAPL", bad)

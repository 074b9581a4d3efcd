"""Trade classification in the market state: NBBO side, tick test, what each condition moves."""

from __future__ import annotations

import pytest

from ticktape.feed.conditions import (
    UPDATES_VOLUME,
)
from ticktape.feed.events import Quote, Trade
from ticktape.market import MarketState

T0 = 1_700_000_040_000  # a minute boundary: Tue 2023-11-14 17:14 ET, after hours
T_REGULAR = 1_699_983_000_000  # Tue 2023-11-14 12:30 ET
VOL = UPDATES_VOLUME


def _trade(price: float, t: int, conditions: tuple[int, ...] = ()) -> Trade:
    return Trade(symbol="X", price=price, size=100, timestamp=t, conditions=conditions)


@pytest.mark.parametrize(
    ("bid", "ask", "price", "side"),
    [
        (10.00, 10.02, 10.02, "B"),  # at the ask
        (10.00, 10.02, 10.05, "B"),  # above the ask
        (10.00, 10.02, 10.00, "S"),  # at the bid
        (10.00, 10.02, 9.90, "S"),  # below the bid
        (10.00, 10.02, 10.01, "M"),  # inside
        (10.00, 10.00, 10.00, "B"),  # locked market: at the ask wins
        (0.0, 10.02, 5.00, "M"),  # no bid: never a sell
    ],
)
def test_classification_against_nbbo(bid: float, ask: float, price: float, side: str) -> None:
    st = MarketState()
    st.apply([Quote(symbol="X", bid=bid, ask=ask, timestamp=T0), _trade(price, T0 + 1)], 0)
    assert st.tape.newest(1)[0].side == side


def test_classification_uses_the_quote_current_at_the_trade() -> None:
    st = MarketState()
    st.apply(
        [
            Quote(symbol="X", bid=10.00, ask=10.02, timestamp=T0),
            _trade(10.02, T0 + 1),  # buy against this quote
            Quote(symbol="X", bid=10.02, ask=10.04, timestamp=T0 + 2),
            _trade(10.02, T0 + 3),  # the same price is now a sell
        ],
        0,
    )
    assert [e.side for e in st.tape.newest()] == ["S", "B"]


def test_no_quote_means_mid() -> None:
    st = MarketState()
    st.apply([_trade(10.0, T0)], 0)
    assert st.tape.newest(1)[0].side == "M"


@pytest.mark.parametrize(
    ("trades", "ticks", "last_tick"),
    [
        ([(10.0, ()), (10.1, ()), (10.1, ()), (10.0, ())], [0, 1, 0, -1], -1),
        # an odd lot is ticked against the last eligible price but does not move it
        ([(10.0, ()), (10.5, (37,)), (10.2, ())], [0, 1, 1], 1),
        # after hours a Form T trade sets the last (it prices the minute bar)
        ([(10.0, ()), (9.0, (12,)), (9.5, (37,))], [0, -1, 1], -1),
    ],
)
def test_tick_test(
    trades: list[tuple[float, tuple[int, ...]]], ticks: list[int], last_tick: int
) -> None:
    st = MarketState()
    st.apply([_trade(p, T0 + i, c) for i, (p, c) in enumerate(trades)], 0)
    assert [e.tick for e in reversed(st.tape.newest())] == ticks
    s = st.get("X")
    assert s is not None and s.tick == last_tick


def test_ineligible_trades_stay_in_tape_but_do_not_move_last_or_bars() -> None:
    st = MarketState()
    st.apply(
        [
            _trade(10.0, T0),
            _trade(50.0, T0 + 1, (37,)),  # odd lot: volume only
            _trade(60.0, T0 + 2, (2,)),  # average price: volume only
            _trade(70.0, T0 + 3, (15,)),  # official close marker: nothing
            _trade(9.0, T0 + 4, (22,)),  # prior reference: high/low + volume, not last
        ],
        0,
    )
    s = st.get("X")
    assert s is not None
    assert len(st.tape) == 5 and len(s.trades) == 5
    assert s.last == 10.0
    assert (s.open, s.high, s.low) == (10.0, 10.0, 9.0)
    assert s.volume == 400  # the marker adds none
    (bar,) = st.bars("X", "1m")
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10.0, 10.0, 9.0, 10.0, 400)
    entries = {e.price: e for e in st.tape.newest()}
    assert entries[50.0].odd_lot and not entries[50.0].eligible_last
    assert entries[50.0].eligible_volume and not entries[70.0].eligible_volume


@pytest.mark.parametrize(("t0", "extended"), [(T0, True), (T_REGULAR, False)])
def test_form_t_prices_extended_hours_bars_but_never_the_day(t0: int, extended: bool) -> None:
    st = MarketState()
    st.apply([_trade(10.0, t0), _trade(12.0, t0 + 1, (12,)), _trade(8.0, t0 + 2, (12, 37))], 0)
    s = st.get("X")
    assert s is not None
    (bar,) = st.bars("X", "1m")
    hi, close = (12.0, 12.0) if extended else (10.0, 10.0)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10.0, hi, 10.0, close, 300)
    assert s.last == close
    assert (s.open, s.high, s.low, s.volume) == (10.0, 10.0, 10.0, 300)  # the daily bar's rules

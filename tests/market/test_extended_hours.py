"""Extended hours: after the close the regular change stays and AH measures from the close."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ticktape.feed.conditions import FORM_T
from ticktape.feed.events import Trade
from ticktape.market import MarketState
from ticktape.market.extended import extended_move
from ticktape.markethours import ET

MON, TUE = date(2023, 11, 13), date(2023, 11, 14)


def at(d: date, hour: int, minute: int) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=ET).timestamp() * 1000)


def trade(price: float, t: int, symbol: str = "X", form_t: bool = False) -> Trade:
    # Real prints outside 09:30-16:00 carry Form T.
    cond = (FORM_T,) if form_t else ()
    return Trade(symbol=symbol, price=price, size=100, timestamp=t, conditions=cond)


def market(*trades: Trade) -> MarketState:
    state = MarketState()
    for tr in trades:
        state.apply([tr], tr.timestamp)
    return state


def test_after_hours_keeps_the_regular_change_and_measures_from_the_close() -> None:
    state = market(
        trade(100.0, at(MON, 15, 0)),  # Monday's close: Tuesday's previous close
        trade(101.0, at(TUE, 10, 0)),
        trade(102.0, at(TUE, 15, 59)),  # the regular close
        trade(103.02, at(TUE, 16, 30), form_t=True),  # after hours, Form T
    )
    s = state.get("X")
    assert s is not None and s.last == 103.02
    move = extended_move(s)
    assert move is not None and move.label == "AH"
    assert move.change_pct == pytest.approx(1.0)
    assert move.regular_change == pytest.approx(2.0)
    assert move.regular_change_pct == pytest.approx(2.0)


def test_pre_market_measures_from_the_regular_close_not_the_late_prints() -> None:
    state = market(
        trade(100.0, at(MON, 15, 59)),  # Monday's regular close
        trade(104.0, at(MON, 18, 0), form_t=True),  # Monday after hours: not the reference
        trade(99.0, at(TUE, 8, 0), form_t=True),  # Tuesday pre-market
    )
    s = state.get("X")
    assert s is not None
    move = extended_move(s)
    assert move is not None and move.label == "PM"
    assert move.change_pct == pytest.approx(-1.0)
    assert move.regular_change is None


def test_regular_hours_pairs_and_closed_days_have_no_extended_move() -> None:
    regular = market(trade(100.0, at(MON, 15, 0)), trade(101.0, at(TUE, 11, 0)))
    crypto = market(trade(100.0, at(TUE, 15, 0), "BTC-USD"), trade(1.0, at(TUE, 18, 0), "BTC-USD"))
    saturday = market(trade(100.0, at(date(2023, 11, 18), 10, 0)))
    for state, symbol in ((regular, "X"), (crypto, "BTC-USD"), (saturday, "X")):
        s = state.get(symbol)
        assert s is not None and s.last is not None
        assert extended_move(s) is None, symbol

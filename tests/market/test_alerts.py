"""Alerts fire once at the event that crosses their level, re-arm past the hysteresis, parse."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ticktape.feed.events import Agg, Event, LimitUpLimitDown, Quote, Trade
from ticktape.market import Bar, MarketState
from ticktape.market.alerts import (
    WATCHLIST,
    Alert,
    AlertBook,
    AlertError,
    Fired,
    from_record,
    parse_phrase,
    to_record,
)
from ticktape.market.state import LULD_HALT, LULD_RESUME

#: Friday 2025-03-14 10:30:00 New York time.
T0 = 1_741_962_600_000


class Stream:
    """A state, a book, and a clock: each event is applied as one frame, then checked."""

    def __init__(self, *alerts: Alert, watchlist: Sequence[str] = ("AAPL",), is_open: bool = True):
        self.state = MarketState()
        self.book = AlertBook(
            alerts, state=self.state, watchlist=watchlist, is_open=lambda ms: is_open
        )
        self.now = T0
        self.seen = 0

    def send(self, *events: Event) -> list[Fired]:
        self.now += 1000
        self.state.apply(list(events), self.now)
        changed = self.state.changed_since(self.seen)
        self.seen = self.state.version
        return self.book.check(changed, self.now)

    def trade(self, price: float, symbol: str = "AAPL", size: int = 100) -> list[Fired]:
        return self.send(Trade(symbol=symbol, price=price, size=size, timestamp=self.now + 1000))

    def quote(self, bid: float, ask: float, symbol: str = "AAPL") -> list[Fired]:
        q = Quote(symbol=symbol, bid=bid, ask=ask, bid_size=1, ask_size=1, timestamp=self.now)
        return self.send(q)


def texts(fired: list[Fired]) -> list[str]:
    return [f.text for f in fired]


def test_above_fires_once_at_the_crossing_trade_and_rearms_after_the_band() -> None:
    s = Stream(parse_phrase("alert AAPL above 230", alert_id="1"))
    assert s.trade(229.0) == []
    assert texts(s.trade(230.01)) == ["AAPL 230.01 crossed above 230"]
    assert s.trade(231.0) == []  # still above: no second alert
    assert s.trade(229.8) == []  # back under the line, inside the 0.2 % band (229.54)
    assert s.trade(230.5) == []  # so crossing again is not news
    assert s.trade(229.5) == []  # out of the band: armed again, silently
    assert s.book.alerts[0].fired == set()
    assert texts(s.trade(230.0)) == ["AAPL 230 crossed above 230"]


def test_below_mirrors_above() -> None:
    s = Stream(parse_phrase("alert AAPL below 200", alert_id="1"))
    assert s.trade(201) == []
    assert texts(s.trade(199.99)) == ["AAPL 199.99 crossed below 200"]
    assert s.trade(200.3) == []  # inside the band (200.4)
    assert s.trade(199) == []
    assert s.trade(200.5) == []  # re-armed
    assert len(s.trade(199.5)) == 1


def test_move_from_previous_close_either_way_and_from_a_reference() -> None:
    either = parse_phrase("alert AAPL move 5%", alert_id="1")
    up = parse_phrase("alert AAPL move +5% from 205", alert_id="2")
    s = Stream(either, up)
    s.state.seed_bars("AAPL", [], prev_close=200.0)
    assert s.trade(209.0) == []  # +4.5 %
    assert texts(s.trade(189.0)) == ["AAPL 189 moved -5.50% from previous close (alert at 5%)"]
    assert s.trade(192.5) == []  # -3.75 %: back under 4 %, re-armed
    assert [f.alert_id for f in s.trade(216.0)] == ["1", "2"]  # +8 % from 200, +5.4 % from 205


def test_volume_absolute_and_times_the_usual_for_the_time_of_day() -> None:
    absolute = parse_phrase("alert AAPL volume 1k", alert_id="1")
    times = parse_phrase("alert AAPL volume 3x", alert_id="2")
    s = Stream(absolute, times)
    # Yesterday: 100 shares a minute from midnight to now's time of day.
    day = 86_400_000
    start = T0 - day - 10 * 60 * 60_000 - 30 * 60_000  # yesterday 00:00 ET
    bars = [
        Bar.from_agg(Agg(open=1, high=1, low=1, close=1, volume=100, timestamp=start + i * 60_000))
        for i in range(0, 24 * 60)
    ]
    s.state.seed_bars("AAPL", bars)
    usual = 100 * (10 * 60 + 30 + 1)  # minutes up to 10:30:01
    assert s.trade(10.0, size=900) == []
    assert texts(s.trade(10.0, size=100)) == ["AAPL volume 1.0k passed 1.0k"]
    assert s.trade(10.0, size=3 * usual - 2_000) == []
    fired = s.trade(10.0, size=1_000)
    assert [f.alert_id for f in fired] == ["2"]
    assert "3.0x the usual for the time" in fired[0].text


def test_spread_absolute_and_percent() -> None:
    s = Stream(
        parse_phrase("alert AAPL spread 0.05", alert_id="1"),
        parse_phrase("alert AAPL spread 1%", alert_id="2"),
    )
    assert s.quote(100.00, 100.04) == []
    assert texts(s.quote(100.00, 100.06)) == ["AAPL spread 0.06 wider than 0.05"]
    assert s.quote(100.00, 100.03) == []  # back, but not under half the level (0.025)
    assert s.quote(100.00, 100.06) == []  # so no flapping between ticks
    assert s.quote(100.00, 100.02) == []  # re-armed
    assert [f.alert_id for f in s.quote(100.0, 101.5)] == ["1", "2"]


def test_halt_fires_on_the_halt_and_says_the_resumption() -> None:
    s = Stream(parse_phrase("alert watchlist halt", alert_id="1"), watchlist=("AAPL", "TSLA"))
    band = LimitUpLimitDown(symbol="TSLA", high=260, low=240, timestamp=T0)
    halt = LimitUpLimitDown(symbol="TSLA", high=260, low=240, timestamp=T0, indicators=(LULD_HALT,))
    resume = LimitUpLimitDown(
        symbol="TSLA", high=260, low=240, timestamp=T0, indicators=(LULD_RESUME,)
    )
    other = LimitUpLimitDown(symbol="NVDA", high=1, low=0.5, timestamp=T0, indicators=(LULD_HALT,))
    assert s.send(band) == []
    assert s.send(other) == []  # not on the watchlist
    assert [(f.symbol, f.event, f.text) for f in s.send(halt)] == [
        ("TSLA", "fired", "TSLA trading halted")
    ]
    assert s.send(band) == []
    assert [(f.event, f.text) for f in s.send(resume)] == [("resumed", "TSLA trading resumed")]
    assert len(s.send(halt)) == 1


def test_stale_fires_on_silence_only_while_the_market_is_open() -> None:
    s = Stream(parse_phrase("alert AAPL stale 30s", alert_id="1"))
    s.trade(100)
    assert s.book.check_stale(s.now + 29_000) == []
    fired = s.book.check_stale(s.now + 31_000)
    assert texts(fired) == ["AAPL no update for 31s while the market is open (alert at 30s)"]
    assert s.book.check_stale(s.now + 60_000) == []  # once
    s.now += 60_000
    s.trade(100.5)  # data again: re-armed
    assert s.book.alerts[0].fired == set()
    closed = Stream(parse_phrase("alert AAPL stale 30s", alert_id="1"), is_open=False)
    closed.trade(100)
    assert closed.book.check_stale(closed.now + 3_600_000) == []


def test_only_changed_symbols_are_checked() -> None:
    s = Stream(watchlist=("AAPL", "MSFT"))
    s.trade(50, symbol="MSFT")
    s.book.add(parse_phrase("alert MSFT above 10"))  # already true, not yet checked
    assert s.trade(100, symbol="AAPL") == []  # MSFT did not change in this frame
    assert texts(s.trade(50, symbol="MSFT")) == ["MSFT 50 crossed above 10"]


def test_many_alerts_on_one_symbol_each_fire_at_their_own_level() -> None:
    levels = [100 + i for i in range(20)]
    s = Stream(*(parse_phrase(f"alert AAPL above {lv}", alert_id=str(lv)) for lv in levels))
    s.trade(99)
    fired = []
    for p in (100.5, 104.2, 104.9, 110, 119.99, 125, 90, 101):
        fired.append([f.alert_id for f in s.trade(p)])
    assert fired == [
        ["100"],
        ["101", "102", "103", "104"],
        [],
        [str(lv) for lv in range(105, 111)],
        [str(lv) for lv in range(111, 120)],
        [],
        [],  # all re-armed far below
        ["100", "101"],
    ]


def test_snoozed_alert_stays_silent_until_the_snooze_ends() -> None:
    s = Stream(parse_phrase("alert AAPL above 100", alert_id="1"))
    s.book.snooze("1", s.now + 10_000)
    assert s.trade(101) == []
    assert s.book.alerts[0].state(s.now) == "snoozed"
    s.now += 20_000
    assert len(s.trade(101)) == 1
    assert s.book.alerts[0].state(s.now) == "fired"


def test_distance_to_trigger() -> None:
    s = Stream(parse_phrase("alert AAPL above 110", alert_id="1"))
    s.trade(100)
    text, frac = s.book.distance(s.book.alerts[0], s.now)
    assert text == "+10.00 (+10.0%)"  # the price must still rise by 10, or 10 %
    assert frac == pytest.approx(10 / 110)


@pytest.mark.parametrize(
    ("phrase", "condition", "symbol"),
    [
        ("alert AAPL above 230", "above 230", "AAPL"),
        ("alert aapl below 1,200.5", "below 1200.5", "AAPL"),
        ("alert TSLA move 5%", "move 5%", "TSLA"),
        ("alert TSLA move -2.5% from 250", "move -2.5% from 250", "TSLA"),
        ("alert watchlist halt", "halt", WATCHLIST),
        ("alert NVDA spread 0.05", "spread 0.05", "NVDA"),
        ("alert SPY volume 3x", "volume 3x", "SPY"),
        ("alert SPY volume 2m", "volume 2000000", "SPY"),
        ("alert QQQ stale 30s", "stale 30s", "QQQ"),
        ("QQQ stale 2m", "stale 120s", "QQQ"),
    ],
)
def test_phrases(phrase: str, condition: str, symbol: str) -> None:
    alert = parse_phrase(phrase)
    assert (alert.condition(), alert.symbol) == (condition, symbol)
    assert parse_phrase(alert.phrase()).condition() == condition  # round trip


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("alert", "needs a symbol and a condition, like AAPL above 230"),
        ("alert AAPL", "what should AAPL be alerted on"),
        ("alert AAPL abvoe 230", "'abvoe' is not a condition: use above, below"),
        ("alert AAPL above", "above needs a value, like: alert AAPL above 230"),
        ("alert AAPL above abc", "above: 'abc' is not a number; give a price"),
        ("alert AAPL above -3", "must be above zero"),
        ("alert TSLA move 5", "move needs a percentage, like 5%"),
        ("alert TSLA move 5% to 3", "only 'from PRICE' may follow"),
        ("alert QQQ stale soon", "stale: 'soon' is not a time"),
        ("alert A$B above 3", "'A$B' is not a symbol"),
        ("alert AAPL halt now", "unexpected 'now'"),
    ],
)
def test_phrase_errors_say_what_is_wrong(phrase: str, message: str) -> None:
    with pytest.raises(AlertError, match=message.replace("(", r"\(").replace("$", r"\$")):
        parse_phrase(phrase)


def test_record_round_trip_keeps_state() -> None:
    alert = parse_phrase("alert TSLA move -2.5% from 250", alert_id="7")
    alert.fired = {"TSLA"}
    alert.snoozed_until_ms = T0
    alert.note = "earnings"
    alert.hysteresis = 0.5
    back = from_record(to_record(alert), "7")
    assert back == alert


def test_record_errors_name_the_key() -> None:
    with pytest.raises(AlertError, match="unknown key 'whne'"):
        from_record({"symbol": "AAPL", "whne": "above 1"}, "1")
    with pytest.raises(AlertError, match="hysteresis must be a number"):
        from_record({"symbol": "AAPL", "when": "above 1", "hysteresis": "x"}, "1")

"""The market clock's local calendar: phases, countdowns, holidays, early closes, forex, crypto."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ticktape import markethours as mh
from ticktape.markethours import DayOverride, StockCalendar, describe, reading
from ticktape.timeutil import zone

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


@pytest.mark.parametrize(
    ("at", "phase", "words"),
    [
        ("2026-12-02 03:59", "closed", "closed · opens 04:00"),
        ("2026-12-02 04:00", "pre-market", "pre-market · opens in 5h30m"),
        ("2026-12-02 08:18", "pre-market", "pre-market · opens in 1h12m"),
        ("2026-12-02 13:55", "open", "open · closes in 2h05m"),
        ("2026-12-02 16:00", "after-hours", "after-hours · ends in 4h00m"),
        ("2026-12-02 20:00", "closed", "closed · opens Thu 04:00"),
    ],
)
def test_a_regular_wednesday(at: str, phase: str, words: str) -> None:
    r = reading("stocks", et(at))
    assert r.phase == phase
    assert describe(r, et(at)) == words


def test_thanksgiving_is_closed_and_says_when_the_short_day_opens() -> None:
    r = reading("stocks", et("2026-11-26 12:00"))
    assert (r.phase, r.reason, r.next_ms) == ("closed", "Thanksgiving Day", et("2026-11-27 04:00"))
    assert describe(r, et("2026-11-26 12:00")) == (
        "closed — Thanksgiving Day · opens Fri 04:00 (early close 13:00)"
    )


def test_the_day_after_thanksgiving_closes_at_one_and_its_after_hours_at_five() -> None:
    assert reading("stocks", et("2026-11-27 12:59")).phase == "open"
    after = reading("stocks", et("2026-11-27 13:00"))
    assert (after.phase, after.next_ms) == ("after-hours", et("2026-11-27 17:00"))
    assert reading("stocks", et("2026-11-27 17:00")).phase == "closed"


def test_a_weekend_waits_for_monday() -> None:
    r = reading("stocks", et("2026-12-05 10:00"))
    assert (r.phase, r.reason, r.next_ms) == ("closed", "weekend", et("2026-12-07 04:00"))
    assert describe(r, et("2026-12-05 10:00")) == "closed — weekend · opens Mon 04:00"


def test_a_long_weekend_skips_the_holiday_monday() -> None:
    r = reading("stocks", et("2027-01-16 12:00"))  # Saturday before Martin Luther King Jr. Day
    assert r.next_ms == et("2027-01-19 04:00")


@pytest.mark.parametrize("day", ["2026-03-09", "2026-11-02"])  # first weekdays after DST changes
def test_the_bell_rings_at_half_past_nine_on_either_side_of_a_clock_change(day: str) -> None:
    assert reading("stocks", et(f"{day} 09:29")).phase == "pre-market"
    assert reading("stocks", et(f"{day} 09:30")).phase == "open"


def test_the_servers_word_wins_over_the_library() -> None:
    unscheduled = {date(2026, 12, 2): DayOverride("National Day of Mourning", closed=True)}
    r = StockCalendar(unscheduled).reading(et("2026-12-02 10:00"))
    assert (r.phase, r.reason) == ("closed", "National Day of Mourning")
    early = StockCalendar(
        {date(2026, 12, 2): DayOverride("Storm", closed=False, close_min=14 * 60)}
    )
    assert early.reading(et("2026-12-02 14:00")).phase == "after-hours"


def test_upcoming_lists_closures_and_early_closes_in_order() -> None:
    rows = StockCalendar().upcoming(et("2026-11-20 12:00"), days=40)
    assert [(d.isoformat(), hours is None) for d, _, hours in rows] == [
        ("2026-11-26", True),
        ("2026-11-27", False),
        ("2026-12-24", False),
        ("2026-12-25", True),
    ]
    assert rows[1][2] is not None and rows[1][2].close_ms == et("2026-11-27 13:00")


def test_overrides_from_server_entries() -> None:
    got = mh.overrides_from(
        [
            (date(2026, 11, 26), "Thanksgiving", "closed", None),
            (date(2026, 11, 27), "Thanksgiving", "early-close", et("2026-11-27 13:00")),
            (date(2026, 11, 28), "Odd", "open", None),
        ]
    )
    assert got == {
        date(2026, 11, 26): DayOverride("Thanksgiving", closed=True),
        date(2026, 11, 27): DayOverride("Thanksgiving", closed=False, close_min=13 * 60),
    }


@pytest.mark.parametrize(
    ("at", "phase", "next_at"),
    [
        ("2026-12-04 16:59", "open", "2026-12-04 17:00"),
        ("2026-12-04 17:00", "closed", "2026-12-06 17:00"),
        ("2026-12-05 12:00", "closed", "2026-12-06 17:00"),
        ("2026-12-06 17:00", "open", "2026-12-11 17:00"),
        ("2026-12-07 09:00", "open", "2026-12-11 17:00"),
    ],
)
def test_forex_closes_from_friday_five_to_sunday_five(at: str, phase: str, next_at: str) -> None:
    r = reading("forex", et(at))
    assert (r.phase, r.next_ms) == (phase, et(next_at))


def test_crypto_never_closes() -> None:
    r = reading("crypto", et("2026-12-25 03:00"))
    assert (r.phase, r.next_ms) == ("open", None)
    assert describe(r, et("2026-12-25 03:00")) == "open · 24/7"


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0s"), (59_999, "59s"), (60_000, "1m"), (3_600_000, "1h00m"), (50 * 3_600_000, "2d2h")],
)
def test_countdown(ms: int, text: str) -> None:
    assert mh.countdown(ms) == text

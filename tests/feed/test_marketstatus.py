"""The market clock believes the server while its word is fresh, then the calendar."""

from __future__ import annotations

from datetime import date, datetime

from ticktape.feed.marketstatus import MarketClock, MarketDay, MarketStatusNow, calendar_from
from ticktape.timeutil import zone

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


def test_without_a_server_answer_the_calendar_speaks() -> None:
    clock = MarketClock("stocks")
    assert clock.reading(et("2026-12-02 10:00")).phase == "open"
    assert not clock.from_server


def test_an_unscheduled_closure_said_by_the_server_wins_while_fresh() -> None:
    clock = MarketClock("stocks", fresh_ms=10 * 60_000)
    at = et("2026-12-02 10:00")
    clock.server_said(MarketStatusNow(market="closed"), None, at)
    r = clock.reading(at + 60_000)
    assert (r.phase, r.next_ms, r.reason) == ("closed", None, "said by the server")
    assert clock.reading(at + 11 * 60_000).phase == "open"  # stale: back to the calendar


def test_a_boundary_passing_ends_the_servers_word() -> None:
    clock = MarketClock("stocks", fresh_ms=60 * 60_000)
    at = et("2026-12-02 15:58")
    clock.server_said(MarketStatusNow(market="closed"), None, at)
    assert clock.reading(et("2026-12-02 16:01")).phase == "after-hours"


def test_extended_hours_are_told_apart_by_the_flags() -> None:
    clock = MarketClock("stocks")
    at = et("2026-12-02 10:00")
    clock.server_said(MarketStatusNow(market="extended-hours", after_hours=True), None, at)
    assert clock.reading(at).phase == "after-hours"


def test_forex_and_crypto_read_the_currencies() -> None:
    at = et("2026-12-02 10:00")
    fx = MarketClock("forex")
    fx.server_said(MarketStatusNow(currencies={"fx": "closed", "crypto": "open"}), None, at)
    assert fx.reading(at).phase == "closed"
    crypto = MarketClock("crypto")
    crypto.server_said(MarketStatusNow(currencies={"fx": "closed", "crypto": "open"}), None, at)
    assert crypto.reading(at).phase == "open"


def test_an_unreadable_date_in_the_upcoming_list_costs_only_itself() -> None:
    cal = calendar_from(
        [
            MarketDay(date="soon", name="?", status="closed"),
            MarketDay(date="2026-12-03", name="Snow", status="closed", exchange="NYSE"),
        ]
    )
    assert cal.holiday(date(2026, 12, 3)) == "Snow"

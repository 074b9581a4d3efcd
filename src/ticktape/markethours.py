"""When each market trades: NYSE sessions, holidays and early closes, forex's week, crypto always.

Pure functions of a Unix-ms instant (no I/O); the simulator serves from them and the app falls
back on them when the server's market status is out of reach. See docs/market-clock.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final, Literal

from ticktape.timeutil import EXCHANGE_TZ, zone

Phase = Literal["pre-market", "open", "after-hours", "closed"]

ET: Final = zone(EXCHANGE_TZ)
MINUTE: Final = 60_000
HOUR: Final = 60 * MINUTE
#: Minutes after ET midnight: pre-market, the opening bell, the close, the end of after-hours.
PRE_MIN: Final = 4 * 60
OPEN_MIN: Final = 9 * 60 + 30
CLOSE_MIN: Final = 16 * 60
AFTER_END_MIN: Final = 20 * 60
#: On an early-close day the bell rings at 13:00 and after-hours ends at 17:00.
EARLY_CLOSE_MIN: Final = 13 * 60
EARLY_AFTER_END_MIN: Final = 17 * 60
#: Forex: closed from Friday 17:00 to Sunday 17:00 ET.
FX_TURN_MIN: Final = 17 * 60
#: How far ahead a closed market looks for its next session (the longest NYSE closure is 4 days).
_SEARCH_DAYS: Final = 14


@dataclass(frozen=True, slots=True)
class DayOverride:
    """What the server says about one date, where it differs from an ordinary weekday."""

    name: str
    closed: bool
    close_min: int | None = None  # the early close, minutes after ET midnight


@dataclass(frozen=True, slots=True)
class DayHours:
    """One stock trading day's boundaries in Unix ms."""

    day: date
    pre_ms: int
    open_ms: int
    close_ms: int
    after_ms: int
    early_close: str | None = None  # the occasion's name on an early-close day


@dataclass(frozen=True, slots=True)
class Reading:
    """A market's phase at one instant and when it next changes.

    ``next_ms`` is None where nothing is scheduled (crypto), or where the
    server's word contradicts the calendar and the next change is unknown.
    """

    cluster: str
    phase: Phase
    next_phase: Phase | None
    next_ms: int | None
    reason: str | None = None  # why it is closed: a holiday's name, "weekend", "overnight"
    next_early_close_ms: int | None = None  # the next session's bell, where it rings early
    hours: DayHours | None = field(default=None, compare=False)  # today's, for stocks


@lru_cache(maxsize=64)
def nyse_hours(d: date) -> DayHours | None:
    """``d``'s session by the holiday library alone (no server word), cached."""
    return StockCalendar().hours(d)


def in_regular_hours(ms: int) -> bool:
    """Whether ``ms`` falls inside an NYSE regular session, by the holiday library alone
    (holidays and 13:00 early closes known; weekends and holidays have none)."""
    wall = datetime.fromtimestamp(ms / 1000, tz=ET)
    minute = wall.hour * 60 + wall.minute
    if wall.weekday() >= 5 or not OPEN_MIN <= minute < CLOSE_MIN:
        return False  # outside any session: no calendar needed (most extended-hours bars)
    hours = nyse_hours(wall.date())
    return hours is not None and hours.open_ms <= ms < hours.close_ms


def et_midnight_ms(d: date) -> int:
    """Unix ms of ET midnight starting ``d``."""
    return int(datetime(d.year, d.month, d.day, tzinfo=ET).timestamp() * 1000)


def et_date(ms: int) -> date:
    """The ET calendar date containing ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=ET).date()


def _at(d: date, minutes: int) -> int:
    # Built from the wall clock (not midnight + offset) so the DST-change days are right.
    wall = datetime(d.year, d.month, d.day, minutes // 60, minutes % 60, tzinfo=ET)
    return int(wall.timestamp() * 1000)


@lru_cache(maxsize=64)
def _nyse_year(year: int) -> tuple[Mapping[date, str], Mapping[date, str]]:
    # Imported on the first calendar question, not with the app: the library costs ~30 ms.
    import holidays

    closed = holidays.financial_holidays("NYSE", years=year)
    half = holidays.financial_holidays("NYSE", years=year, categories=("half_day",))
    return dict(closed), {d: _occasion(n) for d, n in half.items()}


def _occasion(name: str) -> str:
    # The library words half days "Christmas Eve (markets close at 1:00pm)": the bar says the time.
    return name.split(" (", 1)[0]


class StockCalendar:
    """NYSE days from the holiday library, corrected by what the server announced.

    Args:
        overrides: dates the server's upcoming list names (closed, or closing early); they win
            over the library, which may lag an unscheduled closure.
    """

    def __init__(self, overrides: Mapping[date, DayOverride] | None = None) -> None:
        self.overrides: dict[date, DayOverride] = dict(overrides or {})

    def holiday(self, d: date) -> str | None:
        """The name of the holiday that closes the market on ``d``, or None."""
        over = self.overrides.get(d)
        if over is not None:
            return over.name if over.closed else None
        return _nyse_year(d.year)[0].get(d)

    def early_close(self, d: date) -> tuple[str, int] | None:
        """``(occasion, close minute)`` if ``d`` closes early."""
        over = self.overrides.get(d)
        if over is not None:
            if over.closed or over.close_min is None:
                return None
            return over.name, over.close_min
        name = _nyse_year(d.year)[1].get(d)
        return None if name is None else (name, EARLY_CLOSE_MIN)

    def hours(self, d: date) -> DayHours | None:
        """The session of ``d``, or None on a weekend or holiday."""
        if d.weekday() >= 5 or self.holiday(d) is not None:
            return None
        early = self.early_close(d)
        close_min = CLOSE_MIN if early is None else early[1]
        after_min = AFTER_END_MIN if early is None else close_min + (EARLY_AFTER_END_MIN - 13 * 60)
        return DayHours(
            day=d,
            pre_ms=_at(d, PRE_MIN),
            open_ms=_at(d, OPEN_MIN),
            close_ms=_at(d, close_min),
            after_ms=_at(d, after_min),
            early_close=None if early is None else early[0],
        )

    def next_session(self, after: date) -> DayHours:
        """The first trading day strictly after ``after``."""
        d = after
        for _ in range(_SEARCH_DAYS):
            d += timedelta(days=1)
            hours = self.hours(d)
            if hours is not None:
                return hours
        raise ValueError(f"no NYSE session within {_SEARCH_DAYS} days of {after}")

    def closed_reason(self, d: date) -> str:
        """Why there is no session on ``d``: the holiday's name, or "weekend"."""
        return self.holiday(d) or "weekend"

    def reading(self, ms: int) -> Reading:
        """The stock market's phase at ``ms``."""
        today = et_date(ms)
        hours = self.hours(today)
        if hours is not None:
            steps: tuple[tuple[int, Phase], ...] = (
                (hours.pre_ms, "pre-market"),
                (hours.open_ms, "open"),
                (hours.close_ms, "after-hours"),
                (hours.after_ms, "closed"),
            )
            phase: Phase = "closed"
            for start, name in steps:
                if ms < start:
                    # Before the bell of a short day (overnight or pre-market), say when it rings.
                    before_bell = name in ("pre-market", "open")
                    early = hours.close_ms if hours.early_close and before_bell else None
                    reason = "overnight" if phase == "closed" else None
                    return Reading("stocks", phase, name, start, reason, early, hours)
                phase = name
        upcoming = self.next_session(today)
        reason = "overnight" if hours is not None else self.closed_reason(today)
        early = upcoming.close_ms if upcoming.early_close else None
        return Reading("stocks", "closed", "pre-market", upcoming.pre_ms, reason, early, hours)

    def upcoming(self, ms: int, days: int = 120) -> list[tuple[date, str, DayHours | None]]:
        """Closures and early closes from the ET date of ``ms`` on: ``(date, name, hours)``.

        ``hours`` is None for a closed day, the shortened session for an early close.
        """
        start = et_date(ms)
        out: list[tuple[date, str, DayHours | None]] = []
        for n in range(days):
            d = start + timedelta(days=n)
            if d.weekday() >= 5:
                continue
            name = self.holiday(d)
            if name is not None:
                out.append((d, name, None))
                continue
            early = self.early_close(d)
            if early is not None:
                out.append((d, early[0], self.hours(d)))
        return out


def forex_reading(ms: int) -> Reading:
    """Forex trades around the clock from Sunday 17:00 to Friday 17:00 ET."""
    now = datetime.fromtimestamp(ms / 1000, tz=ET)
    day = now.date()
    minute = now.hour * 60 + now.minute
    weekday = day.weekday()  # Monday 0 … Sunday 6
    closed = (
        (weekday == 4 and minute >= FX_TURN_MIN)
        or weekday == 5
        or (weekday == 6 and minute < FX_TURN_MIN)
    )
    if closed:
        sunday = day + timedelta(days=(6 - weekday) % 7)
        return Reading("forex", "closed", "open", _at(sunday, FX_TURN_MIN), "weekend")
    friday = day + timedelta(days=(4 - weekday) % 7)
    return Reading("forex", "open", "closed", _at(friday, FX_TURN_MIN))


def crypto_reading(ms: int) -> Reading:  # one signature for every market
    """Crypto never closes."""
    return Reading("crypto", "open", None, None)


_DEFAULT = StockCalendar()


def reading(cluster: str, ms: int, calendar: StockCalendar | None = None) -> Reading:
    """The phase of ``cluster`` ("stocks", "forex" or "crypto") at ``ms``."""
    if cluster == "forex":
        return forex_reading(ms)
    if cluster == "crypto":
        return crypto_reading(ms)
    return (calendar or _DEFAULT).reading(ms)


def overrides_from(entries: Iterable[tuple[date, str, str, int | None]]) -> dict[date, DayOverride]:
    """Server holiday entries ``(date, name, status, close_ms)`` → calendar overrides.

    ``status`` is "closed" or "early-close"; an early close without a close time is taken
    as the usual 13:00.
    """
    out: dict[date, DayOverride] = {}
    for d, name, status, close_ms in entries:
        if status == "closed":
            out[d] = DayOverride(name, closed=True)
        elif status == "early-close":
            close_min = EARLY_CLOSE_MIN
            if close_ms is not None:
                wall = datetime.fromtimestamp(close_ms / 1000, tz=ET)
                close_min = wall.hour * 60 + wall.minute
            out[d] = DayOverride(name, closed=False, close_min=close_min)
    return out


def countdown(ms: int) -> str:
    """``45s``, ``12m``, ``1h12m``, ``2d3h``: a coarse time left."""
    s = max(0, ms) // 1000
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h}h"


_VERB: Final[dict[Phase, str]] = {
    "pre-market": "opens",
    "open": "closes",
    "after-hours": "ends",
    "closed": "opens",
}


def describe(r: Reading, now_ms: int) -> str:
    """The status bar's words: ``open · closes in 2h05m``, ``closed — Thanksgiving Day · …``."""
    if r.next_ms is None:
        if r.cluster == "crypto":
            return "open · 24/7"
        return f"{r.phase} — {r.reason}" if r.reason else r.phase
    left = r.next_ms - now_ms
    if r.phase != "closed":
        verb = _VERB[r.phase]
        if r.cluster == "forex":
            verb = "closes"
        text = f"{r.phase} · {verb} in {countdown(left)}"
        if r.next_early_close_ms is not None:
            text += f" (early close {_wall(r.next_early_close_ms):%H:%M})"
        return text
    head = "closed" if r.reason in (None, "overnight") else f"closed — {r.reason}"
    when = _wall(r.next_ms)
    at = f"{when:%H:%M}" if when.date() == _wall(now_ms).date() else f"{when:%a %H:%M}"
    tail = f" · opens {at}"
    if r.next_early_close_ms is not None:
        tail += f" (early close {_wall(r.next_early_close_ms):%H:%M})"
    return head + tail


def _wall(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=ET)

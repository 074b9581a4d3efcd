"""A stock's move outside regular hours, beside the regular session's, as brokers show it.

After the close the day's change stays the regular session's and ``AH`` measures from the
regular close; before the open ``PM`` measures from the previous close. See docs/market-clock.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from ticktape.market.symbol import SymbolState, has_sessions
from ticktape.markethours import DayHours, et_date
from ticktape.markethours import nyse_hours as _hours

#: How far back a pre-market looks for the previous session (a long weekend plus holidays).
_BACK_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class ExtendedMove:
    """``label`` is ``PM`` or ``AH``; the regular session's change is known after hours only."""

    label: str
    change_pct: float
    regular_change: float | None
    regular_change_pct: float | None


def _previous_session(d: date) -> DayHours | None:
    for back in range(1, _BACK_DAYS + 1):
        hours = _hours(d - timedelta(days=back))
        if hours is not None:
            return hours
    return None


def _regular_close(s: SymbolState, hours: DayHours | None) -> float | None:
    # The one rule of every close (MinuteBars.regular_close): the session's last regular minute,
    # whose bars follow the consolidated rules of feed/conditions.py (Form T never sets it).
    return None if hours is None else s.minutes.regular_close(hours.open_ms)


def _pct(change: float, base: float) -> float:
    return change / base * 100.0


def extended_move(s: SymbolState) -> ExtendedMove | None:
    """The move of a stock whose last trade was before the open or after the close, or None.

    Forex and crypto trade around the clock and have no extended hours; a stock's last
    price at a regular-hours instant (or on a day without a session) gives None too.
    """
    last, t = s.last, s.last_ms
    if last is None or not t or not has_sessions(s.symbol):
        return None
    today = _hours(et_date(t))
    if today is None or today.open_ms <= t < today.close_ms:
        return None
    prev = s.prev_close
    if t >= today.close_ms:
        close = _regular_close(s, today)
        if not close:
            return None
        change = None if prev is None else close - prev
        pct = None if change is None or not prev else _pct(change, prev)
        return ExtendedMove("AH", _pct(last - close, close), change, pct)
    base = _regular_close(s, _previous_session(today.day)) or prev
    if not base:
        return None
    # Before the open there is no session of today's to keep: the day's cells stay as they are.
    return ExtendedMove("PM", _pct(last - base, base), None, None)

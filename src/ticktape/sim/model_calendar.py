"""The simulated calendar: when each cluster trades, and how busy each minute is.

See docs/simulator.md.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Final

from ticktape.timeutil import EXCHANGE_TZ, zone

ET: Final = zone(EXCHANGE_TZ)
MINUTE: Final = 60_000
HOUR: Final = 3_600_000
DAY: Final = 86_400_000

#: Length of a full session: a segment's share of it scales its volatility and volume.
FULL_SESSION_MS: Final = {"stocks": 16 * HOUR, "forex": DAY, "crypto": DAY}


@lru_cache(maxsize=8192)
def day_start(d: date) -> int:
    """Unix ms of ET midnight starting ``d``."""
    return int(datetime(d.year, d.month, d.day, tzinfo=ET).timestamp() * 1000)


def et_date(ms: int) -> date:
    """The ET calendar date containing ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=ET).date()


def utc_offset_ms(ms: int) -> int:
    """ET's offset from UTC at ``ms``, in ms (negative)."""
    off = datetime.fromtimestamp(ms / 1000, tz=ET).utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def local_minute(ms: int) -> int:
    """Minute of the ET day (0–1439) at ``ms``."""
    return (ms + utc_offset_ms(ms)) // MINUTE % 1440


def session(cluster: str, d: date) -> tuple[int, int] | None:
    """``(start_ms, end_ms)`` of ``cluster``'s trading on ET date ``d``, or None if closed."""
    if cluster == "stocks":
        if d.weekday() >= 5:
            return None
        midnight = day_start(d)
        return midnight + 4 * HOUR, midnight + 20 * HOUR
    if cluster == "forex" and d.weekday() >= 5:
        return None
    return day_start(d), day_start(d + timedelta(days=1))


def regular_hours(d: date) -> tuple[int, int]:
    """The 09:30–16:00 ET core session of ``d`` (trades outside it carry Form T, code 12)."""
    midnight = day_start(d)
    return midnight + 9 * HOUR + 30 * MINUTE, midnight + 16 * HOUR


def _stock_weight(m: int) -> float:
    if m < 4 * 60 or m >= 20 * 60:
        return 0.25  # only inside the simulator's always-open lead-in
    if m < 9 * 60 + 30:
        return 0.06
    if m >= 16 * 60:
        return 0.08
    since_open, to_close = m - (9 * 60 + 30), 16 * 60 - m
    return 1.0 + 2.5 * math.exp(-since_open / 17) + 1.5 * math.exp(-to_close / 14)


def _forex_weight(m: int) -> float:
    if 8 * 60 <= m < 12 * 60:
        return 1.8  # London / New York overlap
    if 3 * 60 <= m < 8 * 60:
        return 1.3
    return 0.5 if 17 * 60 <= m < 20 * 60 else 1.0


def _crypto_weight(m: int) -> float:
    return 1.3 if 9 * 60 <= m < 17 * 60 else 1.0


#: Relative activity of each ET minute of the day, per cluster.
PROFILE: Final[dict[str, list[float]]] = {
    "stocks": [_stock_weight(m) for m in range(1440)],
    "forex": [_forex_weight(m) for m in range(1440)],
    "crypto": [_crypto_weight(m) for m in range(1440)],
}
_PREFIX: Final[dict[str, list[float]]] = {
    c: list(accumulate(w, initial=0.0)) for c, w in PROFILE.items()
}


def activity(cluster: str, start_ms: int, end_ms: int) -> float:
    """Summed :data:`PROFILE` weight of the minutes in ``[start_ms, end_ms)``, in O(1).

    Used to give a stretch of time its share of a day's volume and variance.
    """
    prefix = _PREFIX[cluster]
    first = local_minute(start_ms)
    n = (end_ms - start_ms) // MINUTE
    days, rest = divmod(n, 1440)
    total: float = days * prefix[1440]
    if first + rest <= 1440:
        return total + prefix[first + rest] - prefix[first]
    return total + prefix[1440] - prefix[first] + prefix[first + rest - 1440]

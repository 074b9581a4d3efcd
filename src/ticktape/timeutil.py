"""Time helpers: wire timestamps (ms, µs or ns, by magnitude) → Unix ms → aware datetimes.

See docs/protocol.md (units).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

#: Display zone for US equities (and the zone of daily bar timestamps).
EXCHANGE_TZ = "America/New_York"

# Unix ms passes 1e14 in the year 5138; µs passes it in 1973; ns in 1970.
_US_THRESHOLD = 100_000_000_000_000  # 1e14: larger values are µs or ns
_NS_THRESHOLD = 100_000_000_000_000_000  # 1e17: larger values are ns


#: Wire times in ms lie in ``[0, MS_END)``: from 1970 to the year 5138, where
#: :func:`normalize_ms` starts to read values as µs. Anything else has no date to show.
MS_END = _US_THRESHOLD


def normalize_ms(t: int) -> int:
    """Return Unix milliseconds for a timestamp in s, ms, µs or ns, judged by magnitude."""
    if t >= _NS_THRESHOLD:
        return t // 1_000_000
    if t >= _US_THRESHOLD:
        return t // 1_000
    if 0 < t < 100_000_000_000:  # before 1973 in ms: it was seconds
        return t * 1_000
    return t


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    """A cached ``ZoneInfo`` (``"UTC"`` gives :data:`datetime.UTC`)."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def ms_to_utc(ms: int) -> datetime:
    """Unix ms → aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def ms_to_zone(ms: int, tz: str = EXCHANGE_TZ) -> datetime:
    """Unix ms → aware datetime in ``tz`` (the exchange zone by default)."""
    return datetime.fromtimestamp(ms / 1000, tz=zone(tz))


def utc_to_ms(dt: datetime) -> int:
    """Aware datetime → Unix ms (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def format_hms_ms(ms: int, tz: str = EXCHANGE_TZ) -> str:
    """``HH:MM:SS.mmm`` in ``tz``, as the tape shows it."""
    dt = ms_to_zone(ms, tz)
    return f"{dt:%H:%M:%S}.{ms % 1000:03d}"


def wall_clock_ms() -> int:
    """Now, in Unix milliseconds (the app's clock unless one is injected)."""
    return time.time_ns() // 1_000_000

"""Time helpers: unit normalisation by magnitude, and exchange-zone display across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticktape.timeutil import format_hms_ms, ms_to_utc, ms_to_zone, normalize_ms, utc_to_ms, zone

MS = 1_601_316_752_683  # 2020-09-28T18:12:32.683Z


@pytest.mark.parametrize(
    ("raw", "unit"),
    [
        (1_601_316_752, "s"),
        (MS, "ms"),
        (1_601_316_752_683_746, "µs"),  # the spec's LULD example
        (1_601_316_752_683_746_123, "ns"),  # NOI-style
    ],
)
def test_normalize_ms_by_magnitude(raw: int, unit: str) -> None:
    expected = MS if unit != "s" else 1_601_316_752_000
    assert normalize_ms(raw) == expected


@pytest.mark.parametrize(
    "when",
    [datetime(1973, 3, 4, tzinfo=UTC), datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)],
    ids=["1973", "2001"],
)
def test_every_unit_agrees_for_dates_since_1973(when: datetime) -> None:
    ms = utc_to_ms(when)
    assert {normalize_ms(ms // 1000), normalize_ms(ms), normalize_ms(ms * 1000)} == {ms}
    assert normalize_ms(ms * 1_000_000) == ms


def test_zero_means_no_timestamp() -> None:
    assert normalize_ms(0) == 0


def test_ms_to_utc_is_aware_and_round_trips() -> None:
    dt = ms_to_utc(MS)
    assert dt == datetime(2020, 9, 28, 18, 12, 32, 683000, tzinfo=UTC)
    assert dt.utcoffset() == timedelta(0)
    assert utc_to_ms(dt) == MS


def test_naive_datetimes_are_taken_as_utc() -> None:
    assert utc_to_ms(datetime(2020, 9, 28, 18, 12, 32, 683000)) == MS


@pytest.mark.parametrize(
    ("utc", "local", "offset_h"),
    [
        # 2024-03-10: clocks jump 02:00 EST → 03:00 EDT (07:00 UTC).
        (datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC), "01:59:59", -5),
        (datetime(2024, 3, 10, 7, 0, 0, tzinfo=UTC), "03:00:00", -4),
        # 2024-11-03: clocks fall back 02:00 EDT → 01:00 EST (06:00 UTC).
        (datetime(2024, 11, 3, 5, 59, 59, tzinfo=UTC), "01:59:59", -4),
        (datetime(2024, 11, 3, 6, 0, 0, tzinfo=UTC), "01:00:00", -5),
        # The opening bell in summer and in winter.
        (datetime(2024, 7, 1, 13, 30, tzinfo=UTC), "09:30:00", -4),
        (datetime(2024, 1, 2, 14, 30, tzinfo=UTC), "09:30:00", -5),
    ],
)
def test_exchange_zone_follows_dst(utc: datetime, local: str, offset_h: int) -> None:
    dt = ms_to_zone(utc_to_ms(utc))
    assert f"{dt:%H:%M:%S}" == local
    assert dt.utcoffset() == timedelta(hours=offset_h)
    # Same instant, only the display zone differs. (Compare timestamps: PEP 495 makes ==
    # across zones False for a time inside the autumn fold.)
    assert dt.timestamp() == utc.timestamp()


def test_zone_is_configurable() -> None:
    ms = utc_to_ms(datetime(2024, 7, 1, 13, 30, tzinfo=UTC))
    assert f"{ms_to_zone(ms, 'Europe/London'):%H:%M}" == "14:30"
    assert f"{ms_to_zone(ms, 'utc'):%H:%M}" == "13:30"
    assert zone("UTC") is UTC


def test_format_hms_ms_shows_milliseconds_in_the_exchange_zone() -> None:
    assert format_hms_ms(MS) == "14:12:32.683"  # EDT
    assert format_hms_ms(MS, "UTC") == "18:12:32.683"
    assert format_hms_ms(utc_to_ms(datetime(2024, 1, 2, 14, 30, tzinfo=UTC))) == "09:30:00.000"

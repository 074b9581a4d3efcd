"""The sale-condition table: flags per condition, extended-hours rules, regular hours, the cache."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ticktape.feed.conditions import (
    ALL_FLAGS,
    CONDITIONS,
    ID_SHIFT,
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    ConditionCache,
    bar_flags,
    condition_name,
    extended_flags_for,
    flags_for,
    is_odd_lot,
    is_regular_hours,
    trade_code,
)

T0 = 1_700_000_040_000  # a minute boundary: Tue 2023-11-14 17:14 ET, after hours
T_REGULAR = 1_699_983_000_000  # Tue 2023-11-14 12:30 ET
VOL = UPDATES_VOLUME


@pytest.mark.parametrize(
    ("conditions", "last", "high_low", "volume"),
    [
        ((), True, True, True),  # regular sale
        ((0,), True, True, True),
        ((14,), True, True, True),  # intermarket sweep
        ((14, 41), True, True, True),  # ISO + trade-through exempt
        ((37,), False, False, True),  # odd lot: volume only
        ((14, 37), False, False, True),  # one "no" wins
        ((12,), False, False, True),  # form T / extended hours
        ((2,), False, False, True),  # average price
        ((7,), False, False, True),  # cash sale
        ((20,), False, False, True),  # next day
        ((21,), False, False, True),  # price variation
        ((22,), False, True, True),  # prior reference price: high/low, not last
        ((32,), False, True, True),  # sold out of sequence (late)
        ((29,), False, False, True),  # seller
        ((52,), False, False, True),  # contingent
        ((53,), False, False, True),  # qualified contingent
        ((15,), False, False, False),  # market center official close: a marker
        ((16,), False, False, False),  # market center official open
        ((38,), True, True, False),  # corrected consolidated close: no volume
        ((999,), True, True, True),  # unknown ids do not freeze the last price
    ],
)
def test_condition_flags(
    conditions: tuple[int, ...], last: bool, high_low: bool, volume: bool
) -> None:
    flags = flags_for(conditions)
    assert bool(flags & UPDATES_LAST) is last
    assert bool(flags & UPDATES_HIGH_LOW) is high_low
    assert bool(flags & UPDATES_VOLUME) is volume


@pytest.mark.parametrize(
    ("conditions", "extended"),
    [
        ((12,), ALL_FLAGS),  # Form T prices an extended-hours minute bar
        ((12, 14), ALL_FLAGS),
        ((12, 37), VOL),  # ... unless another condition forbids it
        ((12, 2), VOL),
        ((37,), VOL),
        ((), ALL_FLAGS),
    ],
)
def test_extended_hours_minute_rules(conditions: tuple[int, ...], extended: int) -> None:
    assert extended_flags_for(conditions) == extended
    code = trade_code(conditions)
    assert bar_flags(code, T0) == extended
    assert bar_flags(code, T_REGULAR) == flags_for(conditions)


@pytest.mark.parametrize(
    ("et", "regular"),
    [
        ("2023-11-14T09:29:59.999", False),
        ("2023-11-14T09:30:00", True),
        ("2023-11-14T15:59:59.999", True),
        ("2023-11-14T16:00:00", False),
        ("2023-07-14T09:30:00", True),  # summer time: a different UTC offset
        ("2023-07-14T16:00:00", False),
        ("2023-03-12T10:00:00", True),  # the day clocks change
    ],
)
def test_regular_hours_in_exchange_time(et: str, regular: bool) -> None:
    t = int(datetime.fromisoformat(et).replace(tzinfo=ZoneInfo("America/New_York")).timestamp())
    assert is_regular_hours(t * 1000 + int(et.endswith(".999")) * 999) is regular


def test_table_names_and_odd_lot() -> None:
    assert CONDITIONS[37].name == "Odd Lot Trade"
    assert condition_name(12) == "Form T/Extended Hours"
    assert condition_name(1234) == "#1234"
    assert is_odd_lot((14, 37)) and not is_odd_lot((14,))


def test_condition_cache_is_bounded_but_exact() -> None:
    cache = ConditionCache(limit=3)
    a = cache.intern((37,))
    b = cache.intern((12, 37))
    assert cache.tuples[a >> ID_SHIFT] == (37,) and cache.tuples[b >> ID_SHIFT] == (12, 37)
    full = cache.intern((22,))  # past the limit: not interned, flags still right
    assert full >> ID_SHIFT == 0 and full == trade_code((22,))
    assert full & ALL_FLAGS == flags_for((22,))
    assert (22,) not in cache.lookup

"""SIP sale conditions: whether a trade may move the last price, the high/low, the volume.

The one table both the market state and the simulator use. See docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final, NamedTuple

from ticktape.timeutil import EXCHANGE_TZ, zone

#: Bit flags: what a trade may update.
UPDATES_LAST: Final = 1
UPDATES_HIGH_LOW: Final = 2
UPDATES_VOLUME: Final = 4
ALL_FLAGS: Final = UPDATES_LAST | UPDATES_HIGH_LOW | UPDATES_VOLUME

#: A trade *code* packs both flag sets and an interned id (see :class:`ConditionCache`):
#: bits 0-2 :func:`flags_for`, bits 3-5 :func:`extended_flags_for`, the id from bit 6.
EXTENDED_SHIFT: Final = 3
ID_SHIFT: Final = 6
#: The code of a trade with no conditions.
ALL_CODE: Final = ALL_FLAGS | ALL_FLAGS << EXTENDED_SHIFT

#: Polygon's id for Form T / extended hours (a trade executed outside 09:30-16:00 ET).
FORM_T: Final = 12
#: Polygon's id for the odd-lot condition (fewer than 100 shares).
ODD_LOT: Final = 37
#: Intermarket sweep order.
ISO: Final = 14


class Condition(NamedTuple):
    """One sale condition: Polygon id, name, and the consolidated update rules."""

    id: int
    name: str
    updates_high_low: bool
    updates_last: bool
    updates_volume: bool

    @property
    def flags(self) -> int:
        return (
            (UPDATES_LAST if self.updates_last else 0)
            | (UPDATES_HIGH_LOW if self.updates_high_low else 0)
            | (UPDATES_VOLUME if self.updates_volume else 0)
        )


_Y, _N = True, False

#: Polygon sale-condition id → rules (consolidated processing guidelines).
CONDITIONS: Final[dict[int, Condition]] = {
    c.id: c
    for c in (
        Condition(0, "Regular Sale", _Y, _Y, _Y),
        Condition(1, "Acquisition", _Y, _Y, _Y),
        Condition(2, "Average Price Trade", _N, _N, _Y),
        Condition(3, "Automatic Execution", _Y, _Y, _Y),
        Condition(4, "Bunched Trade", _Y, _Y, _Y),
        Condition(5, "Bunched Sold Trade", _Y, _N, _Y),
        Condition(6, "CAP Election", _Y, _Y, _Y),
        Condition(7, "Cash Sale", _N, _N, _Y),
        Condition(8, "Closing Prints", _Y, _Y, _Y),
        Condition(9, "Cross Trade", _Y, _Y, _Y),
        Condition(10, "Derivatively Priced", _Y, _N, _Y),
        Condition(11, "Distribution", _Y, _Y, _Y),
        Condition(12, "Form T/Extended Hours", _N, _N, _Y),
        Condition(13, "Extended Hours (Sold Out Of Sequence)", _N, _N, _Y),
        Condition(14, "Intermarket Sweep", _Y, _Y, _Y),
        Condition(15, "Market Center Official Close", _N, _N, _N),
        Condition(16, "Market Center Official Open", _N, _N, _N),
        Condition(17, "Market Center Opening Trade", _Y, _Y, _Y),
        Condition(18, "Market Center Reopening Trade", _Y, _Y, _Y),
        Condition(19, "Market Center Closing Trade", _Y, _Y, _Y),
        Condition(20, "Next Day", _N, _N, _Y),
        Condition(21, "Price Variation Trade", _N, _N, _Y),
        Condition(22, "Prior Reference Price", _Y, _N, _Y),
        Condition(23, "Rule 155 Trade (AMEX)", _Y, _Y, _Y),
        Condition(24, "Rule 127 (NYSE Only)", _Y, _Y, _Y),
        Condition(25, "Opening Prints", _Y, _Y, _Y),
        Condition(27, "Stopped Stock (Regular Trade)", _Y, _Y, _Y),
        Condition(28, "Re-Opening Prints", _Y, _Y, _Y),
        Condition(29, "Seller", _N, _N, _Y),
        Condition(30, "Sold Last", _Y, _Y, _Y),
        Condition(31, "Sold Last and Stopped Stock", _Y, _Y, _Y),
        Condition(32, "Sold (Out Of Sequence)", _Y, _N, _Y),
        Condition(33, "Sold (Out of Sequence) and Stopped Stock", _Y, _N, _Y),
        Condition(34, "Split Trade", _Y, _Y, _Y),
        Condition(35, "Stock Option", _Y, _Y, _Y),
        Condition(36, "Yellow Flag Regular Trade", _Y, _Y, _Y),
        Condition(37, "Odd Lot Trade", _N, _N, _Y),
        Condition(38, "Corrected Consolidated Close (per listing market)", _Y, _Y, _N),
        Condition(41, "Trade Thru Exempt", _Y, _Y, _Y),
        Condition(52, "Contingent Trade", _N, _N, _Y),
        Condition(53, "Qualified Contingent Trade", _N, _N, _Y),
        Condition(55, "Opening Reopening Trade Detail", _Y, _Y, _Y),
    )
}

#: Flags for each id, for the hot path (plain dict lookup, no attribute access).
_FLAGS: Final[dict[int, int]] = {i: c.flags for i, c in CONDITIONS.items()}


def flags_for(conditions: tuple[int, ...]) -> int:
    """What a trade with these condition ids may update (``UPDATES_*`` bits), by the
    consolidated rules: the day's figures, and minute bars in regular hours."""
    flags = ALL_FLAGS
    for code in conditions:
        flags &= _FLAGS.get(code, ALL_FLAGS)
    return flags


def extended_flags_for(conditions: tuple[int, ...]) -> int:
    """What the trade may update in a minute bar outside regular hours: Form T withholds nothing."""
    flags = ALL_FLAGS
    for code in conditions:
        if code != FORM_T:
            flags &= _FLAGS.get(code, ALL_FLAGS)
    return flags


def trade_code(conditions: tuple[int, ...]) -> int:
    """Both flag sets of a trade in one int (id bits zero)."""
    return flags_for(conditions) | extended_flags_for(conditions) << EXTENDED_SHIFT


_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000
_REGULAR_OPEN: Final = (9 * 60 + 30) * 60_000  # ms after local midnight
_REGULAR_CLOSE: Final = 16 * _HOUR_MS
_offsets: dict[int, int] = {}  # UTC hour → exchange zone's UTC offset in ms


def _offset(time_ms: int) -> int:
    """The exchange zone's UTC offset at ``time_ms``, cached by UTC hour (offsets change on
    the hour), as extended-hours trades ask one by one."""
    hour = time_ms // _HOUR_MS
    offset = _offsets.get(hour)
    if offset is None:
        if len(_offsets) > 100_000:
            _offsets.clear()
        delta = datetime.fromtimestamp(hour * 3600, tz=zone(EXCHANGE_TZ)).utcoffset()
        offset = _offsets[hour] = int(delta.total_seconds() * 1000) if delta else 0
    return offset


def is_regular_hours(time_ms: int) -> bool:
    """Whether ``time_ms`` falls in 09:30-16:00 exchange time (any weekday; no holiday list)."""
    return _REGULAR_OPEN <= (time_ms + _offset(time_ms)) % _DAY_MS < _REGULAR_CLOSE


def regular_session(time_ms: int) -> tuple[int, int]:
    """The 09:30 and 16:00 instants (Unix ms) of the exchange-zone day holding ``time_ms``."""
    offset = _offset(time_ms)
    midnight = time_ms - (time_ms + offset) % _DAY_MS
    return midnight + _REGULAR_OPEN, midnight + _REGULAR_CLOSE


def regular_close(bars: Iterable[tuple[int, float]]) -> float | None:
    """A day's regular-session close from its minute bars, ``(start_ms, close)`` newest first.

    The one rule for every close and previous close (the app's state, its history, the movers
    board, the simulator's daily bars and snapshots): the close of the newest minute that starts
    in regular hours. Those minutes follow the consolidated rules above, so only a trade that
    may set the last price (never Form T, never an odd lot) sets it. None without such a minute.
    """
    for start, close in bars:
        if is_regular_hours(start):
            return close
    return None


def bar_flags(code: int, time_ms: int) -> int:
    """What a trade (by its :func:`trade_code`) may update in the minute bar it falls in,
    and so whether it may move the last price."""
    flags = code & ALL_FLAGS
    extended = code >> EXTENDED_SHIFT & ALL_FLAGS
    if extended != flags and not is_regular_hours(time_ms):
        return extended
    return flags


def is_odd_lot(conditions: tuple[int, ...]) -> bool:
    """True when the trade is flagged as an odd lot (fewer than 100 shares)."""
    return ODD_LOT in conditions


def condition_name(code: int) -> str:
    """Readable name for an id (``"#99"`` for ids not in the table)."""
    c = CONDITIONS.get(code)
    return c.name if c is not None else f"#{code}"


class ConditionCache:
    """Interns condition tuples: tuple → ``(id << ID_SHIFT) | trade_code``, and id → tuple.

    The tape stores a small id per trade instead of the tuple, so nothing
    decoded is kept alive (see ticktape.market.tape), and the flags come from the same
    dict lookup. Bounded: past ``limit`` distinct tuples (only a hostile or
    broken feed gets there) new tuples get id 0 — their flags are still
    exact, only the tape loses their condition list.
    """

    __slots__ = ("limit", "lookup", "tuples")

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.tuples: list[tuple[int, ...]] = [()]
        self.lookup: dict[tuple[int, ...], int] = {(): ALL_CODE}

    def intern(self, conditions: tuple[int, ...]) -> int:
        """Code for a tuple not yet in :attr:`lookup` (the hot path tries the dict first)."""
        flags = trade_code(conditions)
        if len(self.tuples) >= self.limit:
            return flags
        code = (len(self.tuples) << ID_SHIFT) | flags
        self.tuples.append(conditions)
        self.lookup[conditions] = code
        return code


__all__ = [
    "ALL_CODE",
    "ALL_FLAGS",
    "CONDITIONS",
    "EXTENDED_SHIFT",
    "FORM_T",
    "ID_SHIFT",
    "ISO",
    "ODD_LOT",
    "UPDATES_HIGH_LOW",
    "UPDATES_LAST",
    "UPDATES_VOLUME",
    "Condition",
    "ConditionCache",
    "bar_flags",
    "condition_name",
    "extended_flags_for",
    "flags_for",
    "is_odd_lot",
    "is_regular_hours",
    "regular_close",
    "regular_session",
    "trade_code",
]

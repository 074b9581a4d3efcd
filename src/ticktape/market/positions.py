"""Positions and P&L: lots per symbol, and what they are worth at a price. Pure math.

Day P&L counts from the previous close for lots held before today and from
their cost for lots opened today, so it stays right across a day boundary.
See docs/positions.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final


class LotError(ValueError):
    """A lot that cannot be taken (the message names what was wrong)."""


@dataclass(frozen=True, slots=True)
class Lot:
    """``quantity`` units bought at ``price`` (negative: sold short); fractional for crypto."""

    symbol: str
    quantity: float
    price: float
    opened: date | None = None  # None: held since before any day that matters
    note: str = ""

    @property
    def cost(self) -> float:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Pnl:
    """A position (or a total) at one price; None where the figure cannot be known yet."""

    quantity: float
    cost: float  # what the lots cost, signed (short lots are negative)
    avg_cost: float | None
    market_value: float | None
    day_pnl: float | None
    total_pnl: float | None

    @property
    def total_pct(self) -> float | None:
        """Total P&L as a percentage of what was paid (of the absolute cost basis)."""
        if self.total_pnl is None or not self.cost:
            return None
        return self.total_pnl / abs(self.cost) * 100.0


def position(lots: Sequence[Lot], last: float | None, prev_close: float | None, today: date) -> Pnl:
    """The P&L of ``lots`` (one symbol's) at ``last``.

    A lot opened ``today`` (or, by a clock skew, later) makes its day P&L from its
    cost; an older lot (or one without a date) from ``prev_close``. Without a
    previous close the day P&L of older lots is unknown, so the day figure is None.
    """
    quantity = math.fsum(lot.quantity for lot in lots)
    cost = math.fsum(lot.cost for lot in lots)
    avg = cost / quantity if quantity else None
    if last is None or not lots:
        return Pnl(quantity, cost, avg, None, None, None)
    value = quantity * last
    day: float | None = 0.0
    for lot in lots:
        new = lot.opened is not None and lot.opened >= today
        base = lot.price if new else prev_close
        if base is None or day is None:
            day = None
            continue
        day += lot.quantity * (last - base)
    return Pnl(quantity, cost, avg, value, day, value - cost)


def totals(positions: Iterable[Pnl]) -> Pnl:
    """The sum of positions: value, day and total P&L add up; a figure any position lacks
    is left out of the sum (the total of what is known), quantity and average are not
    meaningful across symbols (0 and None)."""
    items = list(positions)

    def add(values: Iterable[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return math.fsum(known) if known else None

    return Pnl(
        0.0,
        math.fsum(abs(p.cost) for p in items if p.market_value is not None),
        None,
        add(p.market_value for p in items),
        add(p.day_pnl for p in items),
        add(p.total_pnl for p in items),
    )


# -- the `p` form's phrase -------------------------------------------------------------------

LOT_USAGE: Final = (
    "QTY @ PRICE [YYYY-MM-DD] [note] adds a lot · #N QTY @ PRICE … replaces lot N · #N delete"
)
_NUMBER: Final = re.compile(r"[+-]?(\d[\d,_]*\.?\d*|\.\d+)")


def number(text: str, what: str) -> float:
    """A finite number (``1,234.5`` and ``1_000`` too), or a LotError naming ``what``."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise LotError(f"{what} {text!r} is not a number")
    value = float(text.replace(",", "").replace("_", ""))
    if not math.isfinite(value):
        raise LotError(f"{what} {text!r} is not a number")
    return value


def make_lot(
    symbol: str, quantity: float, price: float, opened: date | None = None, note: str = ""
) -> Lot:
    """A checked lot: a quantity that is not zero, a price above zero, one-line note."""
    if quantity == 0:
        raise LotError("quantity must not be 0")
    if price <= 0:
        raise LotError(f"price must be above 0 (got {price:g})")
    note = " ".join(note.split())
    return Lot(symbol, quantity, price, opened, note)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LotError(f"date {text!r} is not YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class LotEdit:
    """What a phrase asks: add ``lot`` (index None), replace lot ``index``, or delete it."""

    index: int | None
    lot: Lot | None


def parse_lot_phrase(symbol: str, text: str) -> LotEdit:
    """``10 @ 187.5 2025-03-10 core`` · ``#2 15 @ 190`` · ``#2 delete`` (lots count from 1)."""
    words = text.split()
    index = None
    if words and words[0].startswith("#"):
        raw = words.pop(0)[1:]
        if not raw.isdigit() or int(raw) < 1:
            raise LotError(f"{raw!r} is not a lot number (#1, #2 …)")
        index = int(raw) - 1
        if words and words[0].lower() in ("delete", "del", "x", "rm"):
            if len(words) > 1:
                raise LotError("nothing may follow 'delete'")
            return LotEdit(index, None)
    if len(words) < 3 or words[1] != "@":
        raise LotError(f"write it as {LOT_USAGE}")
    quantity = number(words[0], "quantity")
    price = number(words[2], "price")
    rest = words[3:]
    opened = None
    if rest and re.fullmatch(r"\d{4}-\d\d-\d\d", rest[0]):
        opened = parse_date(rest.pop(0))
    return LotEdit(index, make_lot(symbol, quantity, price, opened, " ".join(rest)))


def plain(x: float) -> str:
    """A number as typed: every decimal it has (``0.12345678``), none it has not (``10``)."""
    return f"{x:.10f}".rstrip("0").rstrip(".")


def lot_phrase(lot: Lot) -> str:
    """The phrase that makes ``lot`` again (what the edit form starts with)."""
    parts = [plain(lot.quantity), "@", plain(lot.price)]
    if lot.opened is not None:
        parts.append(lot.opened.isoformat())
    if lot.note:
        parts.append(lot.note)
    return " ".join(parts)

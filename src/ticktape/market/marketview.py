"""The whole-market view's model: the four boards fed together, seeded from snapshots.

Pure state, like the boards it holds; the app feeds it the frames it already decodes, only
while the view is shown. See docs/market-view.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Final

from ticktape.feed.conditions import regular_session
from ticktape.feed.events import Event
from ticktape.feed.snapshot import TickerSnapshot
from ticktape.market.bars import cached_day_bounds
from ticktape.market.wholemarket import (
    BlockFilter,
    HaltBoard,
    ImbalanceBoard,
    Mover,
    MoversBoard,
)
from ticktape.timeutil import normalize_ms

#: The market-wide subscriptions the view needs, all stocks.
MARKET_WIDE: Final = ("T.*", "AM.*", "LULD.*", "NOI.*")
#: The thresholds the block keys step through.
SHARE_STEPS: Final = (1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000)
NOTIONAL_STEPS: Final = (
    100_000.0,
    250_000.0,
    500_000.0,
    1_000_000.0,
    2_500_000.0,
    5_000_000.0,
    10_000_000.0,
    25_000_000.0,
)


def mover_of(snap: TickerSnapshot) -> Mover | None:
    """A snapshot as the movers board ranks it, or None when it holds no price."""
    last = snap.last
    if last is None or not math.isfinite(last):
        return None
    prev = snap.prev_day.close if snap.prev_day is not None and snap.prev_day.close > 0 else None
    day = snap.day
    volume = day.volume if day is not None and math.isfinite(day.volume) else 0.0
    vwap = day.vwap if day is not None and day.vwap else last
    # Relative volume against the day before: the one day of history a snapshot carries.
    before = (
        snap.prev_day.volume if snap.prev_day is not None and snap.prev_day.volume > 0 else None
    )
    when = _snapshot_ms(snap)
    mover = Mover(snap.ticker, last, prev, volume, volume * vwap, before)
    if when:
        mover.day_end_ms = cached_day_bounds(when)[1]
        mover.close = _regular_price(snap, last, when)
    return mover


def _snapshot_ms(snap: TickerSnapshot) -> int:
    """When the snapshot's newest price was made (Unix ms), or 0 if it does not say."""
    t = snap.last_trade.timestamp if snap.last_trade is not None else None
    return normalize_ms(t or snap.updated or 0)


def _regular_price(snap: TickerSnapshot, last: float, when: int) -> float | None:
    """Today's regular-session price so far, as the board's ``Mover.close``: the last price in
    regular hours, the day bar's close (a daily close is the regular one) after them, None
    before the open."""
    open_ms, close_ms = regular_session(when)
    if when < open_ms:
        return None
    if when < close_ms:
        return last
    day = snap.day
    return day.close if day is not None and day.close > 0 else None


def step(steps: Sequence[float], now: float, direction: int) -> float:
    """The next threshold up (``direction`` 1) or down (-1) from ``now``, kept in range."""
    if direction > 0:
        return next((s for s in steps if s > now), steps[-1])
    return next((s for s in reversed(steps) if s < now), steps[0])


def watched_only(events: Sequence[Event], watched: Collection[str]) -> list[Event]:
    """The events about watched symbols: the market-wide rest feeds only the boards, never
    per-symbol state nobody looks at."""
    return [ev for ev in events if getattr(ev, "symbol", None) in watched]


class MarketBoards:
    """Movers, halts, imbalances and blocks, fed from one stream.

    Args:
        nbbo: ``(bid, ask)`` of a symbol the app already tracks, for colouring blocks.
    """

    def __init__(self, nbbo: Callable[[str], tuple[float, float] | None] | None = None) -> None:
        self.blocks = BlockFilter(nbbo=nbbo)
        self.halts = HaltBoard()
        self.imbalances = ImbalanceBoard()
        self.movers = MoversBoard()
        #: Bumped by every frame fed and every seed: the view repaints only when it moved.
        self.version = 0
        self.seeded = 0  # tickers taken from snapshots

    def feed(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.blocks.feed(events)
        self.halts.feed(events)
        self.imbalances.feed(events)
        self.movers.feed(events)
        self.version += 1

    def seed(self, snaps: Iterable[TickerSnapshot]) -> int:
        """Take snapshot rows into the movers board; returns how many had a price."""
        movers = [m for m in (mover_of(s) for s in snaps) if m is not None]
        self.movers.seed(movers)
        self.seeded += len(movers)
        self.version += 1
        return len(movers)

    def step_shares(self, direction: int) -> None:
        shares = int(step(SHARE_STEPS, self.blocks.min_shares, direction))
        self.blocks.set_thresholds(shares, self.blocks.min_notional)
        self.version += 1

    def step_notional(self, direction: int) -> None:
        notional = step(NOTIONAL_STEPS, self.blocks.min_notional, direction)
        self.blocks.set_thresholds(self.blocks.min_shares, notional)
        self.version += 1

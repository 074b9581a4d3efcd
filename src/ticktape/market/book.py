"""A crypto pair's level-2 order book, from ``XL2`` snapshots: pure state, no I/O.

Each ``XL2`` event is a whole snapshot of one exchange's book around the touch,
so applying one replaces the book. See docs/ui.md (the order book).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

#: Levels kept a side (the protocol sends at most 100).
MAX_LEVELS: Final = 100

Level = tuple[float, float]  # (price, size)


def _clean(levels: Sequence[Sequence[float]], *, descending: bool) -> tuple[Level, ...]:
    """Finite, positive levels, best first, one per price (wire data is untrusted)."""
    seen: dict[float, float] = {}
    for level in levels:
        if len(level) < 2:
            continue
        price, size = float(level[0]), float(level[1])
        if math.isfinite(price) and math.isfinite(size) and price > 0 and size > 0:
            seen[price] = size
    ordered = sorted(seen.items(), reverse=descending)
    return tuple(ordered[:MAX_LEVELS])


@dataclass(slots=True)
class OrderBook:
    """The newest snapshot of one pair's book; bids high→low, asks low→high."""

    symbol: str
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    time_ms: int = 0
    exchange: int = 0
    version: int = 0  # the MarketState version of the frame that brought it
    snapshots: int = field(default=0)

    def replace(
        self,
        bids: Sequence[Sequence[float]],
        asks: Sequence[Sequence[float]],
        time_ms: int,
        exchange: int,
        version: int,
    ) -> None:
        self.bids = _clean(bids, descending=True)
        self.asks = _clean(asks, descending=False)
        self.time_ms = time_ms
        self.exchange = exchange
        self.version = version
        self.snapshots += 1

    @property
    def best_bid(self) -> float | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> float | None:
        return self.asks[0][0] if self.asks else None

    @property
    def spread(self) -> float | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else ask - bid

    @property
    def mid(self) -> float | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else (bid + ask) / 2

    def imbalance(self, depth: int) -> float | None:
        """(bid size − ask size) / (bid size + ask size) over the top ``depth`` levels a side:
        +1 all bids, −1 all asks, 0 balanced; None for an empty book."""
        bid = sum(s for _, s in self.bids[:depth])
        ask = sum(s for _, s in self.asks[:depth])
        total = bid + ask
        return None if total <= 0 else (bid - ask) / total

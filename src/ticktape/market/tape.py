"""Bounded packed rings for the tape: trades, quotes, notable events, the all-symbol tape.

See docs/performance.md (packed tape rings).
"""

from __future__ import annotations

import struct
from array import array
from collections import deque
from collections.abc import Iterator
from typing import Final, Generic, TypeVar

from ticktape.feed.conditions import (
    ALL_FLAGS,
    ID_SHIFT,
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    ConditionCache,
    is_odd_lot,
)

#: Per-symbol trade record: time_ms, price, size, code, exchange, condition code.
TRADE_REC: Final = struct.Struct("<qddBiI")
#: Quote record: time_ms, bid, ask, bid size, ask size.
QUOTE_REC: Final = struct.Struct("<qdddd")

# The ``code`` byte: side in bits 0-1, tick in bits 2-3.
SIDE_MID: Final = 0
SIDE_BUY: Final = 1
SIDE_SELL: Final = 2
TICK_UP: Final = 4
TICK_DOWN: Final = 8
_SIDES: Final = ("M", "B", "S", "M")
_TICKS: Final = (0, 1, -1, 0)


class TapeEntry:
    """One trade as the tape shows it (built on demand from a ring record)."""

    __slots__ = (
        "conditions",
        "eligible_high_low",
        "eligible_last",
        "eligible_volume",
        "exchange",
        "odd_lot",
        "price",
        "side",
        "size",
        "symbol",
        "tick",
        "time_ms",
    )

    def __init__(
        self,
        symbol: str,
        time_ms: int,
        price: float,
        size: float,
        exchange: int,
        conditions: tuple[int, ...],
        side: str,
        tick: int,
        flags: int,
    ) -> None:
        self.symbol = symbol
        self.time_ms = time_ms
        self.price = price
        self.size = size
        self.exchange = exchange
        self.conditions = conditions
        self.side = side  # "B" at/above ask, "S" at/below bid, "M" otherwise or unknown
        self.tick = tick  # +1 / -1 / 0 against the previous eligible trade
        # By the consolidated rules (the day's figures); outside regular hours a Form T
        # trade moves its minute bar and the last price too (feed.conditions.bar_flags).
        self.eligible_last = bool(flags & UPDATES_LAST)
        self.eligible_high_low = bool(flags & UPDATES_HIGH_LOW)
        self.eligible_volume = bool(flags & UPDATES_VOLUME)
        self.odd_lot = is_odd_lot(conditions)

    def __repr__(self) -> str:
        return (
            f"TapeEntry({self.symbol} {self.time_ms} {self.price}x{self.size} "
            f"{self.side} tick={self.tick} c={self.conditions})"
        )


class QuoteEntry:
    """One NBBO update as the quote tape shows it."""

    __slots__ = ("ask", "ask_size", "bid", "bid_size", "symbol", "time_ms")

    def __init__(
        self, symbol: str, time_ms: int, bid: float, ask: float, bid_size: float, ask_size: float
    ) -> None:
        self.symbol = symbol
        self.time_ms = time_ms
        self.bid = bid
        self.ask = ask
        self.bid_size = bid_size
        self.ask_size = ask_size

    def __repr__(self) -> str:
        return f"QuoteEntry({self.symbol} {self.time_ms} {self.bid}x{self.ask})"


class PackedRing:
    """Shared ring arithmetic over a packed ``bytearray``; subclasses decode records.

    Record ``seq`` lives at byte ``(seq % cap) * rec.size``. Entries before
    ``base`` are gone even if the ring has not wrapped since: they were
    dropped when the ring was resized (it keeps only what it held).
    A ring of capacity 0 holds nothing (its writers check ``cap`` first).
    """

    __slots__ = ("base", "buf", "cap", "rec", "seq")

    def __init__(self, cap: int, rec: struct.Struct) -> None:
        self.cap = max(0, cap)
        self.rec = rec
        self.seq = 0  # entries ever appended
        self.base = 0  # the oldest seq the ring may still hold
        self.buf = bytearray(self.cap * rec.size)  # committed now (see the module docstring)

    def resize(self, cap: int) -> None:
        """Grow to ``cap`` entries, keeping the entries held (a smaller cap is ignored)."""
        if cap <= self.cap:
            return
        size, old, n = self.rec.size, self.buf, len(self)
        buf = bytearray(cap * size)
        for seq in range(self.seq - n, self.seq):
            o, p = (seq % self.cap) * size, (seq % cap) * size
            buf[p : p + size] = old[o : o + size]
        self.buf, self.cap, self.base = buf, cap, self.seq - n

    def pack(self, *values: float) -> None:
        """Append one record (the writers off the hot path use this)."""
        if self.cap:
            self.rec.pack_into(self.buf, (self.seq % self.cap) * self.rec.size, *values)
            self.seq += 1

    def __len__(self) -> int:
        return min(self.seq - self.base, self.cap)

    def since(self, seq: int) -> int:
        """How many entries were appended after ``seq`` (at most :func:`len`)."""
        return max(0, min(self.seq - seq, len(self)))

    def held(self, seq: int) -> bool:
        """Whether the entry with this seq is still in the ring."""
        return self.seq - len(self) <= seq < self.seq

    def _raw(self, seq: int) -> tuple[int | float, ...]:
        return self.rec.unpack_from(self.buf, (seq % self.cap) * self.rec.size)

    def _seqs(self, newest_first: bool, limit: int | None) -> range:
        n = len(self) if limit is None else max(0, min(limit, len(self)))
        if newest_first:
            return range(self.seq - 1, self.seq - 1 - n, -1)
        return range(self.seq - n, self.seq)


class TradeTape(PackedRing):
    """Bounded ring of one symbol's trades; entries come back as :class:`TapeEntry`."""

    __slots__ = ("conditions", "symbol")

    def __init__(self, cap: int, conditions: ConditionCache, symbol: str) -> None:
        super().__init__(cap, TRADE_REC)
        self.symbol = symbol
        self.conditions = conditions

    def entry(self, seq: int) -> TapeEntry:
        """The entry with this seq (it must be :meth:`held`)."""
        t, price, size, code, exch, cond = self._raw(seq)
        symbol = self.symbol
        tuples = self.conditions.tuples
        ci = int(cond) >> ID_SHIFT
        return TapeEntry(
            symbol,
            int(t),
            float(price),
            float(size) if size != int(size) else int(size),
            int(exch),
            tuples[ci] if ci < len(tuples) else (),
            _SIDES[int(code) & 3],
            _TICKS[(int(code) >> 2) & 3],
            int(cond) & ALL_FLAGS,
        )

    def newest(self, limit: int | None = None) -> list[TapeEntry]:
        """Up to ``limit`` entries, newest first (all when ``limit`` is None)."""
        return [self.entry(s) for s in self._seqs(True, limit)]

    def entries_since(self, seq: int) -> list[TapeEntry]:
        """Entries appended after ``seq`` that are still held, oldest first."""
        return [self.entry(s) for s in self._seqs(False, self.since(seq))]

    def __iter__(self) -> Iterator[TapeEntry]:
        """Oldest first."""
        return (self.entry(s) for s in self._seqs(False, None))


class QuoteTape(PackedRing):
    """Bounded ring of one symbol's quotes; entries come back as :class:`QuoteEntry`."""

    __slots__ = ("symbol",)

    def __init__(self, cap: int, symbol: str) -> None:
        super().__init__(cap, QUOTE_REC)
        self.symbol = symbol

    def entry(self, seq: int) -> QuoteEntry:
        t, bid, ask, bs, asz = self._raw(seq)
        return QuoteEntry(self.symbol, int(t), bid, ask, bs, asz)

    def newest(self, limit: int | None = None) -> list[QuoteEntry]:
        """Up to ``limit`` entries, newest first."""
        return [self.entry(s) for s in self._seqs(True, limit)]

    def entries_since(self, seq: int) -> list[QuoteEntry]:
        """Entries appended after ``seq`` that are still held, oldest first."""
        return [self.entry(s) for s in self._seqs(False, self.since(seq))]

    def __iter__(self) -> Iterator[QuoteEntry]:
        """Oldest first."""
        return (self.entry(s) for s in self._seqs(False, None))


class MarketTape:
    """The all-symbol trade tape: which symbol traded, in arrival order.

    It stores only a symbol index per trade (an ``array('I')`` ring); the trade
    itself is in that symbol's :class:`TradeTape`, appended in the same step.
    Walking this ring newest-first, the k-th time a symbol appears is that
    symbol's k-th newest trade, so entries resolve without a search. An entry
    whose symbol ring has since wrapped past it (that symbol made more than
    its ring holds of the newest trades) is skipped.
    """

    __slots__ = ("cap", "idx", "rings", "seq")

    def __init__(self, cap: int, rings: list[TradeTape]) -> None:
        self.cap = max(1, cap)
        self.idx = array("I", bytes(4 * self.cap))
        self.rings = rings  # symbol index → that symbol's ring (the state appends to it)
        self.seq = 0  # trades ever appended

    def __len__(self) -> int:
        return min(self.seq, self.cap)

    def since(self, seq: int) -> int:
        """How many trades were appended after ``seq`` (at most :func:`len`)."""
        return max(0, min(self.seq - seq, len(self)))

    def _walk(self, count: int) -> list[TapeEntry]:
        """The newest ``count`` entries still held, newest first."""
        idx, cap, rings = self.idx, self.cap, self.rings
        seen: dict[int, int] = {}
        out: list[TapeEntry] = []
        for g in range(self.seq - 1, self.seq - 1 - min(count, len(self)), -1):
            i = idx[g % cap]
            k = seen.get(i, 0)
            seen[i] = k + 1
            ring = rings[i]
            s = ring.seq - 1 - k
            if ring.held(s):
                out.append(ring.entry(s))
        return out

    def newest(self, limit: int | None = None) -> list[TapeEntry]:
        """Up to ``limit`` entries, newest first (all held when ``limit`` is None)."""
        return self._walk(len(self) if limit is None else max(0, limit))

    def entries_since(self, seq: int) -> list[TapeEntry]:
        """Entries appended after ``seq`` that are still held, oldest first."""
        out = self._walk(self.since(seq))
        out.reverse()
        return out

    def __iter__(self) -> Iterator[TapeEntry]:
        """Oldest first."""
        return iter(self.entries_since(self.seq - len(self)))


class NoticeEntry:
    """A notable event: kind is "LULD", "HALT", "RESUME" or "NOI"."""

    __slots__ = ("detail", "kind", "symbol", "time_ms")

    def __init__(self, kind: str, symbol: str, time_ms: int, detail: str) -> None:
        self.kind = kind
        self.symbol = symbol
        self.time_ms = time_ms
        self.detail = detail

    def __repr__(self) -> str:
        return f"NoticeEntry({self.kind} {self.symbol} {self.time_ms} {self.detail!r})"


T = TypeVar("T")


class ObjectRing(Generic[T]):
    """Bounded ring of objects (rare events: notices, second bars)."""

    __slots__ = ("_items", "seq")

    def __init__(self, cap: int) -> None:
        self._items: deque[T] = deque(maxlen=max(1, cap))
        self.seq = 0

    def append(self, item: T) -> None:
        self._items.append(item)
        self.seq += 1

    def __len__(self) -> int:
        return len(self._items)

    def since(self, seq: int) -> int:
        """How many items were appended after ``seq`` (at most :func:`len`)."""
        return max(0, min(self.seq - seq, len(self._items)))

    def newest(self, limit: int | None = None) -> list[T]:
        """Up to ``limit`` items, newest first."""
        n = len(self._items) if limit is None else max(0, min(limit, len(self._items)))
        items = self._items
        return [items[-1 - i] for i in range(n)]

    def __iter__(self) -> Iterator[T]:
        """Oldest first."""
        return iter(self._items)

"""The whole market at a glance: block trades, halts, imbalances and movers, no per-symbol state.

Every board decides from the decoded event alone, so a market-wide stream costs one type check
and a comparison per event. See docs/market-view.md.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ticktape.feed.conditions import is_regular_hours
from ticktape.feed.events import Event, Imbalance, LimitUpLimitDown, MinuteAgg, Trade
from ticktape.market.bars import cached_day_bounds
from ticktape.market.state import LULD_HALT, LULD_RESUME
from ticktape.timeutil import normalize_ms

#: Polygon's exchange id for FINRA's trade reporting facilities: off-exchange (dark) prints.
FINRA_TRF: Final = 4
DEFAULT_BLOCK_SHARES: Final = 10_000
DEFAULT_BLOCK_NOTIONAL: Final = 1_000_000.0
Side = Literal["B", "S", "M", ""]


@dataclass(frozen=True, slots=True)
class Block:
    """One print big enough to flash: size or notional over the thresholds."""

    symbol: str
    price: float
    size: int
    time_ms: int
    exchange: int
    conditions: tuple[int, ...]
    dark: bool  # reported off-exchange (a TRF print)
    side: Side = ""  # against the NBBO, where the quote is known

    @property
    def notional(self) -> float:
        return self.price * self.size


class BlockFilter:
    """Keeps the newest block trades of a market-wide ``T.*`` stream.

    Args:
        min_shares: a print of at least this many shares is a block.
        min_notional: a print worth at least this many dollars is a block.
        keep: how many blocks the board holds (the oldest fall off).
        nbbo: looks up ``(bid, ask)`` of a symbol the app already tracks, or None.
    """

    def __init__(
        self,
        min_shares: int = DEFAULT_BLOCK_SHARES,
        min_notional: float = DEFAULT_BLOCK_NOTIONAL,
        *,
        keep: int = 500,
        nbbo: Callable[[str], tuple[float, float] | None] | None = None,
    ) -> None:
        self.min_shares = min_shares
        self.min_notional = min_notional
        self.blocks: deque[Block] = deque(maxlen=keep)
        self.seen = 0
        self._nbbo = nbbo

    def set_thresholds(self, min_shares: int, min_notional: float) -> None:
        """New thresholds apply to prints from now on; the board keeps what it shows."""
        if min_shares < 1 or not math.isfinite(min_notional) or min_notional <= 0:
            raise ValueError("block thresholds must be positive")
        self.min_shares, self.min_notional = min_shares, min_notional

    def feed(self, events: Sequence[Event]) -> int:
        """Take one frame's events; returns how many blocks it added."""
        min_shares, min_notional = self.min_shares, self.min_notional
        added = 0
        for ev in events:
            # One type check and one comparison for all but the rare big print.
            if type(ev) is Trade and (ev.size >= min_shares or ev.size * ev.price >= min_notional):
                if not (ev.size > 0 and math.isfinite(ev.price) and ev.price > 0):
                    continue  # an impossible print is not a block
                self.blocks.append(self._block(ev))
                added += 1
        self.seen += len(events)
        return added

    def _block(self, ev: Trade) -> Block:
        side: Side = ""
        quote = self._nbbo(ev.symbol) if self._nbbo is not None else None
        if quote is not None:
            bid, ask = quote
            side = "B" if ev.price >= ask else "S" if ev.price <= bid else "M"
        dark = ev.exchange == FINRA_TRF or ev.trf_id is not None
        return Block(
            ev.symbol,
            ev.price,
            ev.size,
            normalize_ms(ev.timestamp),
            ev.exchange,
            ev.conditions,
            dark,
            side,
        )

    def newest(self, n: int) -> list[Block]:
        """The ``n`` newest blocks, newest first."""
        return [self.blocks[-1 - i] for i in range(min(n, len(self.blocks)))]


@dataclass(frozen=True, slots=True)
class HaltRow:
    """A halt, a resumption or a new price band, as the halts board lists it."""

    symbol: str
    kind: Literal["HALT", "RESUME", "BAND"]
    time_ms: int
    low: float
    high: float


class HaltBoard:
    """Halts and resumptions from ``LULD.*``, newest first; which symbols are halted now.

    Args:
        keep: rows held; band updates are kept only when ``bands`` is True (they are many).
        bands: also list plain price-band updates.
    """

    def __init__(self, keep: int = 300, *, bands: bool = False) -> None:
        self.rows: deque[HaltRow] = deque(maxlen=keep)
        self.halted: dict[str, int] = {}  # symbol → when it halted
        self.bands = bands

    def feed(self, events: Iterable[Event]) -> None:
        for ev in events:
            if type(ev) is LimitUpLimitDown:
                self._luld(ev)

    def _luld(self, ev: LimitUpLimitDown) -> None:
        t = normalize_ms(ev.timestamp)
        if LULD_HALT in ev.indicators:
            self.halted[ev.symbol] = t
            self.rows.append(HaltRow(ev.symbol, "HALT", t, ev.low, ev.high))
        elif LULD_RESUME in ev.indicators:
            self.halted.pop(ev.symbol, None)
            self.rows.append(HaltRow(ev.symbol, "RESUME", t, ev.low, ev.high))
        elif self.bands:
            self.rows.append(HaltRow(ev.symbol, "BAND", t, ev.low, ev.high))

    def newest(self, n: int) -> list[HaltRow]:
        return [self.rows[-1 - i] for i in range(min(n, len(self.rows)))]


#: NOI auction types in words.
AUCTIONS: Final = {
    "O": "early open",
    "M": "open",
    "H": "reopen",
    "C": "close",
    "P": "extreme close",
    "R": "regulatory close",
}


@dataclass(frozen=True, slots=True)
class ImbalanceRow:
    """The latest imbalance of one symbol's coming auction."""

    symbol: str
    time_ms: int
    auction: str  # in words
    auction_time: int  # HHMM Eastern
    imbalance: int  # signed: buy side positive
    paired: int
    price: float

    @property
    def side(self) -> Literal["buy", "sell", ""]:
        return "buy" if self.imbalance > 0 else "sell" if self.imbalance < 0 else ""


class ImbalanceBoard:
    """The latest ``NOI`` per symbol, largest imbalance first."""

    def __init__(self, keep: int = 2000) -> None:
        self.latest: dict[str, ImbalanceRow] = {}
        self._keep = keep

    def feed(self, events: Iterable[Event]) -> None:
        for ev in events:
            if type(ev) is Imbalance:
                self._noi(ev)

    def _noi(self, ev: Imbalance) -> None:
        if ev.symbol not in self.latest and len(self.latest) >= self._keep:
            return  # bounded: a flood of new symbols never grows the board without end
        auction = AUCTIONS.get(ev.auction_type, ev.auction_type[:12])
        self.latest[ev.symbol] = ImbalanceRow(
            ev.symbol,
            normalize_ms(ev.timestamp),
            auction,
            ev.auction_time,
            ev.imbalance,
            ev.paired,
            ev.clearing_price,
        )

    def largest(self, n: int) -> list[ImbalanceRow]:
        rows = sorted(self.latest.values(), key=lambda r: abs(r.imbalance), reverse=True)
        return rows[:n]


@dataclass(slots=True)
class Mover:
    """One symbol's day as the movers board ranks it.

    ``close`` is the regular session's price so far today (None before today's first
    regular-hours minute): after the close the day's change stays the regular session's and
    ``last`` is the after-hours print, as in the watchlist (market/extended.py). Both the close
    and the previous close follow ``feed.conditions.regular_close``.
    """

    symbol: str
    last: float
    prev_close: float | None
    volume: float
    dollar_volume: float
    avg_volume: float | None = None  # for relative volume, where history allows
    close: float | None = None
    day_end_ms: int = 0  # end of the exchange-zone day the figures belong to (0: unknown)

    @property
    def change(self) -> float | None:
        ref = self.last if self.close is None else self.close
        return None if not self.prev_close else ref - self.prev_close

    @property
    def pct(self) -> float | None:
        change = self.change
        return None if change is None or not self.prev_close else 100.0 * change / self.prev_close

    @property
    def rel_volume(self) -> float | None:
        return None if not self.avg_volume else self.volume / self.avg_volume

    def roll(self, start_ms: int) -> None:
        """A bar of a later day: the day's close becomes the previous close (the state's rule:
        the regular close, else the last price), and the day's figures start again."""
        end = cached_day_bounds(start_ms)[1]
        if self.day_end_ms and start_ms >= self.day_end_ms:
            self.prev_close = self.last if self.close is None else self.close
            self.close = None
            self.volume = self.dollar_volume = 0.0
        self.day_end_ms = end


Ranking = Literal["gainers", "losers", "active", "dollar"]
RANKINGS: Final[tuple[Ranking, ...]] = ("gainers", "losers", "active", "dollar")


class MoversBoard:
    """Gainers, losers and the most active, seeded from snapshots and kept live by ``AM.*``."""

    def __init__(self, keep: int = 20_000) -> None:
        self.rows: dict[str, Mover] = {}
        self._keep = keep

    def seed(self, movers: Iterable[Mover]) -> None:
        """Take a snapshot's rows (REST); later minute bars update them."""
        for m in movers:
            if len(self.rows) < self._keep or m.symbol in self.rows:
                self.rows[m.symbol] = m

    def feed(self, events: Iterable[Event]) -> None:
        for ev in events:
            if type(ev) is MinuteAgg:
                self._minute(ev)

    def _minute(self, ev: MinuteAgg) -> None:
        if not math.isfinite(ev.close) or ev.close <= 0:
            return
        row = self.rows.get(ev.symbol)
        if row is None:
            if len(self.rows) >= self._keep:
                return
            row = self.rows[ev.symbol] = Mover(ev.symbol, ev.close, None, 0.0, 0.0)
        if ev.start >= row.day_end_ms:
            row.roll(ev.start)
        row.last = ev.close
        if is_regular_hours(ev.start):  # a regular minute's close follows the consolidated rules
            row.close = ev.close
        if ev.day_volume is not None and ev.day_volume >= row.volume:
            row.volume = float(ev.day_volume)
            vwap = ev.day_vwap if ev.day_vwap is not None else ev.close
            row.dollar_volume = row.volume * vwap
        elif ev.day_volume is None and ev.volume > 0:
            row.volume += ev.volume
            row.dollar_volume += ev.volume * (ev.vwap if ev.vwap is not None else ev.close)

    def top(self, ranking: Ranking, n: int) -> list[Mover]:
        """The first ``n`` of a ranking; symbols without a previous close are not ranked by %."""
        # A heap of n, not a sort of thousands, on every repaint (the same order as a sort).
        rows = self.rows.values()
        if ranking in ("gainers", "losers"):
            priced = [r for r in rows if r.prev_close]  # a percentage needs a previous close
            pick = heapq.nlargest if ranking == "gainers" else heapq.nsmallest
            return pick(n, priced, key=_pct)
        return heapq.nlargest(n, rows, key=_volume if ranking == "active" else _dollars)


def _pct(m: Mover) -> float:
    # Ranks as ``pct`` does (a rising function of it) without two property calls a row.
    return (m.last if m.close is None else m.close) / m.prev_close if m.prev_close else 1.0


def _volume(m: Mover) -> float:
    return m.volume


def _dollars(m: Mover) -> float:
    return m.dollar_volume

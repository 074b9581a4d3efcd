"""Live forex (``C``, ``CA``) and crypto (``XT``, ``XQ``, ``XL2``, ``XA``) events.

See docs/simulator.md.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, Final

from ticktape.feed.events import (
    Agg,
    CryptoL2,
    CryptoMinuteAgg,
    CryptoQuote,
    CryptoTrade,
    Event,
    ForexMinuteAgg,
    ForexQuote,
)
from ticktape.sim.model_calendar import MINUTE
from ticktape.sim.model_engine import Engine, LiveSymbol
from ticktape.sim.symbols import unit

_FOREX_EXCHANGE: Final = 48
# Polygon crypto exchange ids: 1 Coinbase, 2 Bitfinex, 6 Bitstamp, 23 Kraken.
_CRYPTO_EXCHANGES: Final = (1, 1, 1, 1, 2, 2, 6, 23)
_BUY: Final = (2,)
_SELL: Final = (1,)
_SATS: Final = 100_000_000.0


def _size_multiples() -> tuple[float, ...]:
    rng = random.Random(1)
    return tuple(math.exp(rng.gauss(-0.5, 1.1)) for _ in range(256))


SIZE_MULTIPLES: Final = _size_multiples()


class _PairEngine(Engine):
    session_ms = 24 * 3_600_000.0

    def _take(self, st: LiveSymbol, p: int, volume: float) -> None:
        """Add a price (ticks) and volume to the forming minute bar."""
        if st.mn == 0:
            self.dirty_min.append(st)
            st.mo = st.mh = st.ml = p
        elif p > st.mh:
            st.mh = p
        elif p < st.ml:
            st.ml = p
        st.mc = p
        st.mn += 1
        st.mv += volume
        st.mpv += p * volume

    def _spread(self, st: LiveSymbol, mid: float) -> None:
        spread = 1 + int(mid * st.spread_frac * (0.5 + self.rand()))
        bid = int(mid - spread * 0.5 + 0.5)
        st.bid = bid if bid > 0 else 1
        st.ask = st.bid + spread

    def _walk(self, st: LiveSymbol) -> float:
        mid = st.mid = st.mid * (1.0 + st.step * (self.rand() - 0.5))
        if self.rand() < st.p_switch:
            self.switch_regime(st)
        return mid

    def _reset_minute(self, st: LiveSymbol) -> None:
        st.mo = st.mh = st.ml = st.mc = st.mn = 0
        st.mv = st.mpv = 0


class ForexEngine(_PairEngine):
    """Forex cluster: ``C`` and ``CA``."""

    cluster = "forex"

    def setup(self, st: LiveSymbol) -> None:
        st.spread_frac = (0.00001 + 0.00004 * unit("spread", st.sym)) * st.prof.daily_vol / 0.005

    def event(self, st: LiveSymbol, t: int, out: list[Event]) -> None:
        mid = self._walk(st)
        self._spread(st, mid)
        scale = st.scale
        out.append(ForexQuote(st.sym, st.ask / scale, st.bid / scale, t, _FOREX_EXCHANGE))
        self._take(st, (st.bid + st.ask + 1) // 2, 1)

    def close_minute(self, start: int, out: list[Event]) -> None:
        for st in self.dirty_min:
            scale = st.scale
            vw = round(st.mpv / st.mv / scale, st.prof.decimals + 1)
            bar = ForexMinuteAgg(
                st.sym,
                st.mo / scale,
                st.mh / scale,
                st.ml / scale,
                st.mc / scale,
                st.mn,
                start,
                start + MINUTE,
                vw,
            )
            out.append(bar)
            st.hist.record(Agg(bar.open, bar.high, bar.low, bar.close, st.mn, start, vw, st.mn))
            self._reset_minute(st)


class SimBook:
    """One pair's resting orders (price ticks → size in satoshi-like units).

    Why a kept book rather than a fresh random one each snapshot: a believable
    book moves with the market. The touch always sits on the current quote
    (levels a new quote crosses are gone: they traded or were pulled), a
    trade eats into the level it hit, and between snapshots the deeper
    levels drift (orders added and cancelled) rather than being redrawn.
    """

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def trade(self, buy: bool, price: int, units: int) -> None:
        side = self.asks if buy else self.bids
        left = side.get(price, 0) - units
        if left > 0:
            side[price] = left
        else:
            side.pop(price, None)

    def snapshot(
        self, st: LiveSymbol, levels: int, rand: Callable[[], float]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Both sides, best first, ``levels`` deep; the book is kept for the next one."""
        units = st.units * 4.0
        gap = max(1, (st.ask - st.bid) // 2)
        out = []
        for side, touch, sign in ((self.bids, st.bid, -1), (self.asks, st.ask, 1)):
            for p in [p for p in side if (p - touch) * sign < 0]:
                del side[p]  # the quote moved through it
            for p, u in side.items():  # orders come and go: sizes drift, none vanish here
                side[p] = max(1, int(u * (0.8 + 0.4 * rand())))
            if touch not in side:
                side[touch] = 1 + int(units * SIZE_MULTIPLES[int(rand() * 256)])
            prices = sorted(side, reverse=sign < 0)
            price = prices[-1]
            while len(prices) < levels:  # thin deep book: add levels past the last one
                price += sign * (gap + int(rand() * gap * 2))
                if price < 1:
                    break
                depth = 1.0 + 0.15 * len(prices)  # books thicken away from the touch
                side[price] = 1 + int(units * depth * SIZE_MULTIPLES[int(rand() * 256)])
                prices.append(price)
            for p in prices[levels:]:
                del side[p]
            out.append([(p, side[p]) for p in prices[:levels]])
        return out[0], out[1]


class CryptoEngine(_PairEngine):
    """Crypto cluster: ``XT``, ``XQ``, ``XL2`` and ``XA``."""

    cluster = "crypto"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.books: dict[str, SimBook] = {}  # made at a symbol's first snapshot

    def setup(self, st: LiveSymbol) -> None:
        st.spread_frac = 0.00003 + 0.0003 * unit("spread", st.sym) * (1.0 - st.prof.weight)
        st.units = st.prof.trade_size * _SATS

    def _size(self, st: LiveSymbol, mult: float = 1.0) -> float:
        return (1 + int(st.units * mult * SIZE_MULTIPLES[int(self.rand() * 256)])) / _SATS

    def event(self, st: LiveSymbol, t: int, out: list[Event]) -> None:
        mid = self._walk(st)
        rand = self.rand
        r = rand()
        x = _CRYPTO_EXCHANGES[int(rand() * 8)]
        received = t + 5 + int(rand() * 120)
        scale = st.scale
        if r < 0.42:
            buy = rand() < 0.5
            p = st.ask if buy else st.bid
            size = self._size(st)
            st.tid += 1
            out.append(
                CryptoTrade(st.sym, p / scale, size, t, _BUY if buy else _SELL, st.tid, x, received)
            )
            self._take(st, p, size)
            book = self.books.get(st.sym)
            if book is not None:
                book.trade(buy, p, round(size * _SATS))
        elif r < 0.95:
            self._spread(st, mid)
            bid_size, ask_size = self._size(st, 3.0), self._size(st, 3.0)
            out.append(
                CryptoQuote(
                    st.sym, st.bid / scale, st.ask / scale, t, bid_size, ask_size, x, received
                )
            )
            book = self.books.get(st.sym)
            if book is not None:  # the touch is what the quote says
                book.bids[st.bid] = round(bid_size * _SATS)
                book.asks[st.ask] = round(ask_size * _SATS)
        else:
            out.append(self._book(st, t, x, received))

    def _book(self, st: LiveSymbol, t: int, x: int, received: int) -> CryptoL2:
        """A 10–20-level snapshot of the symbol's resting book (see :class:`SimBook`)."""
        book = self.books.get(st.sym)
        if book is None:
            book = self.books[st.sym] = SimBook()
        levels = 10 + int(self.rand() * 11)
        bids, asks = book.snapshot(st, levels, self.rand)
        scale = st.scale
        return CryptoL2(
            st.sym,
            t,
            tuple((p / scale, u / _SATS) for p, u in bids),
            tuple((p / scale, u / _SATS) for p, u in asks),
            x,
            received,
        )

    def close_minute(self, start: int, out: list[Event]) -> None:
        for st in self.dirty_min:
            scale = st.scale
            v = round(st.mv, 8)
            vw = round(st.mpv / st.mv / scale, st.prof.decimals + 2)
            bar = CryptoMinuteAgg(
                st.sym,
                st.mo / scale,
                st.mh / scale,
                st.ml / scale,
                st.mc / scale,
                v,
                start,
                start + MINUTE,
                vw,
                round(st.mv / st.mn, 8),
            )
            out.append(bar)
            st.hist.record(Agg(bar.open, bar.high, bar.low, bar.close, v, start, vw, st.mn))
            self._reset_minute(st)

"""A straightforward reference MarketState: dicts and lists, no speed tricks.

Used to check that the fast path computes the same state from the same
corpus. It keeps every trade of a minute and derives the minute
bar from them at read time, which makes the bar rules easy to see:

* a minute has a bar once it has a trade that may set the last price; its
  open is the first such trade, its close the last such trade;
* high/low come from high/low-eligible trades from the opening trade on;
* volume, VWAP and count come from every volume-eligible trade of the minute;
* an AM bar replaces the minute and later trades of that minute are ignored;
* bars and the last price use the minute-bar rules (Form T prices extended-hours
  minutes), the day's open/high/low/volume the consolidated rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ticktape.feed.conditions import (
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    bar_flags,
    flags_for,
    is_regular_hours,
    trade_code,
)
from ticktape.feed.events import Event, MinuteAgg, Quote, Trade
from ticktape.market.bars import day_bounds


@dataclass
class RefBar:
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float
    transactions: int


@dataclass
class RefSymbol:
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    last_size: float = 0
    last_ms: int = 0
    tick: int = 0
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float = 0
    pv: float = 0.0
    prev_close: float | None = None
    day_end: int = 0
    tape: list[tuple[int, float, float, str, int, tuple[int, ...]]] = field(default_factory=list)
    minute_trades: dict[int, list[tuple[float, float, int]]] = field(default_factory=dict)
    am: dict[int, RefBar] = field(default_factory=dict)

    def bars(self) -> list[RefBar]:
        out: dict[int, RefBar] = dict(self.am)
        for m, trades in self.minute_trades.items():
            if m in out:
                continue
            first = next((i for i, (_, _, f) in enumerate(trades) if f & UPDATES_LAST), None)
            if first is None:
                continue
            o = trades[first][0]
            hl = [o] + [p for p, _, f in trades[first:] if f & UPDATES_HIGH_LOW]
            close = [p for p, _, f in trades if f & UPDATES_LAST][-1]
            vol = [(p, s) for p, s, f in trades if f & UPDATES_VOLUME]
            v = sum(s for _, s in vol)
            pv = sum(p * s for p, s in vol)
            out[m] = RefBar(m, o, max(hl), min(hl), close, v, pv / v if v else close, len(vol))
        return [out[m] for m in sorted(out)]


class RefState:
    def __init__(self) -> None:
        self.symbols: dict[str, RefSymbol] = {}
        self.tape: list[tuple[str, int, float, str, int]] = []

    def apply(self, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, Quote):
                s = self.symbols.setdefault(ev.symbol, RefSymbol())
                s.bid, s.ask = ev.bid, ev.ask
            elif isinstance(ev, Trade):
                self._trade(self.symbols.setdefault(ev.symbol, RefSymbol()), ev)
            elif isinstance(ev, MinuteAgg):
                self._am(self.symbols.setdefault(ev.symbol, RefSymbol()), ev)

    @staticmethod
    def _roll(s: RefSymbol, t: int) -> None:
        if t < s.day_end:
            return
        if s.day_end:
            if s.last is not None:
                # The regular session's close: the newest bar of the day starting 09:30-16:00
                # (a stock's, and the reference corpora are stocks), else the last price.
                start = day_bounds(s.day_end - 1)[0]
                day = [b for b in s.bars() if start <= b.start_ms < s.day_end]
                regular = [b.close for b in day if is_regular_hours(b.start_ms)]
                s.prev_close = regular[-1] if regular else s.last
            s.open = s.high = s.low = None
            s.volume, s.pv = 0, 0.0
        s.day_end = day_bounds(t)[1]

    def _trade(self, s: RefSymbol, ev: Trade) -> None:
        p, size, t, day = ev.price, ev.size, ev.timestamp, flags_for(ev.conditions)
        flags = bar_flags(trade_code(ev.conditions), t)
        if s.ask is not None and s.ask > 0 and p >= s.ask:
            side = "B"
        elif s.bid is not None and s.bid > 0 and p <= s.bid:
            side = "S"
        else:
            side = "M"
        tick = 0 if s.last is None else (1 if p > s.last else -1 if p < s.last else 0)
        s.tape.append((t, p, size, side, tick, ev.conditions))
        self.tape.append((ev.symbol, t, p, side, tick))
        self._roll(s, t)
        if flags & UPDATES_LAST:
            s.last, s.last_size, s.last_ms, s.tick = p, size, t, tick
        if day & UPDATES_LAST and s.open is None:
            s.open = p
        if day & UPDATES_HIGH_LOW:
            s.high = p if s.high is None else max(s.high, p)
            s.low = p if s.low is None else min(s.low, p)
        if day & UPDATES_VOLUME:
            s.volume += size
            s.pv += p * size
        s.minute_trades.setdefault(t - t % 60_000, []).append((p, size, flags))

    def _am(self, s: RefSymbol, ev: MinuteAgg) -> None:
        self._roll(s, ev.start)
        if ev.day_open is not None:
            s.open = ev.day_open
        elif s.open is None:
            s.open = ev.open
        s.high = ev.high if s.high is None else max(s.high, ev.high)
        s.low = ev.low if s.low is None else min(s.low, ev.low)
        if ev.day_volume is not None and ev.day_volume > s.volume:
            s.pv = ev.day_vwap * ev.day_volume if ev.day_vwap is not None else math.nan
            s.volume = ev.day_volume
        n = round(ev.volume / ev.avg_size) if ev.avg_size else 0
        vwap = ev.vwap if ev.vwap is not None else ev.close
        s.am[ev.start] = RefBar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, vwap, n)
        end = ev.end or ev.start + 60_000
        if end > s.last_ms:
            s.last, s.last_ms = ev.close, end

"""MarketState: applies decoded frames to per-symbol state — the hot path.

See docs/performance.md (apply) and docs/architecture.md (one trade, socket to screen).
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from ticktape.feed.conditions import (
    ALL_CODE,
    ALL_FLAGS,
    EXTENDED_SHIFT,
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    ConditionCache,
    bar_flags,
    is_regular_hours,
)
from ticktape.feed.events import (
    Agg,
    CryptoL2,
    CryptoMinuteAgg,
    CryptoQuote,
    CryptoSecondAgg,
    CryptoTrade,
    Event,
    ForexMinuteAgg,
    ForexQuote,
    ForexSecondAgg,
    Imbalance,
    LimitUpLimitDown,
    MinuteAgg,
    Quote,
    SecondAgg,
    Trade,
)
from ticktape.market.bars import (
    AM,
    MINUTE_MS,
    SECOND_REC,
    SEED,
    TIMEFRAMES,
    Bar,
    cached_day_bounds,
    day_bounds,
)
from ticktape.market.book import OrderBook
from ticktape.market.minutes import MinuteBars
from ticktape.market.symbol import NO_BAR, Depth, SymbolState, has_sessions
from ticktape.market.tape import (
    QUOTE_REC,
    SIDE_BUY,
    SIDE_SELL,
    TICK_DOWN,
    TICK_UP,
    TRADE_REC,
    MarketTape,
    NoticeEntry,
    ObjectRing,
    TradeTape,
)
from ticktape.timeutil import MS_END, normalize_ms

#: LULD indicators for a trading halt and a resumption (Nasdaq-listed only, per Polygon).
LULD_HALT: Final = 17
LULD_RESUME: Final = 18

# OSError: a platform's calendar may refuse a time that passed the range check.
_BAD_VALUE: Final = (struct.error, OverflowError, TypeError, ValueError, OSError)
_TPACK: Final = TRADE_REC.pack_into
_QPACK: Final = QUOTE_REC.pack_into
_TREC: Final = TRADE_REC.size
_APACK: Final = SECOND_REC.pack_into
_AREC: Final = SECOND_REC.size
_QREC: Final = QUOTE_REC.size
#: Seeded daily bars kept per symbol: over three years of trading days.
DAILY_BARS: Final = 800
_HALF_DAY_MS: Final = 43_200_000

#: What a ticker, pair or index symbol may look like (AAPL, BRK.B, EUR/USD, BTC-USD, I:SPX);
#: checked once per new symbol, not per event.
_SYMBOL_OK: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:/^=+_-]{0,31}").fullmatch


def _start(bar: Bar) -> int:
    return bar.start_ms


def _check_ms(*times: int) -> None:
    """Raise (skipping the event) for a wire time the calendar cannot place."""
    for t in times:
        if not 0 <= t < MS_END:
            raise ValueError(f"time out of range: {t}")


class MarketState:
    """All symbols' state, the all-symbol tapes, and the conflation counter.

    ``symbol_tape_size``, ``symbol_quote_size``, ``second_bars`` and
    ``minute_bars`` are the *deep* sizes, kept for watched symbols; the
    ``shallow_*`` sizes are for the others (never above the deep ones).
    Unwatched symbols record no quotes unless ``record_all_quotes``.
    A shallow symbol costs ~80 kB (mostly its 960 minute bars), a deep one ~1.6 MB
    (plus, once its bars are read, the cached Bar objects: ~300 B a minute).
    """

    def __init__(
        self,
        *,
        tape_size: int = 10_000,
        symbol_tape_size: int = 2_000,
        symbol_quote_size: int = 256,
        record_all_quotes: bool = False,
        notice_size: int = 1_000,
        second_bars: int = 3_600,
        minute_bars: int = 20_000,
        shallow_tape_size: int = 256,
        shallow_second_bars: int = 120,
        shallow_minute_bars: int = 960,
        daily_bars: int = DAILY_BARS,
    ) -> None:
        """Args:
        tape_size: entries in the all-symbol trade tape.
        symbol_tape_size: trades kept per watched (deep) symbol.
        symbol_quote_size: quotes kept per watched symbol.
        record_all_quotes: keep quotes for unwatched symbols too (``symbol_quote_size``).
        notice_size: entries in the halts/resumes/limit-band notice tape.
        second_bars: second bars kept per watched symbol.
        minute_bars: minute bars kept per watched symbol.
        shallow_tape_size: trades kept per unwatched symbol (at most ``symbol_tape_size``).
        shallow_second_bars: second bars per unwatched symbol (at most ``second_bars``).
        shallow_minute_bars: minute bars per unwatched symbol (at most ``minute_bars``).
        daily_bars: seeded daily bars kept per symbol.
        """
        self.symbols: dict[str, SymbolState] = {}
        self._daily_cap = max(1, daily_bars)
        self._daily: dict[str, list[Bar]] = {}  # symbol → seeded daily bars, oldest first
        deep = Depth(
            max(1, symbol_tape_size),
            max(1, symbol_quote_size),
            max(1, second_bars),
            max(1, minute_bars),
        )
        self._deep = deep
        self._shallow = Depth(
            max(1, min(shallow_tape_size, deep.trades)),
            deep.quotes if record_all_quotes else 0,
            max(1, min(shallow_second_bars, deep.second_bars)),
            max(1, min(shallow_minute_bars, deep.minute_bars)),
        )
        self._watched: set[str] = set()  # names to create deep (watched before first seen)
        self.version = 0
        self.bad_events = 0  # events skipped because a value could not be stored
        self.conditions = ConditionCache()
        self._rings: list[TradeTape] = []  # symbol index → its trade ring
        self.tape = MarketTape(tape_size, self._rings)
        self.events_tape: ObjectRing[NoticeEntry] = ObjectRing(notice_size)
        #: Crypto pair → its newest ``XL2`` snapshot (only pairs subscribed to XL2 have one).
        self.books: dict[str, OrderBook] = {}
        self._dispatch: dict[type, Callable[[Any, int, int], None]] = {
            MinuteAgg: self._minute_agg,
            LimitUpLimitDown: self._luld,
            Imbalance: self._imbalance,
            ForexQuote: self._forex_quote,
            CryptoQuote: self._crypto_quote,
            CryptoTrade: self._crypto_trade,
            CryptoL2: self._crypto_l2,
            ForexMinuteAgg: self._pair_minute,
            CryptoMinuteAgg: self._pair_minute,
            ForexSecondAgg: self._pair_second,
            CryptoSecondAgg: self._pair_second,
        }

    # -- reading ------------------------------------------------------------

    def get(self, symbol: str) -> SymbolState | None:
        return self.symbols.get(symbol)

    def watch(self, symbols: Iterable[str]) -> None:
        """Keep deep history for these symbols (the app's watchlist), seen yet or not.

        A symbol is also watched once its trades, quotes or bars are read.
        What a symbol's stores hold already is kept; watching is never undone.
        """
        for symbol in symbols:
            self._watched.add(symbol)
            s = self.symbols.get(symbol)
            if s is not None:
                s.watch()

    def changed_since(self, version: int) -> set[str]:
        """Symbols changed after ``version`` (remember :attr:`version` after each read)."""
        return {sym for sym, s in self.symbols.items() if s.version > version}

    def bars(self, symbol: str, timeframe: str) -> list[Bar]:
        """Bars oldest first, forming bar included: "1s", "1m", "5m", "15m", "1h", "1D".

        Reading makes the symbol watched. The Bar objects are the cached ones
        (the forming bar is live); treat them as read-only. "1D" starts with the
        days stored by :meth:`seed_daily`.
        """
        minutes = TIMEFRAMES.get(timeframe)
        if minutes is None and timeframe != "1s":
            raise ValueError(f"unknown timeframe {timeframe!r}")
        self.watch((symbol,))
        s = self.symbols.get(symbol)
        if s is None:
            return []
        if minutes is None:
            return list(s.seconds)
        out = s.minutes.resample(minutes)
        daily = self._daily.get(symbol)
        if minutes != 1440 or not daily:
            return out
        if not out:
            return list(daily)
        # Seeded days before the first day the minutes cover, then the minutes' days: no day
        # twice, no gap. That first day is usually cut short (the minute seed starts at a
        # time of day, or old minutes were dropped), so its daily bar wins when there is one
        # — unless it is the only minute day: then it is today, which live trades keep current.
        first = out[0].start_ms
        i = bisect_left(daily, first, key=_start)
        if len(out) > 1 and i < len(daily) and daily[i].start_ms == first:
            return daily[: i + 1] + out[1:]
        return daily[:i] + out

    # -- writing: history ---------------------------------------------------

    def seed_bars(
        self, symbol: str, bars: Sequence[Agg | Bar], *, prev_close: float | None = None
    ) -> None:
        """Merge REST minute bars (ascending) with what was built live; see bars.py rules.

        Also fills the day statistics from the current day's minutes (unless the
        server's official figures already hold them) and the last price if no
        live trade has set it yet. Seeding makes the symbol watched (deep), so
        the history is not cut to the shallow size.
        """
        self.watch((symbol,))
        s = self._symbol(symbol)
        seeded = [b.copy() if isinstance(b, Bar) else Bar.from_agg(b) for b in bars]
        forming = s.fbar.start_ms if s.fbar is not NO_BAR else math.inf
        s.minutes.seed(seeded, int(forming) if forming != math.inf else 2**62)
        if s.fbar is not s.minutes.tail and s.fbar is not NO_BAR:  # history newer than it
            self._unlink(s)
            s.fbar = NO_BAR
        if prev_close is not None:
            s.prev_close = prev_close
        if seeded:
            newest = max(seeded, key=lambda b: b.start_ms)
            if s.last_ms < newest.start_ms + MINUTE_MS and s.last_ms == 0:
                s.last_price = newest.close
                s.last_ms = newest.start_ms + MINUTE_MS
            if s.day_end_ms == 0:
                s.day_end_ms = day_bounds(newest.start_ms)[1]
            self._settle(s)
            self._day_from_minutes(s)
        self.version += 1
        s.version = self.version

    def seed_daily(self, symbol: str, bars: Sequence[Agg | Bar]) -> None:
        """Store REST daily bars for ``bars(symbol, "1D")`` (the newest ``daily_bars`` days).

        Minute history reaches back only a few days, so months of daily candles
        must come from daily bars. They are kept apart from the minutes (the hot
        path never sees them) and shown only for days before the first day the
        minutes cover, where the minutes' own candles, which live trades keep
        current, take over. A bar belongs to the New York day holding its start
        plus 12 h, so both stock days (New York midnight) and forex/crypto days
        (UTC midnight) land on their own date; its start becomes that day's
        start, as the minute-built days have. A re-seeded day replaces the old.
        """
        self.watch((symbol,))
        s = self._symbol(symbol)
        days = {b.start_ms: b for b in self._daily.get(symbol, ())}
        for b in bars:
            bar = b.copy() if isinstance(b, Bar) else Bar.from_agg(b)
            bar.start_ms = cached_day_bounds(bar.start_ms + _HALF_DAY_MS)[0]
            bar.source = SEED
            days[bar.start_ms] = bar
        self._daily[symbol] = sorted(days.values(), key=_start)[-self._daily_cap :]
        self.version += 1
        s.version = self.version

    @staticmethod
    def _day_from_minutes(s: SymbolState) -> None:
        """Day open/high/low/volume/VWAP from the minute bars of the current day."""
        start = day_bounds(s.day_end_ms - 1)[0]
        day = s.minutes.between(start, s.day_end_ms)
        if not day:
            return
        if not s.open_official:
            s.day_open = day[0].open
        s.day_high = max(s.day_high, max(b.high for b in day))
        s.day_low = min(s.day_low, min(b.low for b in day))
        volume = sum(b.volume for b in day)
        if volume > s.vol:
            s.vol = volume
            s.pv = sum(b.pv for b in day)

    # -- writing: the hot path ------------------------------------------------

    def apply(self, events: Sequence[Event], recv_ms: int) -> None:
        """Apply one decoded frame (``recv_ms``: local receive time, for staleness)."""
        if not events:
            return
        self.version += 1
        it = iter(events)
        while True:
            try:
                self._run(it, recv_ms)
                return
            except _BAD_VALUE:
                self.bad_events += 1  # that event is skipped; go on with the rest

    def _symbol(self, symbol: str) -> SymbolState:
        s = self.symbols.get(symbol)
        if s is None:
            if not _SYMBOL_OK(symbol):
                # Wire text is untrusted: a "symbol" with escapes or markup never becomes
                # state the UI would draw. Raising skips (and counts) just this event.
                raise ValueError("not a symbol")
            deep = self._deep
            depth = deep if symbol in self._watched else self._shallow
            s = SymbolState(symbol, len(self._rings), self.conditions, depth, deep)
            self._rings.append(s.trade_ring)
            self.symbols[symbol] = s
        return s

    def _run(self, it: Iterator[Any], recv_ms: int) -> None:
        """The loop proper; ``it`` is shared with apply() so a failed event is skipped."""
        v = self.version
        get = self.symbols.get
        new = self._symbol
        cget = self.conditions.lookup.get
        intern = self.conditions.intern
        dispatch = self._dispatch
        slow, unlink = self._trade, self._unlink
        tape = self.tape
        gidx, gcap, gn = tape.idx, tape.cap, tape.seq
        tpack, qpack, apack = _TPACK, _QPACK, _APACK
        tq, tt, ta = Quote, Trade, SecondAgg
        roll = self._roll
        # Module constants as locals: LOAD_FAST beats LOAD_GLOBAL in a loop this hot.
        trec, qrec, arec, minute, every, plain = _TREC, _QREC, _AREC, MINUTE_MS, ALL_FLAGS, ALL_CODE
        buy, sell, up, down, ext = SIDE_BUY, SIDE_SELL, TICK_UP, TICK_DOWN, EXTENDED_SHIFT
        last, high_low, vol_ok = UPDATES_LAST, UPDATES_HIGH_LOW, UPDATES_VOLUME
        nan, regular, tend = math.nan, is_regular_hours, MS_END
        try:
            for ev in it:
                tp = type(ev)
                if tp is tq:
                    t = ev.timestamp
                    if not 0 <= t < tend:
                        raise ValueError("quote time out of range")
                    s = get(ev.symbol)
                    if s is None:
                        s = new(ev.symbol)
                    s.bid_px = ev.bid
                    s.ask_px = ev.ask
                    s.bid_sz = ev.bid_size
                    s.ask_sz = ev.ask_size
                    s.quote_ms = t
                    qcap = s.qcap
                    if qcap:  # quote history only for symbols whose quote tape is read
                        qt = s.quote_ring
                        n = qt.seq
                        qpack(
                            qt.buf,
                            (n % qcap) * qrec,
                            t,
                            ev.bid,
                            ev.ask,
                            ev.bid_size,
                            ev.ask_size,
                        )
                        qt.seq = n + 1
                    s.version = v
                    s.updated_ms = recv_ms
                elif tp is tt:
                    s = get(ev.symbol)
                    if s is None:
                        s = new(ev.symbol)
                    p = ev.price
                    size = ev.size
                    t = ev.timestamp
                    c = ev.conditions
                    if c:
                        cc = cget(c)
                        if cc is None:
                            cc = intern(c)
                    else:
                        cc = plain
                    if p >= s.ask_px > 0.0:
                        code = buy
                    elif 0.0 < s.bid_px >= p:
                        code = sell
                    else:
                        code = 0
                    lp = s.last_price
                    if p > lp:
                        code |= up
                        tick = 1
                    elif p < lp:
                        code |= down
                        tick = -1
                    else:
                        tick = 0
                    fb = s.fast
                    # In the linked bar's minute, so this day's; else the time is checked
                    # (the linked bar's own start was, so the inline path needs no check).
                    inline = fb.start_ms == t - t % minute
                    if not inline and not 0 <= t < tend:
                        raise ValueError("trade time out of range")
                    # The rings first: a value they cannot hold raises before any state moved.
                    st = s.trade_ring
                    n = st.seq
                    tpack(st.buf, (n % st.cap) * trec, t, p, size, code, ev.exchange, cc)
                    gidx[gn % gcap] = s.index
                    st.seq = n + 1
                    gn += 1
                    if inline:
                        fl = cc & every
                        if fl == every:
                            s.last_price = p
                            s.last_size = size
                            s.last_ms = t
                            s.tick = tick
                            if p > fb.high:
                                fb.high = p
                                if p > s.day_high:
                                    s.day_high = p
                            elif p < fb.low:
                                fb.low = p
                                if p < s.day_low:
                                    s.day_low = p
                            fb.close = p
                            fb.volume += size
                            fb.pv += p * size
                            fb.transactions += 1
                        else:
                            bf = cc >> ext & every  # the minute bar's rules outside 09:30-16:00
                            if bf == fl or regular(t):
                                bf = fl
                            if bf & last:
                                s.last_price = p
                                s.last_size = size
                                s.last_ms = t
                                s.tick = tick
                                fb.close = p
                            if bf & vol_ok:
                                fb.volume += size
                                fb.pv += p * size
                                fb.transactions += 1
                            if bf & high_low:
                                # A Form T price may widen the bar past the day's range:
                                # then the bar no longer fits in the day (see _link).
                                day_hl = fl & high_low
                                if p > fb.high:
                                    fb.high = p
                                    if p > s.day_high:
                                        if day_hl:
                                            s.day_high = p
                                        else:
                                            unlink(s)
                                if p < fb.low:
                                    fb.low = p
                                    if p < s.day_low:
                                        if day_hl:
                                            s.day_low = p
                                        else:
                                            unlink(s)
                    else:
                        slow(s, p, size, t, cc, tick)
                    s.version = v
                    s.updated_ms = recv_ms
                elif tp is ta:  # a stock second bar: _day_from_agg's rules, inline
                    start = ev.start
                    end = ev.end or start + 1000
                    if not (0 <= start < tend and 0 <= end < tend):
                        raise ValueError("bar time out of range")
                    s = get(ev.symbol)
                    if s is None:
                        s = new(ev.symbol)
                    sr = s.seconds
                    n = sr.seq
                    high = ev.high
                    low = ev.low
                    vw = ev.vwap
                    if vw is None:
                        vw = nan
                    # the record BarRing.put packs
                    o = (n % sr.cap) * arec
                    apack(sr.buf, o, start, ev.open, high, low, ev.close, ev.volume, vw, 1)
                    sr.seq = n + 1
                    if start >= s.day_end_ms:
                        roll(s, start)
                    op = ev.day_open
                    if op is not None:
                        s.day_open = op
                        s.open_official = True
                    elif s.day_open is None:
                        s.day_open = ev.open
                    if high > s.day_high:
                        s.day_high = high
                    if low < s.day_low:
                        s.day_low = low
                    av = ev.day_volume
                    if av is not None:
                        fb = s.fast
                        volume = s.vol + (fb.volume - s.fast_v)
                        if av > volume:
                            a = ev.day_vwap
                            if a is None:
                                a = (s.pv + (fb.pv - s.fast_pv)) / volume if volume else ev.close
                            s.pv = a * av
                            s.vol = av
                            s.fast_v = fb.volume
                            s.fast_pv = fb.pv
                    if end > s.last_ms:
                        s.last_price = ev.close
                        s.last_ms = end
                    s.version = v
                    s.updated_ms = recv_ms
                else:
                    handler = dispatch.get(tp)
                    if handler is not None:
                        handler(ev, recv_ms, v)
        finally:
            tape.seq = gn

    # -- the day's volume, folded from the linked forming bar ---------------------

    @staticmethod
    def _settle(s: SymbolState) -> None:
        """Fold what the linked bar gained into the day's volume/pv (it stays linked)."""
        fb = s.fast
        if fb is not NO_BAR:
            s.vol += fb.volume - s.fast_v
            s.pv += fb.pv - s.fast_pv
            s.fast_v = fb.volume
            s.fast_pv = fb.pv

    def _unlink(self, s: SymbolState) -> None:
        """Settle and unlink: what comes next may change the bar or the day off the hot path."""
        if s.fast is not NO_BAR:
            self._settle(s)
            s.fast = NO_BAR
            s.fast_v = 0
            s.fast_pv = 0.0

    @staticmethod
    def _link(s: SymbolState) -> None:
        """Let the hot path form ``fbar`` if the day's figures already cover it.

        Needs an open (the hot path never sets it) and the bar's range inside
        the day's (so the hot path can skip the day's range when the bar's
        does not move). Else trades go through ``_trade`` until the next minute.
        """
        fb = s.fbar
        if (
            fb is not NO_BAR
            and s.day_open is not None
            and s.day_low <= fb.low
            and fb.high <= s.day_high
        ):
            s.fast = fb
            s.fast_v = fb.volume
            s.fast_pv = fb.pv

    # -- trades off the hot path ------------------------------------------------------

    def _trade(self, s: SymbolState, p: float, size: float, t: int, code: int, tick: int) -> None:
        """Apply a trade the inline path does not take (see the module docstring).

        ``code`` holds both rule sets (feed.conditions): the consolidated flags
        move the day's figures; the minute bar and the last price follow
        :func:`bar_flags`, which lets Form T trades price extended-hours bars.
        """
        m = t - t % MINUTE_MS
        # A late print (an older minute) leaves the linked bar alone: its volume goes
        # straight into vol/pv and it can only widen the day's range. A trade for the
        # newest minute or a newer one may change or replace the bar: unlink first.
        relink = m >= s.fbar.start_ms
        if relink:
            self._unlink(s)
        if t >= s.day_end_ms:
            self._roll(s, t)
        day = code & ALL_FLAGS
        fl = day if code >> EXTENDED_SHIFT & ALL_FLAGS == day else bar_flags(code, t)
        if fl & UPDATES_LAST:
            s.last_price = p
            s.last_size = size
            s.last_ms = t
            s.tick = tick
        if day & UPDATES_LAST and s.day_open is None:
            s.day_open = p
        if day & UPDATES_HIGH_LOW:
            if p > s.day_high:
                s.day_high = p
            if p < s.day_low:
                s.day_low = p
        if day & UPDATES_VOLUME:
            s.vol += size
            s.pv += p * size
        fb = s.fbar
        if fb.start_ms == m:
            if fl & UPDATES_HIGH_LOW:
                if p > fb.high:
                    fb.high = p
                if p < fb.low:
                    fb.low = p
            if fl & UPDATES_LAST:
                fb.close = p
            if fl & UPDATES_VOLUME:
                fb.volume += size
                fb.pv += p * size
                fb.transactions += 1
        elif fl & (UPDATES_LAST | UPDATES_VOLUME):
            nb = s.minutes.trade(m, p, size, fl)
            if nb is not None:
                s.fbar = nb
        if relink:
            self._link(s)

    def _roll(self, s: SymbolState, t: int) -> None:
        """A new exchange-zone day starts for ``s``: yesterday's close becomes prev_close.

        A stock's close is its regular session's (``MinuteBars.regular_close``), never an
        after-hours print; a day seen only outside regular hours, and forex and crypto, which
        have no sessions, keep their last price.
        """
        self._unlink(s)
        if s.day_end_ms and s.last_price == s.last_price:
            close = s.minutes.regular_close(s.day_end_ms - 1) if has_sessions(s.symbol) else None
            s.prev_close = s.last_price if close is None else close
        if s.day_end_ms:
            s.day_open = None
            s.open_official = False
            s.day_high = -math.inf
            s.day_low = math.inf
            s.vol = 0
            s.pv = 0.0
        s.day_end_ms = cached_day_bounds(t)[1]

    def _crypto_trade(self, ev: CryptoTrade, recv_ms: int, v: int) -> None:
        p, size, t = ev.price, ev.size, ev.timestamp
        _check_ms(t)
        s = self._symbol(ev.pair)
        c = ev.conditions
        if 2 in c or (not c and p >= s.ask_px > 0.0):
            code = SIDE_BUY
        elif 1 in c or (not c and 0.0 < s.bid_px >= p):
            code = SIDE_SELL
        else:
            code = 0
        lp = s.last_price
        tick = 1 if p > lp else -1 if p < lp else 0
        code |= TICK_UP if tick == 1 else TICK_DOWN if tick == -1 else 0
        self._tape(s, t, p, size, code, ev.exchange)
        self._trade(s, p, size, t, ALL_CODE, tick)
        s.version = v
        s.updated_ms = recv_ms

    def _tape(self, s: SymbolState, t: int, p: float, size: float, code: int, x: int) -> None:
        """Append to the symbol's and the all-symbol trade rings (non-hot-path trades)."""
        g = self.tape
        s.trade_ring.pack(t, p, size, code, x, ALL_FLAGS)
        g.idx[g.seq % g.cap] = s.index
        g.seq += 1

    # -- quotes that are not stock NBBO quotes ----------------------------------

    def _put_quote(
        self, s: SymbolState, t: int, bid: float, ask: float, bid_size: float, ask_size: float
    ) -> None:
        if s.qcap:
            s.quote_ring.pack(t, bid, ask, bid_size, ask_size)
        s.bid_px = bid
        s.ask_px = ask
        s.bid_sz = bid_size
        s.ask_sz = ask_size
        s.quote_ms = t

    def _forex_quote(self, ev: ForexQuote, recv_ms: int, v: int) -> None:
        """Forex has no trades: the mid is the last price and drives the day range."""
        t = ev.timestamp
        _check_ms(t)
        s = self._symbol(ev.pair)
        self._put_quote(s, t, ev.bid, ev.ask, 0, 0)
        mid = (ev.bid + ev.ask) / 2
        if t >= s.day_end_ms:
            self._roll(s, t)
        lp = s.last_price
        s.tick = 1 if mid > lp else -1 if mid < lp else 0
        s.last_price, s.last_ms = mid, t
        if s.day_open is None:
            s.day_open = mid
        s.day_high = max(s.day_high, mid)
        s.day_low = min(s.day_low, mid)
        s.version = v
        s.updated_ms = recv_ms

    def _crypto_quote(self, ev: CryptoQuote, recv_ms: int, v: int) -> None:
        _check_ms(ev.timestamp)
        s = self._symbol(ev.pair)
        self._put_quote(s, ev.timestamp, ev.bid, ev.ask, ev.bid_size, ev.ask_size)
        s.version = v
        s.updated_ms = recv_ms

    def _crypto_l2(self, ev: CryptoL2, recv_ms: int, v: int) -> None:
        """A book snapshot replaces the pair's book; the symbol's row is not touched (its
        figures did not change), so the book carries its own version."""
        _check_ms(ev.timestamp)
        self._symbol(ev.pair)  # the same symbol check as every other event
        book = self.books.get(ev.pair)
        if book is None:
            book = self.books[ev.pair] = OrderBook(ev.pair)
        book.replace(ev.bids, ev.asks, ev.timestamp, ev.exchange, v)

    # -- bars -------------------------------------------------------------------

    def _bar_in(self, s: SymbolState, bar: Bar, end_ms: int) -> None:
        """An authoritative minute bar: replaces that minute; newer close → last price."""
        s.minutes.put_am(bar)
        if s.fbar.start_ms <= bar.start_ms:
            self._unlink(s)
            s.fbar = NO_BAR  # later trades of that minute must not change the AM bar
        if end_ms > s.last_ms:
            s.last_price, s.last_ms = bar.close, end_ms

    def _day_from_agg(self, s: SymbolState, ev: MinuteAgg | SecondAgg) -> None:
        """The server's day figures (`op`, `av`, `a`) where present; else extend from the bar.

        The bar only widens the day's range, so a linked forming bar stays linked.
        """
        start = ev.start
        if start >= s.day_end_ms:
            self._roll(s, start)
        op = ev.day_open
        if op is not None:
            s.day_open = op
            s.open_official = True
        elif s.day_open is None:
            s.day_open = ev.open
        high, low = ev.high, ev.low
        if high > s.day_high:
            s.day_high = high
        if low < s.day_low:
            s.day_low = low
        av = ev.day_volume
        if av is not None:
            fb = s.fast
            volume = s.vol + (fb.volume - s.fast_v)
            if av > volume:
                a = ev.day_vwap
                if a is None:  # keep the VWAP so far (the bar's close if there is none)
                    a = (s.pv + (fb.pv - s.fast_pv)) / volume if volume else ev.close
                s.pv = a * av
                s.vol = av
                s.fast_v = fb.volume  # the linked bar's volume so far is inside `av`
                s.fast_pv = fb.pv

    def _minute_agg(self, ev: MinuteAgg, recv_ms: int, v: int) -> None:
        # Every value checked before anything moves: a bar the store cannot hold must
        # not have moved the day's figures first.
        _check_ms(ev.start, ev.end)
        n = round(ev.volume / ev.avg_size) if ev.avg_size else 0
        bar = Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, n, AM)
        MinuteBars.check(bar)
        if ev.day_volume is not None:
            float(ev.day_volume)  # becomes part of a float sum: raises if it cannot
        s = self._symbol(ev.symbol)
        self._day_from_agg(s, ev)
        self._bar_in(s, bar, ev.end or ev.start + MINUTE_MS)
        s.version = v
        s.updated_ms = recv_ms

    def _pair_minute(self, ev: ForexMinuteAgg | CryptoMinuteAgg, recv_ms: int, v: int) -> None:
        _check_ms(ev.start, ev.end)
        s = self._symbol(ev.pair)
        bar = Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, 0, AM)
        self._bar_in(s, bar, ev.end or ev.start + MINUTE_MS)
        s.version = v
        s.updated_ms = recv_ms

    def _pair_second(self, ev: ForexSecondAgg | CryptoSecondAgg, recv_ms: int, v: int) -> None:
        _check_ms(ev.start, ev.end)
        s = self._symbol(ev.pair)
        s.seconds.put(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap)
        s.version = v
        s.updated_ms = recv_ms

    # -- notable events -----------------------------------------------------------

    def _luld(self, ev: LimitUpLimitDown, recv_ms: int, v: int) -> None:
        t = normalize_ms(ev.timestamp)
        _check_ms(t)
        s = self._symbol(ev.symbol)
        s.luld_high, s.luld_low = ev.high, ev.low
        if LULD_HALT in ev.indicators:
            s.halted = True
            self.events_tape.append(NoticeEntry("HALT", ev.symbol, t, "trading halted"))
        elif LULD_RESUME in ev.indicators:
            s.halted = False
            self.events_tape.append(NoticeEntry("RESUME", ev.symbol, t, "trading resumed"))
        else:
            self.events_tape.append(
                NoticeEntry("LULD", ev.symbol, t, f"band {ev.low:g} - {ev.high:g}")
            )
        s.version = v
        s.updated_ms = recv_ms

    def _imbalance(self, ev: Imbalance, recv_ms: int, v: int) -> None:
        t = normalize_ms(ev.timestamp)
        _check_ms(t)
        s = self._symbol(ev.symbol)
        detail = (
            f"{ev.auction_type} auction {ev.auction_time:04d}: imbalance {ev.imbalance:,} "
            f"paired {ev.paired:,} @ {ev.clearing_price:g}"
        )
        self.events_tape.append(NoticeEntry("NOI", ev.symbol, t, detail))
        s.version = v
        s.updated_ms = recv_ms

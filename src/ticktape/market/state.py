"""MarketState: applies decoded frames to per-symbol state. The hot path.

``apply`` makes one pass over a frame. Quotes and trades (nearly all of the
firehose) are handled inline with local-variable caching and ``type(ev) is``
checks ordered by frequency; everything else goes through a dict of bound
methods. Nothing decoded outlives the frame except the current Quote per
symbol (the NBBO): rings store packed records (see tape.py).

Conflation: ``version`` goes up once per applied frame (and per seed); every
symbol touched gets that version, so ``changed_since(v)`` is a scan of the
symbols with no per-event bookkeeping.

Wire data is untrusted: a value a packed ring cannot hold (an absurd exchange
id or timestamp) skips that one event, counted in :attr:`bad_events`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from ticktape.feed.conditions import (
    ALL_CODE,
    ALL_FLAGS,
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    UPDATES_VOLUME,
    ConditionCache,
    bar_flags,
)
from ticktape.feed.events import (
    Agg,
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
from ticktape.market.bars import AM, MINUTE_MS, TIMEFRAMES, Bar, day_bounds
from ticktape.market.symbol import NO_BAR, SymbolState
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
from ticktape.timeutil import normalize_ms

#: LULD indicators for a trading halt and a resumption (Nasdaq-listed only, per Polygon).
LULD_HALT: Final = 17
LULD_RESUME: Final = 18

_BAD_VALUE: Final = (struct.error, OverflowError, TypeError, ValueError)
_TPACK: Final = TRADE_REC.pack_into
_QPACK: Final = QUOTE_REC.pack_into
_TREC: Final = TRADE_REC.size
_QREC: Final = QUOTE_REC.size


class MarketState:
    """All symbols' state, the all-symbol tapes, and the conflation counter."""

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
    ) -> None:
        self.symbols: dict[str, SymbolState] = {}
        self._record_quotes = record_all_quotes
        self.version = 0
        self.bad_events = 0  # events skipped because a value could not be stored
        self.conditions = ConditionCache()
        self._rings: list[TradeTape] = []  # symbol index → its trade ring
        self.tape = MarketTape(tape_size, self._rings)
        self.events_tape: ObjectRing[NoticeEntry] = ObjectRing(notice_size)
        self._sizes = (
            max(1, symbol_tape_size),
            max(1, symbol_quote_size),
            second_bars,
            minute_bars,
        )
        self._dispatch: dict[type, Callable[[Any, int, int], None]] = {
            MinuteAgg: self._minute_agg,
            SecondAgg: self._second_agg,
            LimitUpLimitDown: self._luld,
            Imbalance: self._imbalance,
            ForexQuote: self._forex_quote,
            CryptoQuote: self._crypto_quote,
            CryptoTrade: self._crypto_trade,
            ForexMinuteAgg: self._pair_minute,
            CryptoMinuteAgg: self._pair_minute,
            ForexSecondAgg: self._pair_second,
            CryptoSecondAgg: self._pair_second,
        }

    # -- reading ------------------------------------------------------------

    def get(self, symbol: str) -> SymbolState | None:
        return self.symbols.get(symbol)

    def changed_since(self, version: int) -> set[str]:
        """Symbols changed after ``version`` (remember :attr:`version` after each read)."""
        return {sym for sym, s in self.symbols.items() if s.version > version}

    def bars(self, symbol: str, timeframe: str) -> list[Bar]:
        """Bars oldest first, forming bar included: "1s", "1m", "5m", "15m", "1h", "1D".

        The Bar objects are the stored ones; treat them as read-only.
        """
        s = self.symbols.get(symbol)
        if timeframe == "1s":
            return list(s.seconds) if s is not None else []
        minutes = TIMEFRAMES.get(timeframe)
        if minutes is None:
            raise ValueError(f"unknown timeframe {timeframe!r}")
        return s.minutes.resample(minutes) if s is not None else []

    # -- writing: history ---------------------------------------------------

    def seed_bars(
        self, symbol: str, bars: Sequence[Agg | Bar], *, prev_close: float | None = None
    ) -> None:
        """Merge REST minute bars (ascending) with what was built live; see bars.py rules.

        Also fills the day statistics from the current day's minutes (unless the
        server's official figures already hold them) and the last price if no
        live trade has set it yet.
        """
        s = self._symbol(symbol)
        seeded = [b.copy() if isinstance(b, Bar) else Bar.from_agg(b) for b in bars]
        forming = s.fbar.start_ms if s.fbar is not NO_BAR else math.inf
        s.minutes.seed(seeded, int(forming) if forming != math.inf else 2**62)
        if prev_close is not None:
            s.prev_close = prev_close
        if seeded:
            newest = max(seeded, key=lambda b: b.start_ms)
            if s.last_ms < newest.start_ms + MINUTE_MS and s.last_ms == 0:
                s.last_price = newest.close
                s.last_ms = newest.start_ms + MINUTE_MS
            if s.day_end_ms == 0:
                s.day_end_ms = day_bounds(newest.start_ms)[1]
            self._day_from_minutes(s)
        self.version += 1
        s.version = self.version

    @staticmethod
    def _day_from_minutes(s: SymbolState) -> None:
        """Day open/high/low/volume/VWAP from the minute bars of the current day."""
        start = day_bounds(s.day_end_ms - 1)[0]
        day = [b for b in s.minutes.bars if start <= b.start_ms < s.day_end_ms]
        if not day:
            return
        if not s.open_official:
            s.day_open = day[0].open
        s.day_high = max(s.day_high, max(b.high for b in day))
        s.day_low = min(s.day_low, min(b.low for b in day))
        volume = sum(b.volume for b in day)
        if volume > s.volume:
            s.volume = volume
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
            tsize, qsize, sbars, mbars = self._sizes
            s = SymbolState(
                symbol,
                len(self._rings),
                self.conditions,
                tape_size=tsize,
                quote_size=qsize,
                record_quotes=self._record_quotes,
                second_bars=sbars,
                minute_bars=mbars,
            )
            self._rings.append(s.trades)
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
        general = self._trade
        roll = self._roll
        tcap = self._sizes[0]
        tape = self.tape
        gidx, gcap, gn = tape.idx, tape.cap, tape.seq
        tpack, qpack = _TPACK, _QPACK
        tq, tt = Quote, Trade
        # Module constants as locals: LOAD_FAST beats LOAD_GLOBAL in a loop this hot.
        trec, qrec, minute, every = _TREC, _QREC, MINUTE_MS, ALL_FLAGS
        buy, sell, up, down = SIDE_BUY, SIDE_SELL, TICK_UP, TICK_DOWN
        try:
            for ev in it:
                tp = type(ev)
                if tp is tq:
                    s = get(ev.symbol)
                    if s is None:
                        s = new(ev.symbol)
                    s.quote = ev
                    qcap = s.qcap
                    if qcap:  # quote history only for symbols whose quote tape is read
                        qt = s.quote_ring
                        n = qt.seq
                        qb = qt.buf or qt.ensure()
                        qpack(
                            qb,
                            (n % qcap) * qrec,
                            ev.timestamp,
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
                        cc = every
                    q = s.quote
                    if p >= q.ask > 0.0:
                        code = buy
                    elif 0.0 < q.bid >= p:
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
                    # The rings first: a value they cannot hold raises before any state moved.
                    st = s.trades
                    n = st.seq
                    tb = st.buf or st.ensure()
                    x = ev.exchange
                    tpack(tb, (n % tcap) * trec, t, p, size, code, x, cc)
                    gidx[gn % gcap] = s.index
                    st.seq = n + 1
                    gn += 1
                    if t >= s.day_end_ms:
                        roll(s, t)
                    if cc & 7 == every:
                        s.last_price = p
                        s.last_size = size
                        s.last_ms = t
                        s.tick = tick
                        if s.day_open is None:
                            s.day_open = p
                        if p > s.day_high:
                            s.day_high = p
                        if p < s.day_low:
                            s.day_low = p
                        pv = p * size
                        s.volume += size
                        s.pv += pv
                        m = t - t % minute
                        fb = s.fbar
                        if fb.start_ms == m:
                            if p > fb.high:
                                fb.high = p
                            elif p < fb.low:
                                fb.low = p
                            fb.close = p
                            fb.volume += size
                            fb.pv += pv
                            fb.transactions += 1
                        else:
                            nb = s.minutes.trade(m, p, size, every)
                            if nb is not None:
                                s.fbar = nb
                    else:
                        general(s, p, size, t, cc, tick)
                    s.version = v
                    s.updated_ms = recv_ms
                else:
                    handler = dispatch.get(tp)
                    if handler is not None:
                        handler(ev, recv_ms, v)
        finally:
            tape.seq = gn

    # -- trades that are not plain eligible stock trades ------------------------

    def _trade(self, s: SymbolState, p: float, size: float, t: int, code: int, tick: int) -> None:
        """Apply a trade whose conditions withhold some updates (odd lots, late prints...).

        ``code`` holds both rule sets (feed.conditions): the consolidated flags
        move the day's figures; the minute bar and the last price follow
        :func:`bar_flags`, which lets Form T trades price extended-hours bars.
        """
        day = code & ALL_FLAGS
        fl = bar_flags(code, t)
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
            s.volume += size
            s.pv += p * size
        m = t - t % MINUTE_MS
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

    def _roll(self, s: SymbolState, t: int) -> None:
        """A new exchange-zone day starts for ``s``: yesterday's last becomes prev_close."""
        if s.day_end_ms and s.last_price == s.last_price:
            s.prev_close = s.last_price
        if s.day_end_ms:
            s.day_open = None
            s.open_official = False
            s.day_high = -math.inf
            s.day_low = math.inf
            s.volume = 0
            s.pv = 0.0
        s.day_end_ms = day_bounds(t)[1]

    def _crypto_trade(self, ev: CryptoTrade, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.pair)
        p, size, t = ev.price, ev.size, ev.timestamp
        c = ev.conditions
        q = s.quote
        if 2 in c or (not c and p >= q.ask > 0.0):
            code = SIDE_BUY
        elif 1 in c or (not c and 0.0 < q.bid >= p):
            code = SIDE_SELL
        else:
            code = 0
        lp = s.last_price
        tick = 1 if p > lp else -1 if p < lp else 0
        code |= TICK_UP if tick == 1 else TICK_DOWN if tick == -1 else 0
        if t >= s.day_end_ms:
            self._roll(s, t)
        self._trade(s, p, size, t, ALL_CODE, tick)
        self._tape(s, t, p, size, code, ev.exchange)
        s.version = v
        s.updated_ms = recv_ms

    def _tape(self, s: SymbolState, t: int, p: float, size: float, code: int, x: int) -> None:
        """Append to the symbol's and the all-symbol trade rings (non-hot-path trades)."""
        st, g = s.trades, self.tape
        _TPACK(st.buf or st.ensure(), (st.seq % st.cap) * _TREC, t, p, size, code, x, ALL_FLAGS)
        g.idx[g.seq % g.cap] = s.index
        st.seq += 1
        g.seq += 1

    # -- quotes that are not stock NBBO quotes ----------------------------------

    def _put_quote(self, s: SymbolState, q: Quote, v: int, recv_ms: int) -> None:
        s.quote = q
        s.version = v
        s.updated_ms = recv_ms
        qt = s.quote_ring
        if not s.qcap:
            return
        _QPACK(
            qt.buf or qt.ensure(),
            (qt.seq % qt.cap) * _QREC,
            q.timestamp,
            q.bid,
            q.ask,
            q.bid_size,
            q.ask_size,
        )
        qt.seq += 1

    def _forex_quote(self, ev: ForexQuote, recv_ms: int, v: int) -> None:
        """Forex has no trades: the mid is the last price and drives the day range."""
        s = self._symbol(ev.pair)
        t = ev.timestamp
        self._put_quote(s, Quote(symbol=ev.pair, bid=ev.bid, ask=ev.ask, timestamp=t), v, recv_ms)
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

    def _crypto_quote(self, ev: CryptoQuote, recv_ms: int, v: int) -> None:
        q = Quote(
            symbol=ev.pair,
            bid=ev.bid,
            ask=ev.ask,
            timestamp=ev.timestamp,
            bid_size=ev.bid_size,  # type: ignore[arg-type]
            ask_size=ev.ask_size,  # type: ignore[arg-type]
        )
        self._put_quote(self._symbol(ev.pair), q, v, recv_ms)

    # -- bars -------------------------------------------------------------------

    def _bar_in(self, s: SymbolState, bar: Bar, end_ms: int) -> None:
        """An authoritative minute bar: replaces that minute; newer close → last price."""
        s.minutes.put_am(bar)
        if s.fbar.start_ms <= bar.start_ms:
            s.fbar = NO_BAR  # later trades of that minute must not change the AM bar
        if end_ms > s.last_ms:
            s.last_price, s.last_ms = bar.close, end_ms

    def _day_from_agg(self, s: SymbolState, ev: MinuteAgg | SecondAgg) -> None:
        """The server's day figures (`op`, `av`, `a`) where present; else extend from the bar."""
        if ev.start >= s.day_end_ms:
            self._roll(s, ev.start)
        if ev.day_open is not None:
            s.day_open, s.open_official = ev.day_open, True
        elif s.day_open is None:
            s.day_open = ev.open
        s.day_high = max(s.day_high, ev.high)
        s.day_low = min(s.day_low, ev.low)
        av = ev.day_volume
        if av is not None and av > s.volume:
            a = ev.day_vwap
            s.pv = (
                a * av if a is not None else (s.pv / s.volume * av if s.volume else ev.close * av)
            )
            s.volume = av

    def _minute_agg(self, ev: MinuteAgg, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.symbol)
        self._day_from_agg(s, ev)
        n = round(ev.volume / ev.avg_size) if ev.avg_size else 0
        bar = Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, n, AM)
        self._bar_in(s, bar, ev.end or ev.start + MINUTE_MS)
        s.version = v
        s.updated_ms = recv_ms

    def _second_agg(self, ev: SecondAgg, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.symbol)
        self._day_from_agg(s, ev)
        s.seconds.append(
            Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, 0, AM)
        )
        end = ev.end or ev.start + 1000
        if end > s.last_ms:
            s.last_price, s.last_ms = ev.close, end
        s.version = v
        s.updated_ms = recv_ms

    def _pair_minute(self, ev: ForexMinuteAgg | CryptoMinuteAgg, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.pair)
        bar = Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, 0, AM)
        self._bar_in(s, bar, ev.end or ev.start + MINUTE_MS)
        s.version = v
        s.updated_ms = recv_ms

    def _pair_second(self, ev: ForexSecondAgg | CryptoSecondAgg, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.pair)
        s.seconds.append(
            Bar(ev.start, ev.open, ev.high, ev.low, ev.close, ev.volume, ev.vwap, 0, AM)
        )
        s.version = v
        s.updated_ms = recv_ms

    # -- notable events -----------------------------------------------------------

    def _luld(self, ev: LimitUpLimitDown, recv_ms: int, v: int) -> None:
        s = self._symbol(ev.symbol)
        s.luld_high, s.luld_low = ev.high, ev.low
        t = normalize_ms(ev.timestamp)
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
        s = self._symbol(ev.symbol)
        detail = (
            f"{ev.auction_type} auction {ev.auction_time:04d}: imbalance {ev.imbalance:,} "
            f"paired {ev.paired:,} @ {ev.clearing_price:g}"
        )
        self.events_tape.append(NoticeEntry("NOI", ev.symbol, normalize_ms(ev.timestamp), detail))
        s.version = v
        s.updated_ms = recv_ms

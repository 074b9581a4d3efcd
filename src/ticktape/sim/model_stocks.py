"""Live US equities: NBBO quotes, trades, second/minute bars, LULD bands, imbalances.

Bars follow ``feed.conditions``, as the client's state does. See docs/simulator.md.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Final, TypeVar

from ticktape.feed.conditions import (
    FORM_T,
    ISO,
    ODD_LOT,
    UPDATES_HIGH_LOW,
    UPDATES_LAST,
    extended_flags_for,
    flags_for,
)
from ticktape.feed.events import (
    Agg,
    Event,
    Imbalance,
    LimitUpLimitDown,
    MinuteAgg,
    Quote,
    SecondAgg,
    Trade,
)
from ticktape.sim.model_calendar import MINUTE, regular_hours
from ticktape.sim.model_engine import Engine, LiveSymbol
from ticktape.sim.symbols import unit

_P_TRADE: Final = 0.35
_P_NOI_HALT: Final = 0.0002  # odd reopening-auction imbalances, so NOI shows at any hour


def _table(weights: dict[int, int], size: int = 256) -> tuple[int, ...]:
    """A lookup table in which each key appears in proportion to its weight."""
    total = sum(weights.values())
    out: list[int] = []
    for key, w in weights.items():
        out.extend([key] * round(size * w / total))
    return tuple(out)


# Polygon exchange ids: 1 NYSE American, 2 Nasdaq BX, 3 NYSE National, 4 FINRA TRF (off-exchange),
# 7 Cboe EDGA, 8 Cboe EDGX, 9 NYSE Chicago, 10 NYSE, 11 NYSE Arca, 12 Nasdaq, 15 IEX,
# 17 Nasdaq PSX, 18 Cboe BYX, 19 Cboe BZX, 21 MEMX.
_LIT: Final = {
    12: 20,
    11: 12,
    10: 10,
    19: 12,
    8: 10,
    21: 8,
    15: 6,
    18: 4,
    7: 4,
    17: 3,
    2: 3,
    3: 2,
    9: 2,
    1: 4,
}
QUOTE_EXCHANGES: Final = _table(_LIT)
TRADE_EXCHANGES: Final = _table({**_LIT, 4: 55})
_TRF_IDS: Final = (201, 202, 203)
_LOTS: Final = (
    1,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    4,
    4,
    5,
    5,
    6,
    7,
    8,
    9,
    10,
    10,
    12,
    15,
    20,
    25,
    30,
    40,
    50,
    60,
    80,
    100,
)
_ODD: Final = (1, 1, 2, 3, 5, 5, 7, 10, 10, 12, 15, 20, 25, 30, 33, 40, 50, 50, 60, 75, 80, 90, 99)


def _sizes() -> tuple[int, ...]:
    """Trade sizes by quantile: ~30 % odd lots, ~40 % exactly 100, round lots, a few blocks."""
    rng = random.Random(0)
    out = []
    for i in range(512):
        u = i / 512
        if u < 0.30:
            out.append(_ODD[i % len(_ODD)])
        elif u < 0.70:
            out.append(100)
        elif u < 0.78:
            out.append(rng.randrange(101, 500))
        elif u < 0.94:
            out.append(100 * rng.randrange(2, 10))
        elif u < 0.99:
            out.append(100 * rng.randrange(10, 50))
        else:
            out.append(1000 * rng.randrange(10, 50))
    rng.shuffle(out)
    return tuple(out)


SIZES: Final = _sizes()
#: Condition tuples by (odd lot) + 2 * (extended hours) + 4 * (intermarket sweep).
CONDITIONS: Final = (
    (),
    (ODD_LOT,),
    (FORM_T,),
    (FORM_T, ODD_LOT),
    (ISO,),
    (ISO, ODD_LOT),
    (FORM_T, ISO),
    (FORM_T, ISO, ODD_LOT),
)
#: What each tuple may update in its second/minute bar (bit 2 of the index: extended hours).
BAR_FLAGS: Final = tuple(
    extended_flags_for(c) if i & 2 else flags_for(c) for i, c in enumerate(CONDITIONS)
)
#: What each tuple may update in the day's figures (the consolidated rules).
DAY_FLAGS: Final = tuple(flags_for(c) for c in CONDITIONS)


class StockEngine(Engine):
    """Stocks cluster: ``T``, ``Q``, ``A``, ``AM``, ``LULD``, ``NOI``."""

    cluster = "stocks"
    day_totals = True

    def setup(self, st: LiveSymbol) -> None:
        u = unit("spread", st.sym)
        st.spread_frac = 0.00002 + 0.0008 * u * u * (1.0 - st.prof.weight)

    def on_day(self, d: date) -> None:
        self.reg_open, self.reg_close = regular_hours(d)
        self.noi_type = ""
        self.noi_at = 0

    def _seed_day(self, st: LiveSymbol) -> None:
        """As the engine's, but the official open is the regular session's (none before 09:30)."""
        super()._seed_day(st)
        st.dopen = st.hist.day_so_far(self.reg_open)[2] if self.now > self.reg_open else 0
        self.cold.append(st)  # its snapshot figures are made later (SimMarket.advance)

    def on_second(self, start: int) -> None:
        # Auction imbalances are published in the run-up to the open and the close.
        if self.reg_open - 5 * MINUTE <= start < self.reg_open:
            self.noi_type, self.noi_at = "M", 930
        elif self.reg_close - 10 * MINUTE <= start < self.reg_close:
            self.noi_type, self.noi_at = "C", 1600
        else:
            self.noi_type = ""

    def event(self, st: LiveSymbol, t: int, out: list[Event]) -> None:
        rand = self.rand
        mid = st.mid = st.mid * (1.0 + st.step * (rand() - 0.5))
        x = rand()
        if x < st.p_switch:
            self.switch_regime(st)
        elif x > 1.0 - _P_NOI_HALT:
            self._noi(st, t, out, "H", 0)
        st.seq += 1
        if rand() < _P_TRADE:
            self._trade(st, t, out)
        else:
            self._quote(st, mid, t, out)
        if mid > st.luld_up or mid < st.luld_dn:
            self._luld(st, mid, t, out)
        if self.noi_type and t >= st.noi_next:
            self._noi(st, t, out, self.noi_type, self.noi_at)

    def switch_regime(self, st: LiveSymbol) -> None:
        super().switch_regime(st)
        self.setup(st)
        if st.hot:
            st.spread_frac *= 2.5  # spreads widen in a burst

    def _quote(self, st: LiveSymbol, mid: float, t: int, out: list[Event]) -> None:
        rand = self.rand
        spread = 1 + int(mid * st.spread_frac * (0.5 + rand()))
        bid = int(mid - spread * 0.5 + 0.5)
        if bid < 1:
            bid = 1
        ask = bid + spread
        st.bid, st.ask = bid, ask
        scale = st.scale
        out.append(
            Quote(
                st.sym,
                bid / scale,
                ask / scale,
                t,
                100 * _LOTS[int(rand() * 32)],
                100 * _LOTS[int(rand() * 32)],
                QUOTE_EXCHANGES[int(rand() * 256)],
                QUOTE_EXCHANGES[int(rand() * 256)],
                0,
                (),
                st.seq,
                st.tape,
            )
        )

    def _trade(self, st: LiveSymbol, t: int, out: list[Event]) -> None:
        rand = self.rand
        bid, ask = st.bid, st.ask
        u = rand()
        iso = 0
        if u < 0.40:
            p = ask
        elif u < 0.80:
            p = bid
        elif u < 0.975:
            p = bid + int(rand() * (ask - bid + 1))  # at or inside the spread
        else:  # a sweep through the displayed quote
            iso = 4
            p = ask + 1 + int(rand() * 3) if u < 0.9875 else max(1, bid - 1 - int(rand() * 3))
        size = SIZES[int(rand() * 512)]
        odd = size < 100
        if not iso and rand() < 0.04:
            iso = 4
        ext = 0 if self.reg_open <= t < self.reg_close else 2
        c = odd + ext + iso
        x = TRADE_EXCHANGES[int(rand() * 256)]
        st.tid += 1
        scale = st.scale
        # Exchange 4 (FINRA ADF / TRF) prints carry the reporting facility's id and time.
        trf_id, trf_t = (_TRF_IDS[st.tid % 3], t) if x == 4 else (None, None)
        out.append(
            Trade(
                st.sym,
                p / scale,
                size,
                t,
                x,
                str(st.tid),
                st.tape,
                CONDITIONS[c],
                st.seq,
                trf_id,
                trf_t,
            )
        )
        if st.sn == 0:
            self.dirty_sec.append(st)
        st.sn += 1
        st.sv += size
        st.spv += p * size
        fl = BAR_FLAGS[c]
        if fl & UPDATES_LAST and st.sc == 0:
            st.so = st.sh = st.sl = p
        elif fl & UPDATES_HIGH_LOW and st.sc:
            if p > st.sh:
                st.sh = p
            elif p < st.sl:
                st.sl = p
        if fl & UPDATES_LAST:
            st.sc = p
        if not st.dopen and DAY_FLAGS[c] & UPDATES_LAST:
            st.dopen = p

    def _luld(self, st: LiveSymbol, mid: float, t: int, out: list[Event]) -> None:
        """Publish new bands when the reference price has moved 1 % (and on the first event)."""
        st.luld_up, st.luld_dn = mid * 1.01, mid * 0.99
        band = 0.05 if mid >= 3 * st.scale else 0.20
        st.seq += 1
        out.append(
            LimitUpLimitDown(
                st.sym,
                round(mid * (1 + band)) / st.scale,
                round(mid * (1 - band)) / st.scale,
                t * 1000,
                (21,),
                st.tape,
                st.seq,
            )
        )

    def _noi(self, st: LiveSymbol, t: int, out: list[Event], kind: str, at: int) -> None:
        rand = self.rand
        st.noi_next = t + 1000 + int(rand() * 4000)
        st.noi_seq += 1
        if not at:  # a halt reopening, five minutes from now
            at = _hhmm(t + 5 * MINUTE - self.reg_open) if kind == "H" else 930
        exchange = 10 if st.tape == 1 else 11 if st.tape == 2 else 12
        paired = 100 * int(1 + rand() * 5000)
        out.append(
            Imbalance(
                st.sym,
                t * 1_000_000,
                at,
                kind,
                st.noi_seq,
                exchange,
                100 * int(1 + rand() * 2000),
                paired,
                round(st.mid * (1 + (rand() - 0.5) * 0.004)) / st.scale,
            )
        )

    def close_second(self, start: int, out: list[Event]) -> None:
        end = start + 1000
        for st in self.dirty_sec:
            if st.mn == 0:
                self.dirty_min.append(st)
            st.mn += st.sn
            st.mv += st.sv
            st.mpv += st.spv
            st.dv += st.sv
            st.dpv += st.spv
            if st.sc:
                if st.mc == 0:
                    st.mo, st.mh, st.ml = st.so, st.sh, st.sl
                else:
                    st.mh = max(st.mh, st.sh)
                    st.ml = min(st.ml, st.sl)
                st.mc = st.sc
                bar = _stock_bar(
                    SecondAgg, st, (st.so, st.sh, st.sl, st.sc), st.sv, st.spv, st.sn, start, end
                )
                out.append(bar)
                st.hist.live_seconds.append(_agg(bar, st.sn))
            st.so = st.sh = st.sl = st.sc = st.sn = 0
            st.sv = st.spv = 0

    def close_minute(self, start: int, out: list[Event]) -> None:
        end = start + MINUTE
        for st in self.dirty_min:
            if st.mc:
                bar = _stock_bar(
                    MinuteAgg, st, (st.mo, st.mh, st.ml, st.mc), st.mv, st.mpv, st.mn, start, end
                )
                out.append(bar)
                st.hist.record(_agg(bar, st.mn))
            st.mo = st.mh = st.ml = st.mc = st.mn = 0
            st.mv = st.mpv = 0


_B = TypeVar("_B", SecondAgg, MinuteAgg)


def _stock_bar(
    kind: type[_B],
    st: LiveSymbol,
    ohlc: tuple[float, float, float, float],
    volume: float,
    pv: float,
    trades: int,
    start: int,
    end: int,
) -> _B:
    """A second or minute bar from scaled-integer accumulators, with the day's figures."""
    scale = st.scale
    o, h, lo, c = ohlc
    return kind(
        st.sym,
        o / scale,
        h / scale,
        lo / scale,
        c / scale,
        int(volume),
        start,
        end,
        int(st.dv),
        st.dopen / scale if st.dopen else None,
        round(pv / volume / scale, 4),
        round(st.dpv / st.dv / scale, 4),
        int(volume) // trades,
    )


def _agg(bar: SecondAgg | MinuteAgg, trades: int) -> Agg:
    return Agg(bar.open, bar.high, bar.low, bar.close, bar.volume, bar.start, bar.vwap, trades)


def _hhmm(ms_since_open: int) -> int:
    """HHMM (Eastern) of a time given as ms since 09:30 of the same day."""
    minutes = 9 * 60 + 30 + ms_since_open // MINUTE
    return (minutes // 60 % 24) * 100 + minutes % 60

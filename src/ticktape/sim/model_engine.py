"""The live event loop shared by the clusters: clock, rate, symbol choice, bar boundaries.

See docs/simulator.md (the generated market).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

from ticktape.feed.events import Event
from ticktape.sim.history import History, SymbolHistory
from ticktape.sim.model_calendar import MINUTE, day_start, et_date
from ticktape.sim.symbols import Profile, stable_hash

_TABLE: Final = 4096
_HOT_SHARE: Final = 0.12
_REGIMES: Final = ((0.3, 0.5), (0.8, 1.0), (1.0, 2.5))  # (cumulative probability, vol multiple)
_REGIME_MS: Final = 20_000.0  # mean market time between volatility regime changes
_NOISE_SD: Final = math.sqrt(1 / 12)  # sd of rand() - 0.5


class LiveSymbol:
    """Mutable live state of one symbol (every cluster uses a subset of the slots)."""

    __slots__ = (
        "ask",
        "bid",
        "dopen",
        "dpv",
        "dv",
        "hist",
        "hot",
        "luld_dn",
        "luld_up",
        "mc",
        "mh",
        "mid",
        "ml",
        "mn",
        "mo",
        "mpv",
        "mv",
        "noi_next",
        "noi_seq",
        "p_switch",
        "prof",
        "regime",
        "sc",
        "scale",
        "seq",
        "sh",
        "sl",
        "sn",
        "so",
        "spread_frac",
        "spv",
        "step",
        "sv",
        "sym",
        "tape",
        "tid",
        "unit_sigma",
        "units",
    )

    def __init__(self, prof: Profile, hist: SymbolHistory, unit_sigma: float, u: float) -> None:
        self.prof = prof
        self.hist = hist
        self.sym = prof.symbol
        self.scale = prof.scale
        self.tape = prof.tape
        self.mid = float(prof.price_ticks)
        self.bid = self.ask = prof.price_ticks
        self.unit_sigma = unit_sigma  # relative sd per sqrt(market ms)
        self.spread_frac = 0.0
        self.step = self.p_switch = 0.0
        self.regime = 1.0
        self.hot = False
        self.seq = int(u * 10_000) * 100  # sequences start mid-day, like a real feed
        self.tid = int(u * 1e6) + 1000
        self.units = 0.0  # crypto: typical trade size in 1e-8 units
        self.luld_up = self.luld_dn = 0.0
        self.noi_next = self.noi_seq = 0
        self.so = self.sh = self.sl = self.sc = self.sn = 0
        self.sv: float = 0
        self.spv: float = 0
        self.mo = self.mh = self.ml = self.mc = self.mn = 0
        self.mv: float = 0
        self.mpv: float = 0
        self.dopen = 0
        self.dv: float = 0
        self.dpv: float = 0


class Engine:
    """One cluster's live market; subclasses generate the events."""

    cluster = ""
    day_totals = False  # whether bars carry the day's volume / open / VWAP (stocks)
    session_ms = 12 * 3_600_000.0  # market time over which daily_vol accrues live (24/7)

    def __init__(self, seed: int, history: History, gap_ms: float, now_ms: int) -> None:
        self.seed = seed
        self.history = history
        self.rng = random.Random(stable_hash(seed, self.cluster, "live"))
        self.rand = self.rng.random
        self.gap = gap_ms
        self.now = now_ms
        self.states: dict[str, LiveSymbol] = {}
        self.hot: list[LiveSymbol] = []
        self._table: list[LiveSymbol] = []
        self._total = 0.0  # the symbols' summed weight, as of the last rebuild
        self._next_t = now_ms + 0.0
        self.sec_end = now_ms - now_ms % 1000 + 1000
        self.min_end = now_ms - now_ms % MINUTE + MINUTE
        self.day_end = 0
        self.dirty_sec: list[LiveSymbol] = []
        self.dirty_min: list[LiveSymbol] = []
        #: Symbols whose snapshot day figures are not made yet (stocks; see SimMarket.advance).
        self.cold: list[LiveSymbol] = []
        self._new_day(now_ms)

    # --- symbols --------------------------------------------------------------------------

    def ensure(self, prof: Profile) -> LiveSymbol:
        """Make ``prof.symbol`` live from now on (anchoring its history here if new)."""
        known = prof.symbol in self.states
        st = self.add(prof)
        if not known:
            self._rebuild()
        return st

    def ensure_all(self, profs: Iterable[Profile]) -> None:
        """:meth:`ensure` for many symbols at once: one rebuild of the pick table, not one
        per symbol (a whole market of thousands would otherwise cost seconds to start)."""
        for prof in profs:
            self.add(prof)
        self._rebuild()

    def add(self, prof: Profile) -> LiveSymbol:
        """The live state of ``prof.symbol``, made if new; the caller rebuilds the table."""
        st = self.states.get(prof.symbol)
        if st is None:
            hist = self.history.anchor(prof, self.now)
            sigma = prof.daily_vol / math.sqrt(self.session_ms)
            st = LiveSymbol(prof, hist, sigma, (stable_hash(prof.symbol) % 9973) / 9973)
            self.setup(st)
            spread = 1 + int(st.mid * st.spread_frac)
            st.bid = max(1, int(st.mid - spread * 0.5 + 0.5))
            st.ask = st.bid + spread
            if self.day_totals:
                self._seed_day(st)
            self.states[prof.symbol] = st
        return st

    def setup(self, st: LiveSymbol) -> None:
        """Per-cluster initial state of a new symbol."""

    def _seed_day(self, st: LiveSymbol) -> None:
        """Start the day's totals from the history already made for today (so av/op/a join)."""
        volume, pv, first = st.hist.day_so_far(day_start(et_date(self.now)))
        st.dv, st.dpv, st.dopen = int(volume), pv, first

    def _rebuild(self) -> None:
        """Refill the weighted pick table and each symbol's per-event step."""
        states = list(self.states.values())
        total = self._total = sum(s.prof.weight for s in states)
        self._table = []
        for s in states:
            self._table.extend([s] * max(1, round(_TABLE * s.prof.weight / total)))
        for s in states:
            self._rescale(s, total)

    def _rescale(self, st: LiveSymbol, total: float | None = None) -> None:
        """Set the per-event step so volatility per unit of market time matches the profile."""
        total = total if total is not None else self._total  # not a sum per regime switch
        mean_dt = self.gap * total / st.prof.weight
        st.step = st.unit_sigma * math.sqrt(mean_dt) * st.regime / _NOISE_SD
        st.p_switch = min(0.5, mean_dt / _REGIME_MS)

    def switch_regime(self, st: LiveSymbol) -> None:
        """Enter a new volatility regime (calm, normal or burst)."""
        u = self.rand()
        st.regime = next(mult for cum, mult in _REGIMES if u < cum)
        hot = st.regime > 1.0
        if hot != st.hot:
            st.hot = hot
            (self.hot.append if hot else self.hot.remove)(st)
        self._rescale(st)

    # --- the loop -------------------------------------------------------------------------

    def run_until(self, target: int) -> list[Event]:
        """Every event with market time before ``target``, then the bars that closed by then."""
        out: list[Event] = []
        if target <= self.now:
            return out
        table = self._table
        if not table:  # nothing trades yet: time just passes
            self._next_t = max(self._next_t, float(target))
        rand = self.rand
        log = math.log
        gap = self.gap
        hot = self.hot
        event = self.event
        n = len(table)
        t_next = self._next_t
        while t_next <= target and n:
            t = int(t_next)
            if t >= self.sec_end:
                self._roll(t, out)
            if hot and rand() < _HOT_SHARE:
                st = hot[int(rand() * len(hot))]
            else:
                st = table[int(rand() * n)]
            event(st, t, out)
            t_next -= log(1.0 - rand()) * gap
        self._next_t = t_next
        self.now = target
        if target >= self.sec_end:
            self._roll(target, out)
        return out

    def _roll(self, t: int, out: list[Event]) -> None:
        """Close the second (and minute, and day) that ended at or before ``t``."""
        sec_start = self.sec_end - 1000
        if self.dirty_sec:
            self.close_second(sec_start, out)
            self.dirty_sec.clear()
        if t >= self.min_end:
            if self.dirty_min:
                self.close_minute(self.min_end - MINUTE, out)
                self.dirty_min.clear()
            self.min_end = t - t % MINUTE + MINUTE
            if t >= self.day_end:
                self._new_day(t)
        self.sec_end = t - t % 1000 + 1000
        self.on_second(self.sec_end - 1000)

    def _new_day(self, t: int) -> None:
        d = et_date(t)
        self.day_end = day_start(d + timedelta(days=1))
        for st in self.states.values():
            st.dopen, st.dv, st.dpv = 0, 0, 0
        self.on_day(d)

    # --- hooks ----------------------------------------------------------------------------

    def event(self, st: LiveSymbol, t: int, out: list[Event]) -> None:
        raise NotImplementedError

    def close_second(self, start: int, out: list[Event]) -> None:
        """Emit second bars for :attr:`dirty_sec` (stocks only)."""

    def close_minute(self, start: int, out: list[Event]) -> None:
        raise NotImplementedError

    def on_second(self, start: int) -> None:
        """Called as each new second begins (cheap time-of-day state)."""

    def on_day(self, d: date) -> None:
        """Called when a new ET day begins."""

"""``SimMarket``: a deterministic simulated market for one cluster — no I/O, no asyncio.

See docs/simulator.md (the generated market).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from ticktape.feed.events import Agg, Event
from ticktape.sim.history import History
from ticktape.sim.model_engine import Engine, LiveSymbol
from ticktape.sim.model_pairs import CryptoEngine, ForexEngine
from ticktape.sim.model_stocks import StockEngine
from ticktape.sim.symbols import CLUSTERS, profile, split_ticker, universe_for

if TYPE_CHECKING:
    from ticktape.sim.sessions import SessionGate

#: Made-up names of a whole market that join per ``advance`` (about 20 ms of set-up).
JOIN_PER_TICK: Final = 50
#: Symbols whose snapshot day figures are made per ``advance`` once none is joining: about
#: 0.15 ms each (the previous day's bar), so a whole market's take about 6 s in the
#: background and the first snapshot only reads them.
WARM_PER_TICK: Final = 10

_ENGINES: Final[dict[str, type[Engine]]] = {
    "stocks": StockEngine,
    "forex": ForexEngine,
    "crypto": CryptoEngine,
}


class SimMarket:
    """The simulated market of one cluster ("stocks", "forex" or "crypto")."""

    def __init__(
        self,
        cluster: str = "stocks",
        *,
        seed: int = 0,
        symbols: Iterable[str] = (),
        rate: float = 2000.0,
        speed: float = 1.0,
        start_ms: int | None = None,
        delay_ms: int = 0,
        listed: int = 0,
    ) -> None:
        if cluster not in CLUSTERS:
            raise ValueError(f"unknown cluster {cluster!r}; expected one of {CLUSTERS}")
        if rate <= 0 or speed <= 0 or delay_ms < 0:
            raise ValueError("rate and speed must be positive and delay_ms not negative")
        self.cluster = cluster
        self.seed = seed
        self.rate = rate
        self.speed = speed
        self.delay_ms = delay_ms
        self.start_ms = int(time.time() * 1000) if start_ms is None else start_ms
        self._asked = list(symbols)
        self.universe: list[str] = universe_for(cluster, self._asked)
        self._history = History(seed)
        self._engine = _ENGINES[cluster](
            seed, self._history, 1000.0 * speed / rate, self.market_ms(self.start_ms)
        )
        # The universe trades from the start (``T.*`` needs it), whoever subscribes. A whole
        # market (``listed``) starts as the names asked for and the rest joins over the first
        # ticks (``advance``): the names a client watches trade at once, not after a second
        # of set-up for thousands of others.
        self._engine.ensure_all(profile(cluster, s, seed) for s in self.universe)
        self._listed = listed if cluster == "stocks" else 0
        self._pending: list[str] | None = None
        #: Thins the stream to the real session's (``--clock real``); None sends everything.
        self.gate: SessionGate | None = None

    def market_ms(self, wall_ms: int) -> int:
        """Market time at wall time ``wall_ms``."""
        return int(self.start_ms + (wall_ms - self.start_ms) * self.speed) - self.delay_ms

    @property
    def now_ms(self) -> int:
        """Market time up to which events have been generated."""
        return self._engine.now

    @property
    def symbols(self) -> list[str]:
        """The ensured (live) symbols."""
        return list(self._engine.states)

    def live(self, symbol: str) -> LiveSymbol | None:
        """The live state of an ensured symbol (its quote, its day so far), or None."""
        return self._engine.states.get(self._symbol(symbol))

    def day_figures(self, st: LiveSymbol) -> tuple[Agg | None, Agg | None]:
        """A live symbol's (today's bar so far, previous trading day's bar), as the daily
        aggregates give them, kept up to date as it trades (see ``History.day_figures``)."""
        return self._history.day_figures(st.hist, self._engine.now)

    def ensure(self, symbol: str) -> None:
        """Make ``symbol`` trade from now on; any name works (its traits come from the name)."""
        sym = self._symbol(symbol)
        if sym:
            self._engine.ensure(profile(self.cluster, sym, self.seed))

    def advance(self, wall_ms: int) -> list[Event]:
        """Every event since the previous call, in time order (empty if time went backwards)."""
        target = self.market_ms(wall_ms)
        if self._listed:
            self._join()
        elif self._engine.cold:
            self._warm()
        events = self._engine.run_until(target)
        return events if self.gate is None else self.gate.admit(events, target)

    def _join(self) -> None:
        """The next names of a whole market start trading (the first call lists them all)."""
        if self._pending is None:
            live = set(self.universe)
            self.universe = universe_for(self.cluster, self._asked, self._listed)
            self._pending = [s for s in self.universe if s not in live]
        batch, self._pending = self._pending[:JOIN_PER_TICK], self._pending[JOIN_PER_TICK:]
        self._engine.ensure_all(profile(self.cluster, s, self.seed) for s in batch)
        if not self._pending:
            self._listed = 0

    def _warm(self) -> None:
        """Make the snapshot day figures of the next few symbols (a snapshot of a symbol
        still cold makes its own: this only moves the work out of that request)."""
        cold = self._engine.cold
        batch, self._engine.cold = cold[:WARM_PER_TICK], cold[WARM_PER_TICK:]
        for st in batch:
            self._history.day_figures(st.hist, self._engine.now)

    def history(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_ms: int,
        to_ms: int,
        *,
        adjusted: bool = True,
    ) -> list[Agg]:
        """Bars of ``multiplier × timespan`` starting in ``[from_ms, to_ms]``, ascending.

        ``ticker`` is a REST ticker ("AAPL", "C:EURUSD", "X:BTCUSD") or a wire symbol.
        ``adjusted`` is accepted and ignored: the simulator has no splits.
        """
        sym = self._symbol(ticker)
        if not sym:
            return []
        st = self._engine.states.get(sym)  # a live symbol's traits are made already
        prof = st.prof if st is not None else profile(self.cluster, sym, self.seed)
        hist = self._history.anchor(prof, self._engine.now)
        return self._history.bars(hist, multiplier, timespan, from_ms, to_ms)

    @staticmethod
    def _symbol(ticker: str) -> str:
        return split_ticker(ticker)[1][:32]

"""Which session the simulator plays: ``always`` a living market at any hour, ``real`` the clock's.

See docs/market-clock.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal

from ticktape import markethours
from ticktape.feed.events import Event, Quote, Trade
from ticktape.markethours import Phase
from ticktape.sim.market import SimMarket
from ticktape.sim.symbols import CLUSTERS

if TYPE_CHECKING:
    from ticktape.sim.server import Simulator

ClockMode = Literal["real", "always"]
CLOCK_MODES: Final[tuple[ClockMode, ...]] = ("always", "real")
#: In extended hours one trade or quote in this many goes out (bars, halts, imbalances all do).
EXTENDED_EVERY: Final = 10
_THINNED: Final = (Trade, Quote)


class SessionGate:
    """Lets through what a cluster's real session would carry at the market's time."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._phase: Phase = "open"
        self._span = (0, -1)  # the market times (ms) over which ``_phase`` holds
        self._count = 0

    def phase(self, market_ms: int) -> Phase:
        """The session at ``market_ms``; worked out once per phase, not once per tick."""
        since, until = self._span
        if not since <= market_ms < until:
            r = markethours.reading(self.cluster, market_ms)
            self._phase = r.phase
            self._span = (market_ms, r.next_ms if r.next_ms is not None else market_ms + 3_600_000)
        return self._phase

    def admit(self, events: list[Event], market_ms: int) -> list[Event]:
        phase = self.phase(market_ms)
        if phase == "open" or not events:
            return events
        if phase == "closed":
            return []
        return self._thin(events)

    def _thin(self, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        n = self._count
        for ev in events:
            if isinstance(ev, _THINNED):
                n += 1
                if n % EXTENDED_EVERY:
                    continue
            out.append(ev)
        self._count = n
        return out


def apply_clock(sim: Simulator, mode: ClockMode) -> None:
    """Make ``sim`` play ``mode``: gate its generated markets and word its status to match."""
    if mode not in CLOCK_MODES:
        raise ValueError(f"clock must be one of {', '.join(CLOCK_MODES)}, not {mode!r}")
    for cluster in CLUSTERS:
        market = sim.market(cluster)
        if isinstance(market, SimMarket):  # a replay plays what was recorded, as it was
            market.gate = SessionGate(cluster) if mode == "real" else None
    sim.rest_api.always_open = mode == "always"

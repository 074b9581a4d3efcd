"""The simulator's network server: generated markets ticked into the protocol engine.

REST is answered on the same port. See docs/simulator.md and docs/hub.md (the engine).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Final, Protocol

from ticktape.feed.events import Event
from ticktape.server import protocol as proto
from ticktape.server.engine import (
    POLICY_CLOSE,
    Connection,
    Listener,
    ProtocolServer,
    ServerStats,
    key_checker,
)
from ticktape.sim.faults import Faults
from ticktape.sim.market import SimMarket
from ticktape.sim.rest import HistorySource, RestApi

__all__ = ["DELAY_MS", "POLICY_CLOSE", "SimStats", "Simulator", "Source"]

log = logging.getLogger(__name__)

#: How late a delayed feed is (the live API's delayed plans are 15 minutes late).
DELAY_MS: Final = 15 * 60_000

#: The simulator's counters are the engine's.
SimStats = ServerStats


class Source(HistorySource, Protocol):
    """What the server needs from a cluster's event source (SimMarket, or a replay)."""

    def ensure(self, symbol: str) -> None: ...
    def advance(self, wall_ms: int) -> list[Event]: ...


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class _EnsureSymbols(Listener):
    """A subscription to a symbol makes it exist in the cluster's market."""

    def __init__(self, markets: Mapping[str, Source]) -> None:
        self._markets = markets

    def subscriptions_changed(self, conn: Connection, added: list[str], removed: list[str]) -> None:
        market = self._markets[conn.cluster]
        for param in added:
            parsed = proto.split_param(param)
            if parsed is not None and parsed[1] != "*":
                market.ensure(parsed[1])


class Simulator:
    """A Polygon-compatible server on one port; an async context manager.

    ``api_key=None`` accepts any non-empty key. ``refused_channels`` (e.g.
    ``{"Q"}``) are channels the "plan" lacks: subscribing gets an ``error``
    status. ``rest_markets`` are the clusters whose REST history the plan may
    read (others get 403). ``max_queue`` bounds, in bytes, what may wait in the
    server for one connection before it counts as a slow consumer. ``sources``
    replaces the generated market of some clusters (e.g. with a replay).
    ``market_clock`` (Unix ms) is the time the market-status endpoints answer for.
    ``listed`` makes the stock universe a whole market of that many names (``symbols`` first).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        symbols: Iterable[str] = (),
        listed: int = 0,
        rate: float = 2000.0,
        speed: float = 1.0,
        api_key: str | None = None,
        delayed: bool = False,
        refused_channels: Iterable[str] = (),
        rest_markets: Iterable[str] = proto.CLUSTERS,
        auth_timeout: float = 10.0,
        max_queue: int = 16 * 2**20,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 10.0,
        tick: float = 0.02,
        start_ms: int | None = None,
        sources: Mapping[str, Source] | None = None,
        market_clock: Callable[[], int] | None = None,
    ) -> None:
        self._tick = tick
        start = _wall_ms() if start_ms is None else start_ms
        symbols = list(symbols)
        generated = {
            cluster: SimMarket(
                cluster,
                seed=seed,
                symbols=symbols,
                listed=listed,
                rate=rate,
                speed=speed,
                start_ms=start,
                delay_ms=DELAY_MS if delayed else 0,
            )
            for cluster in proto.CLUSTERS
            if cluster not in (sources or {})
        }
        # Each market's universe trades from the start (``T.*`` needs it; see SimMarket), so
        # the stream does not depend on when clients subscribe: same seed, same events.
        self._markets: dict[str, Source] = {**generated, **(sources or {})}
        self.faults = Faults(seed=seed)
        self.rest_api = self._rest = RestApi(  # public: sim/sessions.py words its status
            self.market,
            api_key=api_key,
            faults=self.faults,
            entitled=tuple(rest_markets),
            clock=market_clock,
        )
        self.server = ProtocolServer(
            host=host,
            port=port,
            accept_key=key_checker(api_key),
            listener=_EnsureSymbols(self._markets),
            rest=self._rest.handle,
            refused_channels=refused_channels,
            auth_timeout=auth_timeout,
            max_queue=max_queue,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
            corrupt=self.faults.corrupt,
        )
        self.stats = self.server.stats
        self.faults.bind_kick(self.server.kick_all)
        self.faults.bind_hang(self.server.hang)
        self.ws_url = ""
        self.rest_url = ""

    # --- lifecycle ----------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.server.start()
        self.ws_url, self.rest_url = self.server.ws_url, self.server.rest_url
        for cluster in proto.CLUSTERS:
            self.server.spawn(self._tick_loop(cluster))
        self.server.spawn(self._housekeeping())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.server.close()

    @property
    def urls(self) -> list[str]:
        """Every URL served: one per cluster, then the REST base."""
        return [f"{self.ws_url}/{c}" for c in proto.CLUSTERS] + [self.rest_url]

    @property
    def connections(self) -> int:
        """Authenticated connections currently open."""
        return self.server.connections

    @property
    def rest_requests(self) -> int:
        """REST requests answered so far (errors included)."""
        return self._rest.requests

    def market(self, cluster: str) -> Source:
        return self._markets[cluster]

    async def blast(self, frames: Sequence[bytes], *, cluster: str = "stocks") -> int:
        """Corpus replay to every client of ``cluster`` (see ``ProtocolServer.blast``)."""
        return await self.server.blast(frames, cluster=cluster)

    # --- generation ---------------------------------------------------------------

    async def _tick_loop(self, cluster: str) -> None:
        market, server, faults = self._markets[cluster], self.server, self.faults
        while True:
            await asyncio.sleep(self._tick)
            try:
                events = market.advance(_wall_ms())
            except Exception:
                log.exception("the %s market failed to advance", cluster)
                raise
            if events and not faults.stalled():
                server.publish(cluster, events)

    async def _housekeeping(self) -> None:
        """Apply time-based faults (drop_after, the end of a stall) to every connection."""
        server = self.server
        while True:
            await asyncio.sleep(0.05)
            if server.hung and not self.faults.stalled():
                server.hang(False)
            for client in server.open_connections():
                if self.faults.should_drop(client.opened):
                    server.drop(client)

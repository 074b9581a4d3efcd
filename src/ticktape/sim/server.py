"""The simulator's network server: WebSocket clusters and REST on one port.

Shape of the hot path, and why:

* One tick task per cluster calls ``market.advance(now)`` every ``tick``
  seconds. Events that happen within one tick go out together, as the live
  server batches them, and the tag of every event (and its topic string, if
  any connection subscribed to single topics) is computed once per tick for
  all connections.
* Each connection filters the tick's events through its own subscription sets
  (one set lookup per event), encodes its selection once with the wire Structs
  of ``feed/events.py`` and appends the frame to its own outgoing queue; a
  writer task per connection drains the queue into the socket. The tick task
  never waits on a socket, so one slow reader cannot hold up the others.
* A connection's queue is bounded in bytes (``max_queue``, not counting the
  newest frame, so one huge tick from a server running late is not blamed on
  the client). A backlog past the bound is what a slow consumer is: the server
  sends ``slow_consumer`` and closes with code 1008 (policy violation: reading
  fast enough is the policy; the same code as ``max_connections``), and waits
  at most ``close_timeout`` for the client to take the close before aborting
  the TCP connection.
* With a fast client and a busy machine the generator, not the socket, is the
  limit; ``benchmarks/sim_throughput.py`` measures what one client receives.

REST requests arrive as plain GETs on the same port; ``process_request``
answers them from :class:`~ticktape.sim.rest.RestApi` before any WebSocket
handshake happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ticktape.feed import wire
from ticktape.feed.events import Event, Status, encode
from ticktape.sim import protocol as proto
from ticktape.sim.faults import Faults
from ticktape.sim.market import SimMarket
from ticktape.sim.rest import HistorySource, RestApi, json_response

log = logging.getLogger(__name__)

#: How late a delayed feed is (the live API's delayed plans are 15 minutes late).
DELAY_MS: Final = 15 * 60_000
#: Close code for slow consumers and for the older of two connections with one key.
POLICY_CLOSE: Final = 1008
_HOST_HEADER = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")

_CONNECTED: Final = proto.frame(proto.CONNECTED)
_AUTH_SUCCESS: Final = proto.frame(proto.AUTH_SUCCESS)
_AUTH_FAILED: Final = proto.frame(proto.AUTH_FAILED)
_AUTH_TIMEOUT: Final = proto.frame(proto.AUTH_TIMEOUT)
_AUTH_REQUIRED: Final = proto.frame(proto.AUTH_REQUIRED)


@dataclass
class SimStats:
    """Counters for tests and benchmarks (the server only ever adds to them)."""

    accepted: int = 0
    events_sent: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    auth_failures: int = 0
    max_connection_kicks: int = 0
    slow_consumers: int = 0
    dropped: int = 0


class Source(HistorySource, Protocol):
    """What the server needs from a cluster's event source (SimMarket, or a replay)."""

    def ensure(self, symbol: str) -> None: ...
    def advance(self, wall_ms: int) -> list[Event]: ...


class _Client:
    """Per-connection state: subscriptions, outgoing queue, and the writer's wake-up."""

    __slots__ = ("closing", "cluster", "frames", "opened", "queued", "subs", "wake", "ws")

    def __init__(self, ws: ServerConnection, cluster: str) -> None:
        self.ws = ws
        self.cluster = cluster
        self.opened = time.monotonic()
        self.subs = proto.Subscriptions()
        self.frames: deque[tuple[bytes, int]] = deque()  # (frame, number of events in it)
        self.queued = 0  # bytes in ``frames``
        self.wake = asyncio.Event()
        self.closing = False


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Simulator:
    """A Polygon-compatible server on one port; an async context manager.

    ``api_key=None`` accepts any non-empty key. ``refused_channels`` (e.g.
    ``{"Q"}``) are channels the "plan" lacks: subscribing gets an ``error``
    status. ``rest_markets`` are the clusters whose REST history the plan may
    read (others get 403). ``max_queue`` bounds, in bytes, what may wait in the
    server for one connection before it counts as a slow consumer. ``sources``
    replaces the generated market of some clusters (e.g. with a replay).
    ``market_clock`` (Unix ms) is the time the market-status endpoints answer for.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        symbols: Iterable[str] = (),
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
        self._host, self._port = host, port
        self._api_key = api_key
        self._refused = frozenset(refused_channels)
        self._auth_timeout = auth_timeout
        self._max_queue = max_queue
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._close_timeout = close_timeout
        self._tick = tick
        start = _wall_ms() if start_ms is None else start_ms
        symbols = list(symbols)
        generated = {
            cluster: SimMarket(
                cluster,
                seed=seed,
                symbols=symbols,
                rate=rate,
                speed=speed,
                start_ms=start,
                delay_ms=DELAY_MS if delayed else 0,
            )
            for cluster in proto.CLUSTERS
            if cluster not in (sources or {})
        }
        for market in generated.values():
            # The whole universe trades from the start (``T.*`` needs it), and the
            # stream does not depend on when clients subscribe: same seed, same events.
            for symbol in market.universe:
                market.ensure(symbol)
        self._markets: dict[str, Source] = {**generated, **(sources or {})}
        self.faults = Faults(seed=seed)
        self.faults.bind_kick(self._kick_all)
        self.faults.bind_hang(self._hang)
        self.stats = SimStats()
        self.rest_api = self._rest = RestApi(  # public: sim/sessions.py words its status
            self.market,
            api_key=api_key,
            faults=self.faults,
            entitled=tuple(rest_markets),
            clock=market_clock,
        )
        self._all: set[_Client] = set()
        self._unread: set[_Client] = set()  # connections not read during a stall
        self._clients: dict[str, list[_Client]] = {c: [] for c in proto.CLUSTERS}
        self._by_key: dict[tuple[str, str], _Client] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self.ws_url = ""
        self.rest_url = ""

    # --- lifecycle ----------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._process_request,
            compression=None,  # deflate would cost more CPU than the loopback saves
            max_size=2**20,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            write_limit=2**18,
        )
        port = self._server.sockets[0].getsockname()[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.ws_url, self.rest_url = f"ws://{host}:{port}", f"http://{host}:{port}"
        for cluster in proto.CLUSTERS:
            self._spawn(self._tick_loop(cluster))
        self._spawn(self._housekeeping())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def urls(self) -> list[str]:
        """Every URL served: one per cluster, then the REST base."""
        return [f"{self.ws_url}/{c}" for c in proto.CLUSTERS] + [self.rest_url]

    @property
    def connections(self) -> int:
        """Authenticated connections currently open."""
        return sum(len(v) for v in self._clients.values())

    @property
    def rest_requests(self) -> int:
        """REST requests answered so far (errors included)."""
        return self._rest.requests

    def market(self, cluster: str) -> Source:
        return self._markets[cluster]

    async def blast(self, frames: Sequence[bytes], *, cluster: str = "stocks") -> int:
        """Corpus replay: send pre-encoded frames to every authenticated client of
        ``cluster`` as fast as each socket takes them (regardless of subscriptions,
        with no slow-consumer bound), for end-to-end benchmarks. Returns how many
        clients got the corpus."""
        targets = list(self._clients[cluster])

        async def send_all(client: _Client) -> None:
            with contextlib.suppress(ConnectionClosed):
                for data in frames:
                    await client.ws.send(data, text=True)
                    self.stats.frames_sent += 1
                    self.stats.bytes_sent += len(data)

        await asyncio.gather(*(send_all(c) for c in targets))
        return len(targets)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- HTTP ---------------------------------------------------------------------

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path.strip("/") in proto.CLUSTERS:
            return None  # carry on with the WebSocket handshake
        if "websocket" in request.headers.get("Upgrade", "").lower():
            return json_response(404, {"status": "NOT_FOUND", "message": "Unknown cluster"})
        host = request.headers.get("Host", "")
        if not _HOST_HEADER.fullmatch(host):
            host = self.rest_url.removeprefix("http://")
        return self._rest.handle(request, f"http://{host}")

    # --- WebSocket ----------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        client = _Client(ws, urlsplit(ws.request.path).path.strip("/"))
        self._all.add(client)
        self.stats.accepted += 1
        writer: asyncio.Task[None] | None = None
        key: str | None = None
        try:
            await ws.send(_CONNECTED, text=True)
            key = await self._authenticate(ws)
            if key is None:
                return
            self._admit(client, key)
            writer = asyncio.create_task(self._write_loop(client))
            async for message in ws:
                self._on_message(client, message)
        except ConnectionClosed:
            pass
        finally:
            client.closing = True
            self._all.discard(client)
            self._forget(client)
            if key is not None and self._by_key.get((client.cluster, key)) is client:
                del self._by_key[(client.cluster, key)]
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer

    async def _authenticate(self, ws: ServerConnection) -> str | None:
        """Wait for a valid auth action; answer other actions with ``auth_required``."""
        try:
            async with asyncio.timeout(self._auth_timeout):
                while True:
                    action = proto.parse_action(await ws.recv())
                    if action is not None and action.action == wire.AUTH:
                        break
                    await ws.send(_AUTH_REQUIRED, text=True)
        except TimeoutError:
            await ws.send(_AUTH_TIMEOUT, text=True)
            await ws.close(POLICY_CLOSE, "authentication timed out")
            return None
        if self._key_ok(action.params):
            await ws.send(_AUTH_SUCCESS, text=True)
            return action.params
        self.stats.auth_failures += 1
        await ws.send(_AUTH_FAILED, text=True)
        await ws.close(POLICY_CLOSE, "authentication failed")
        return None

    def _key_ok(self, key: str) -> bool:
        if self._api_key is None:
            return bool(key)
        return hmac.compare_digest(key.encode(), self._api_key.encode())

    def _admit(self, client: _Client, key: str) -> None:
        """Register an authenticated connection; the older one with the same key goes."""
        older = self._by_key.get((client.cluster, key))
        self._by_key[(client.cluster, key)] = client
        self._clients[client.cluster].append(client)
        if older is not None:
            self.stats.max_connection_kicks += 1
            self._evict(older, proto.MAX_CONNECTIONS, "max connections")

    def _forget(self, client: _Client) -> None:
        with contextlib.suppress(ValueError):
            self._clients[client.cluster].remove(client)

    def _on_message(self, client: _Client, message: str | bytes) -> None:
        action = proto.parse_action(message)
        if action is None:
            self._push(client, proto.frame(proto.error("invalid message")), 0)
            return
        replies, symbols = proto.apply_action(action, client.subs, client.cluster, self._refused)
        market = self._markets[client.cluster]
        for symbol in symbols:
            market.ensure(symbol)
        self._push(client, proto.frame(*replies), 0)

    def _push(self, client: _Client, data: bytes, events: int) -> None:
        if client.closing:
            return
        # The bound applies to what waits behind the newest frame: one big tick (the
        # server itself running late) is not the client's fault; a backlog that keeps
        # growing because the socket does not drain is.
        backlog = client.queued
        client.frames.append((data, events))
        client.queued += len(data)
        if backlog > self._max_queue:
            self.stats.slow_consumers += 1
            self._evict(client, proto.SLOW_CONSUMER, "slow consumer")
        else:
            client.wake.set()

    async def _write_loop(self, client: _Client) -> None:
        ws, stats, frames = client.ws, self.stats, client.frames
        with contextlib.suppress(ConnectionClosed):
            while not client.closing:
                if not frames:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                data, events = frames.popleft()
                client.queued -= len(data)
                await ws.send(data, text=True)
                stats.frames_sent += 1
                stats.bytes_sent += len(data)
                stats.events_sent += events

    def _evict(self, client: _Client, status: Status, reason: str) -> None:
        """Stop feeding ``client``; tell it why and close it with 1008."""
        client.closing = True
        client.frames.clear()
        client.wake.set()
        self._forget(client)
        self._spawn(self._close_with(client.ws, proto.frame(status), reason))

    async def _close_with(self, ws: ServerConnection, data: bytes, reason: str) -> None:
        try:
            async with asyncio.timeout(self._close_timeout):
                await ws.send(data, text=True)
            await ws.close(POLICY_CLOSE, reason)
        except TimeoutError:
            ws.transport.abort()
        except ConnectionClosed:
            pass

    def _drop(self, client: _Client) -> None:
        """Abort the TCP connection, as a network failure would (the client sees 1006)."""
        if not client.closing:
            client.closing = True
            self.stats.dropped += 1
            client.ws.transport.abort()

    def _kick_all(self) -> None:
        for client in list(self._all):
            self._drop(client)

    def _hang(self, on: bool) -> None:
        """Stop (or resume) reading every open connection: pings go unanswered, as when hung."""
        if on:
            self._unread |= self._all
            for client in self._all:
                client.ws.transport.pause_reading()
            return
        unread, self._unread = self._unread, set()
        for client in unread:
            client.ws.transport.resume_reading()  # a no-op once the transport is closing

    # --- generation ---------------------------------------------------------------

    async def _tick_loop(self, cluster: str) -> None:
        market, clients, faults = self._markets[cluster], self._clients[cluster], self.faults
        while True:
            await asyncio.sleep(self._tick)
            try:
                events = market.advance(_wall_ms())
            except Exception:
                log.exception("the %s market failed to advance", cluster)
                raise
            if not events or not clients or faults.stalled():
                continue
            tags = proto.tags_of(events)
            present = frozenset(tags)
            needs_topics = any(c.subs.topics for c in clients)
            topics = proto.topics_of(events, tags) if needs_topics else []
            for client in list(clients):  # _push may evict, which edits ``clients``
                chosen = client.subs.select(events, tags, present, topics)
                if chosen:
                    self._push(client, faults.corrupt(encode(chosen)), len(chosen))

    async def _housekeeping(self) -> None:
        """Apply time-based faults (drop_after, the end of a stall) to every connection."""
        while True:
            await asyncio.sleep(0.05)
            if self._unread and not self.faults.stalled():
                self._hang(False)
            for client in list(self._all):
                if self.faults.should_drop(client.opened):
                    self._drop(client)

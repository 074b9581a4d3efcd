"""The protocol server: WebSocket clusters and REST on one port, fed by a source.

A source (the simulator's tick loop, a replay, the hub's upstream sessions)
calls :meth:`ProtocolServer.publish` with the events of one cluster, and
optionally the wire bytes they came in. Shape of the hot path, and why:

* The tag of every event (and its topic string, if any connection subscribed
  to single topics) is computed once per publish for all connections.
* Each connection filters the events through its own subscription sets (one
  set lookup per event). A connection that wants them all gets the source's
  bytes as they came (or one encoding shared by every such connection); the
  others get their selection encoded with the wire Structs of
  ``feed/events.py``. A source holding only bytes offers them to
  :meth:`ProtocolServer.publish_frame` first: while every connection takes
  every channel, a frame of data events goes on undecoded, joined with the
  rest of its loop turn into one message built once for all connections.
* Messages are framed here and written straight into each transport while
  its socket has room; a full socket's messages wait in the connection's own
  queue for its writer task, so the source never waits on a socket and one
  slow reader cannot hold up the others.
* A full socket's queue is bounded in bytes (``max_queue``, not counting the
  newest frame, so one huge batch from a source running late is not blamed
  on the client). A backlog past the bound is a slow consumer: the server
  sends ``slow_consumer`` and closes with code 1008 (reading fast enough is
  the policy; the same code as ``max_connections``), waiting at most
  ``close_timeout`` for the client to take the close before aborting TCP.

REST requests arrive as plain GETs on the same port; ``process_request``
hands them to the ``rest`` handler (sync or async) before any WebSocket
handshake. See docs/hub.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hmac
import inspect
import logging
import re
import struct
import time
from collections import deque
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from ticktape.feed import wire
from ticktape.feed.events import BY_TAG, Event, Status, encode
from ticktape.server import protocol as proto

log = logging.getLogger(__name__)

#: Close code for slow consumers, refused connections and the older of two with one key.
POLICY_CLOSE: Final = 1008
#: Largest message made by joining queued frames (well under any client's 1 MiB limit).
MERGE_LIMIT: Final = 256 * 1024
_HOST_HEADER = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")

_CONNECTED: Final = proto.frame(proto.CONNECTED)
_AUTH_SUCCESS: Final = proto.frame(proto.AUTH_SUCCESS)
_AUTH_FAILED: Final = proto.frame(proto.AUTH_FAILED)
_AUTH_TIMEOUT: Final = proto.frame(proto.AUTH_TIMEOUT)
_AUTH_REQUIRED: Final = proto.frame(proto.AUTH_REQUIRED)

#: ``rest(request, base_url)``: answers one plain GET (may be a coroutine function).
RestHandler = Callable[[Request, str], "Response | Awaitable[Response]"]


@dataclass
class ServerStats:
    """Counters for tests, benchmarks and ``hub status`` (the server only adds to them)."""

    accepted: int = 0
    events_in: int = 0
    events_sent: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    auth_failures: int = 0
    max_connection_kicks: int = 0
    refused: int = 0
    slow_consumers: int = 0
    dropped: int = 0
    bad_messages: int = 0


def json_response(status: int, body: object, extra: Collection[tuple[str, str]] = ()) -> Response:
    """An HTTP response with a JSON body; the connection closes after it."""
    data = msgspec.json.encode(body)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *extra,
        ]
    )
    return Response(status, HTTPStatus(status).phrase, headers, data)


class Connection:
    """Per-connection state: subscriptions, outgoing queue, the writer's wake-up, counters."""

    __slots__ = (
        "address",
        "closing",
        "cluster",
        "events_out",
        "frames",
        "opened",
        "queued",
        "subs",
        "wake",
        "ws",
    )

    def __init__(self, ws: ServerConnection, cluster: str) -> None:
        self.ws = ws
        self.cluster = cluster
        peer = ws.remote_address
        self.address = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.opened = time.monotonic()
        self.subs = proto.Subscriptions()
        self.frames: deque[tuple[bytes, int]] = deque()  # (frame, number of events in it)
        self.queued = 0  # bytes in ``frames``
        self.events_out = 0  # events handed to the socket
        self.wake = asyncio.Event()
        self.closing = False


class Listener:
    """What a source learns about connections; every method is optional (a no-op here)."""

    def admitted(self, conn: Connection) -> None:
        """``conn`` authenticated; it is in :meth:`ProtocolServer.clients` from now on."""

    def subscriptions_changed(self, conn: Connection, added: list[str], removed: list[str]) -> None:
        """``conn`` now also wants ``added`` and no longer ``removed`` (wire params)."""

    def closed(self, conn: Connection) -> None:
        """``conn`` is gone (its subscriptions were reported removed just before)."""


class ProtocolServer:
    """A Polygon-protocol server on one port (start with :meth:`start`, end with :meth:`close`).

    ``accept_key`` decides whether an ``auth`` key is good (``api_key=None`` to
    :func:`key_checker` accepts any non-empty key). ``one_per_key``: a second
    connection with the same key evicts the older with ``max_connections``, as
    the live service does (the hub turns it off: its clients share a token).
    ``refused_channels`` are channels "the plan" lacks. ``max_clients`` bounds
    authenticated connections (more get ``max_connections``),
    ``max_subscriptions`` the params one connection may hold, and
    ``max_message`` the size of a client message. ``coalesce``: a connection
    with frames waiting gets them joined into one message (the hub; the
    simulator keeps frame boundaries, which its fault injection relies on).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accept_key: Callable[[str], bool],
        clusters: Sequence[str] = proto.CLUSTERS,
        listener: Listener | None = None,
        rest: RestHandler | None = None,
        one_per_key: bool = True,
        refused_channels: Iterable[str] = (),
        auth_timeout: float = 10.0,
        max_queue: int = 16 * 2**20,
        max_clients: int | None = None,
        max_subscriptions: int | None = None,
        max_message: int = 2**20,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 10.0,
        corrupt: Callable[[bytes], bytes] | None = None,
        coalesce: bool = False,
    ) -> None:
        self._host, self._port = host, port
        self._accept_key = accept_key
        self._listener = listener if listener is not None else Listener()
        self._rest = rest
        self._one_per_key = one_per_key
        self._refused = frozenset(refused_channels)
        self._auth_timeout = auth_timeout
        self._max_queue = max_queue
        self._max_clients = max_clients
        self._max_subs = max_subscriptions
        self._max_message = max_message
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._close_timeout = close_timeout
        self._corrupt = corrupt  # the simulator's fault injection, applied per frame sent
        self._coalesce = coalesce
        self.stats = ServerStats()
        self._all: set[Connection] = set()
        self._unread: set[Connection] = set()  # connections not read during a hang
        self._clients: dict[str, list[Connection]] = {c: [] for c in clusters}
        self._by_key: dict[tuple[str, str], Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        # Pass-through (publish_frame): frames of the current loop turn wait here, per
        # cluster, and go out joined, one message shared by every connection.
        self._batches: dict[str, list[tuple[bytes, int]]] = {c: [] for c in clusters}
        self._takes_all: dict[str, bool] = {}  # cluster → every client holds every channel
        # cluster → event type → (key getter, symbol → clients): see _route
        self._routes: dict[
            str, dict[type, tuple[Callable[[Any], str], dict[str, list[Connection]]]]
        ] = {}
        self._ready: dict[Connection, None] = {}  # coalescing: queued this loop turn, in order
        self.ws_url = ""
        self.rest_url = ""

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._process_request,
            compression=None,  # deflate would cost more CPU than the loopback saves
            max_size=self._max_message,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            write_limit=2**18,
        )
        port = self._server.sockets[0].getsockname()[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.ws_url, self.rest_url = f"ws://{host}:{port}", f"http://{host}:{port}"

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """Authenticated connections currently open."""
        return sum(len(v) for v in self._clients.values())

    def clients(self, cluster: str | None = None) -> list[Connection]:
        """Authenticated connections (of one cluster, or all)."""
        if cluster is not None:
            return list(self._clients[cluster])
        return [c for conns in self._clients.values() for c in conns]

    def open_connections(self) -> list[Connection]:
        """Every open connection, authenticated or not."""
        return list(self._all)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` until :meth:`close` (a source's loops live as long as the server)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- what sources call --------------------------------------------------------

    def publish(self, cluster: str, events: list[Event], raw: bytes | None = None) -> None:
        """Fan ``events`` (data, no statuses) out to the connections of ``cluster``.

        ``raw``, when given, is the wire encoding of exactly ``events``: a
        connection that wants every one of them gets these bytes unchanged.
        """
        self._flush_all()  # frames passed through earlier go first
        clients = self._clients[cluster]
        self.stats.events_in += len(events)
        if not events or not clients:
            return
        channels = proto.CHANNELS.get(cluster)
        if channels is not None and all(channels <= c.subs.wild for c in clients):
            # Everyone takes whole channels, all of them: no per-event work at all.
            data = raw if raw is not None else encode(events)
            for client in list(clients):
                self._push(
                    client, data if self._corrupt is None else self._corrupt(data), len(events)
                )
            return
        tags = proto.tags_of(events)
        present = frozenset(tags)
        # Clients holding single topics only are routed in one pass for all of them;
        # topic strings are made only for the others that hold topics. A status from
        # the source (a replay's end) is for everyone: select() knows that.
        status = proto.STATUS_TAG in present
        routed = {} if status else self._route(cluster, events)
        needs_topics = any(c.subs.topics and (status or c.subs.wild) for c in clients)
        topics = proto.topics_of(events, tags) if needs_topics else []
        whole, corrupt, count = raw, self._corrupt, len(events)
        for client in list(clients):  # _push may evict, which edits ``clients``
            chosen = routed.get(client)
            if chosen is None:
                chosen = client.subs.select(events, tags, present, topics)
            if not chosen:
                continue
            if len(chosen) == count:
                if whole is None:
                    whole = encode(events)
                data = whole
            else:
                data = encode(chosen)
            self._push(client, data if corrupt is None else corrupt(data), len(chosen))

    def _route(self, cluster: str, events: list[Event]) -> dict[Connection, list[Event]]:
        """The selections of the clients holding single topics only, made in one pass over
        the events for all of them (rather than one pass each, and with no topic string
        per event): the re-encode path with symbol clients. The others select for
        themselves."""
        routes = self._routes.get(cluster)
        if routes is None:
            routes = self._routes[cluster] = self._route_table(cluster)
        if not routes:
            return {}
        out: dict[Connection, list[Event]] = {
            c: [] for c in self._clients[cluster] if c.subs.topics and not c.subs.wild
        }
        get_route = routes.get
        for event in events:
            route = get_route(type(event))
            if route is not None:
                for client in route[1].get(route[0](event), ()):
                    out[client].append(event)
        return out

    def _route_table(
        self, cluster: str
    ) -> dict[type, tuple[Callable[[Any], str], dict[str, list[Connection]]]]:
        """Event type → (its key getter, symbol → the topic-only clients holding it)."""
        table: dict[type, tuple[Callable[[Any], str], dict[str, list[Connection]]]] = {}
        for client in self._clients[cluster]:
            if not client.subs.topics or client.subs.wild:
                continue
            for topic in client.subs.topics:
                tag, _, key = topic.partition(".")
                cls = BY_TAG.get(tag)
                key_of = proto.KEY_OF.get(cls) if cls is not None else None
                if cls is None or key_of is None:
                    continue
                table.setdefault(cls, (key_of, {}))[1].setdefault(key, []).append(client)
        return table

    def publish_frame(self, cluster: str, frame: bytes) -> int:
        """Pass an upstream frame on whole, undecoded, if every connection of ``cluster``
        holds every channel; returns how many events it carried, or 0 when it cannot go
        this way (the caller decodes it and calls :meth:`publish`).

        Only a compact JSON array of data events qualifies (:func:`whole_events`):
        a status, or anything that is not such an array, is left to the decoder,
        which counts and skips what is malformed. Frames of one loop turn are joined
        into one message, built once and shared by every connection.
        """
        if not self._everyone_takes_all(cluster):
            return 0
        count = whole_events(frame)
        if not count:
            return 0
        self.stats.events_in += count
        if not self._clients[cluster]:
            return count
        batch = self._batches[cluster]
        if not batch:
            asyncio.get_running_loop().call_soon(self._flush, cluster)
        batch.append((frame, count))
        return count

    def _everyone_takes_all(self, cluster: str) -> bool:
        """Every client of ``cluster`` holds every channel (cached until a client or a
        subscription changes)."""
        known = self._takes_all.get(cluster)
        if known is None:
            channels = proto.CHANNELS.get(cluster)
            known = channels is not None and all(
                channels <= c.subs.wild for c in self._clients[cluster]
            )
            self._takes_all[cluster] = known
        return known

    def _flush(self, cluster: str) -> None:
        """Send the frames passed through in this loop turn: joined into messages of up
        to :data:`MERGE_LIMIT` bytes, each built once for every connection."""
        frames = self._batches[cluster]
        if not frames:
            return
        self._batches[cluster] = []
        clients = list(self._clients[cluster])  # _push may evict, which edits the list
        for message, start, count in _messages(frames):
            for client in clients:
                if client.frames or client.ws.paused:  # behind: queue (and maybe join) it
                    self._push(client, message[start:], count)
                elif not client.closing:
                    self._send(client, message, len(message) - start, count)
        self._send_ready()  # what queued goes now, not a loop turn later

    def _flush_all(self) -> None:
        """Anything else sent to a connection, and any change to who gets what, first
        sends what was passed through before it, so order and targets stay as published."""
        for cluster, frames in self._batches.items():
            if frames:
                self._flush(cluster)

    def _changed(self) -> None:
        """A client is about to come, go or change its subscriptions (called before the
        change, which is synchronous: nothing reads the cache until it is done)."""
        self._flush_all()
        self._takes_all.clear()
        self._routes.clear()

    def send_statuses(
        self, cluster: str, statuses: Sequence[Status], only: Iterable[Connection] | None = None
    ) -> None:
        """Send statuses to the connections of ``cluster`` (or to ``only`` those)."""
        self._flush_all()
        data = proto.frame(*statuses)
        for client in list(self._clients[cluster]) if only is None else list(only):
            self._push(client, data, 0)

    async def blast(self, frames: Sequence[bytes], *, cluster: str = "stocks") -> int:
        """Corpus replay: send pre-encoded frames to every authenticated client of
        ``cluster`` as fast as each socket takes them (regardless of subscriptions,
        with no slow-consumer bound), for end-to-end benchmarks. Returns how many
        clients got the corpus."""
        targets = list(self._clients[cluster])

        async def send_all(client: Connection) -> None:
            with contextlib.suppress(ConnectionClosed):
                for data in frames:
                    await client.ws.send(data, text=True)
                    self.stats.frames_sent += 1
                    self.stats.bytes_sent += len(data)

        await asyncio.gather(*(send_all(c) for c in targets))
        return len(targets)

    def drop(self, client: Connection) -> None:
        """Abort the TCP connection, as a network failure would (the client sees 1006)."""
        if not client.closing:
            client.closing = True
            self.stats.dropped += 1
            client.ws.transport.abort()

    def kick_all(self) -> None:
        for client in list(self._all):
            self.drop(client)

    def hang(self, on: bool) -> None:
        """Stop (or resume) reading every open connection: pings go unanswered, as when hung."""
        if on:
            self._unread |= self._all
            for client in self._all:
                client.ws.transport.pause_reading()
            return
        unread, self._unread = self._unread, set()
        for client in unread:
            client.ws.transport.resume_reading()  # a no-op once the transport is closing

    @property
    def hung(self) -> bool:
        return bool(self._unread)

    # --- HTTP ---------------------------------------------------------------------

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path.strip("/") in self._clients:
            return None  # carry on with the WebSocket handshake
        if "websocket" in request.headers.get("Upgrade", "").lower() or self._rest is None:
            return json_response(404, {"status": "NOT_FOUND", "message": "Unknown cluster"})
        host = request.headers.get("Host", "")
        if not _HOST_HEADER.fullmatch(host):
            host = self.rest_url.removeprefix("http://")
        answer = self._rest(request, f"http://{host}")
        if inspect.isawaitable(answer):
            return await answer
        return answer

    # --- WebSocket ----------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        client = Connection(ws, urlsplit(ws.request.path).path.strip("/"))
        self._all.add(client)
        self.stats.accepted += 1
        writer: asyncio.Task[None] | None = None
        key: str | None = None
        admitted = False
        try:
            await ws.send(_CONNECTED, text=True)
            key = await self._authenticate(ws)
            if key is None:
                return
            if not self._admit(client, key):
                await self._close_with(ws, proto.frame(proto.MAX_CONNECTIONS), "max connections")
                return
            admitted = True
            writer = asyncio.create_task(self._write_loop(client))
            self._listener.admitted(client)
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
            if admitted:
                self._report_closed(client)
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer

    def _report_closed(self, client: Connection) -> None:
        gone = sorted(client.subs.params())
        client.subs = proto.Subscriptions()
        try:
            if gone:
                self._listener.subscriptions_changed(client, [], gone)
            self._listener.closed(client)
        except Exception:
            log.exception("a listener failed on a closed connection")

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
        if self._accept_key(action.params):
            await ws.send(_AUTH_SUCCESS, text=True)
            return action.params
        self.stats.auth_failures += 1
        await ws.send(_AUTH_FAILED, text=True)
        await ws.close(POLICY_CLOSE, "authentication failed")
        return None

    def _admit(self, client: Connection, key: str) -> bool:
        """Register an authenticated connection: the older one with the same key goes,
        or, past ``max_clients``, this one is refused."""
        if self._max_clients is not None and self.connections >= self._max_clients:
            self.stats.refused += 1
            return False
        self._changed()
        self._clients[client.cluster].append(client)
        if not self._one_per_key:
            return True
        older = self._by_key.get((client.cluster, key))
        self._by_key[(client.cluster, key)] = client
        if older is not None:
            self.stats.max_connection_kicks += 1
            self._evict(older, proto.MAX_CONNECTIONS, "max connections")
        return True

    def _forget(self, client: Connection) -> None:
        self._changed()
        with contextlib.suppress(ValueError):
            self._clients[client.cluster].remove(client)

    def _on_message(self, client: Connection, message: str | bytes) -> None:
        action = proto.parse_action(message)
        if action is None:
            self.stats.bad_messages += 1
            self._push(client, proto.frame(proto.error("invalid message")), 0)
            return
        over: list[Status] = []
        if action.action == wire.SUBSCRIBE and self._max_subs is not None:
            action, over = self._within_limit(client, action, self._max_subs)
        self._changed()
        before = client.subs.params()
        replies, _ = proto.apply_action(action, client.subs, client.cluster, self._refused)
        after = client.subs.params()
        added, removed = sorted(after - before), sorted(before - after)
        self._push(client, proto.frame(*replies, *over), 0)  # the acks go first
        if added or removed:
            try:
                self._listener.subscriptions_changed(client, added, removed)
            except Exception:
                log.exception("a listener failed on a subscription change")

    @staticmethod
    def _within_limit(
        client: Connection, action: proto.Action, limit: int
    ) -> tuple[proto.Action, list[Status]]:
        """Keep the params of a subscribe that fit under ``limit``; refuse the rest."""
        room = limit - len(client.subs)
        kept: list[str] = []
        over: list[Status] = []
        for param in action.params.split(","):
            parsed = proto.split_param(param)
            if parsed is not None and client.subs.has(*parsed):
                kept.append(param)  # already held: costs nothing
            elif room > 0 or not param:
                kept.append(param)
                room -= bool(param)
            else:
                over.append(proto.error(f"subscription limit ({limit}) reached: {param[:64]}"))
        return proto.Action(action.action, ",".join(kept)), over

    def _push(self, client: Connection, data: bytes, events: int) -> None:
        if client.closing:
            return
        frames = client.frames
        if not client.ws.paused:  # the socket has room
            if not self._coalesce:
                if not frames:
                    # Straight in: no queue, no writer wake-up (a task switch per frame
                    # per client was a good part of the fan-out's cost).
                    self._write(client, data, events)
                    return
            else:
                # What this loop turn pushes goes out joined at its end (or once it
                # makes a full message). Not a backlog: the socket was not tried yet.
                frames.append((data, events))
                client.queued += len(data)
                if client.queued >= MERGE_LIMIT:
                    self._send_queued(client)
                else:
                    if not self._ready:
                        asyncio.get_running_loop().call_soon(self._send_ready)
                    self._ready[client] = None
                return
        # The bound applies to what waits behind the newest frame: one big batch (the
        # source itself running late) is not the client's fault; a backlog that keeps
        # growing because the socket does not drain is.
        backlog = client.queued
        frames.append((data, events))
        client.queued += len(data)
        if backlog > self._max_queue:
            self.stats.slow_consumers += 1
            self._evict(client, proto.SLOW_CONSUMER, "slow consumer")
        else:
            client.wake.set()  # the writer sends it once the socket has room

    def _send_ready(self) -> None:
        """Write what this loop turn queued for each connection, joined (coalescing)."""
        ready, self._ready = self._ready, {}
        for client in ready:
            if not client.closing:
                self._send_queued(client)

    def _send_queued(self, client: Connection) -> None:
        """Write the queue while the socket has room; the writer takes over when it has not."""
        frames, ws = client.frames, client.ws
        while frames:
            if ws.paused:
                client.wake.set()
                return
            data, events = frames.popleft()
            client.queued -= len(data)
            if frames and self._coalesce:
                data, events = self._merge(client, data, events)
            self._write(client, data, events)

    def _write(self, client: Connection, data: bytes, events: int) -> None:
        """One text message straight into the transport (see :meth:`_send`)."""
        self._send(client, _text_header(len(data)) + data, len(data), events)

    def _send(self, client: Connection, message: bytes, size: int, events: int) -> None:
        """Write one whole WebSocket message (header and ``size`` bytes of payload).

        Messages are framed here rather than by ``ws.send`` (which copies the
        payload twice and runs a coroutine per message), so a pass-through message
        is framed once for every connection. websockets still owns everything else
        on the connection (pings, close) and writes whole frames too, so the two
        never interleave inside a frame. Once the connection is closing, data is
        dropped, as ``ws.send`` would refuse it.
        """
        ws = client.ws
        if ws.protocol.state is not State.OPEN:
            return
        ws.transport.write(message)
        client.events_out += events
        stats = self.stats
        stats.frames_sent += 1
        stats.bytes_sent += size
        stats.events_sent += events

    async def _write_loop(self, client: Connection) -> None:
        """Drains what queued while the socket was full (see :meth:`_push`)."""
        ws, frames = client.ws, client.frames
        with contextlib.suppress(ConnectionClosed, OSError):
            while not client.closing:
                if not frames:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                if ws.paused:
                    await ws.drain()  # websockets' flow control: until the buffer drains
                    continue
                self._send_queued(client)

    @staticmethod
    def _merge(client: Connection, data: bytes, events: int) -> tuple[bytes, int]:
        """Join the frames waiting behind ``data`` into one array, up to
        :data:`MERGE_LIMIT` bytes: a reader that fell behind catches up with fewer,
        larger messages (the live server batches the same way). Element bytes are
        kept as they are; only the brackets between frames go."""
        head = data.strip()
        if not _is_array(head):
            return data, events
        frames = client.frames
        parts, size = [head], len(head)
        while frames:
            more, count = frames[0]
            more = more.strip()
            if size + len(more) > MERGE_LIMIT or not _is_array(more):
                break
            client.queued -= len(frames.popleft()[0])
            parts.append(more)
            size += len(more)
            events += count
        if len(parts) == 1:
            return data, events
        return _join_arrays(parts), events

    def _evict(self, client: Connection, status: Status, reason: str) -> None:
        """Stop feeding ``client``; tell it why and close it with 1008."""
        client.closing = True
        client.frames.clear()
        client.queued = 0
        client.wake.set()
        self._forget(client)
        self.spawn(self._close_with(client.ws, proto.frame(status), reason))

    async def _close_with(self, ws: ServerConnection, data: bytes, reason: str) -> None:
        try:
            async with asyncio.timeout(self._close_timeout):
                await ws.send(data, text=True)
            await ws.close(POLICY_CLOSE, reason)
        except TimeoutError:
            ws.transport.abort()
        except ConnectionClosed:
            pass


def _is_array(frame: bytes) -> bool:
    """A non-empty JSON array, as far as merging needs to know (first and last byte)."""
    return len(frame) > 2 and frame[:1] == b"[" and frame[-1:] == b"]"


def _join_arrays(parts: Sequence[bytes]) -> bytes:
    """``[a,b]`` and ``[c]`` → ``[a,b,c]``, copying each element's bytes once."""
    inner = b",".join(memoryview(p)[1:-1] for p in parts)
    return b"".join((b"[", inner, b"]"))


def _messages(frames: Sequence[tuple[bytes, int]]) -> Iterator[tuple[bytes, int, int]]:
    """Pass-through frames (compact arrays, with their event counts) as WebSocket
    messages: consecutive frames joined into one array of up to :data:`MERGE_LIMIT`
    bytes (a bigger frame goes alone), header included, each byte copied once.
    Yields (message, where its payload starts, events)."""
    group: list[bytes] = []
    size = events = 0
    for frame, count in frames:
        if group and size + len(frame) > MERGE_LIMIT:
            yield _message(group, size, events)
            group, size, events = [], 0, 0
        group.append(frame)
        size += len(frame)
        events += count
    if group:
        yield _message(group, size, events)


def _message(group: list[bytes], size: int, events: int) -> tuple[bytes, int, int]:
    # Each frame loses its brackets and gains a comma: the payload is size - n + 1 bytes.
    head = _text_header(size - len(group) + 1)
    if len(group) == 1:
        return head + group[0], len(head), events
    parts: list[bytes | memoryview] = [head + b"["]
    for frame in group:
        parts.append(memoryview(frame)[1:-1])
        parts.append(b",")
    parts[-1] = b"]"
    return b"".join(parts), len(head), events


_FRAME_START: Final = b'[{"ev":'


def whole_events(frame: bytes) -> int:
    """How many data events a frame holds, if it can be passed on undecoded; else 0.

    It can when it is a compact JSON array of event objects (as the service and
    the simulator send) with no status in it: statuses are for the session (acks,
    errors, endings), so those frames go through the decoder. Two C-speed scans, a
    fraction of a decode: no event nests an object, so its braces count the events.
    The elements are not validated here: each client's decoder counts and skips a
    bad one, as it would on a direct connection.
    """
    if not frame.startswith(_FRAME_START) or not frame.endswith(b"}]") or b"status" in frame:
        return 0
    return frame.count(b"{")


def _text_header(n: int) -> bytes:
    """The header of an unmasked, final text frame of ``n`` bytes (RFC 6455, 5.2)."""
    if n < 126:
        return _HEAD_SHORT.pack(0x81, n)
    if n < 65536:
        return _HEAD_MEDIUM.pack(0x81, 126, n)
    return _HEAD_LONG.pack(0x81, 127, n)


_HEAD_SHORT: Final = struct.Struct("!BB")
_HEAD_MEDIUM: Final = struct.Struct("!BBH")
_HEAD_LONG: Final = struct.Struct("!BBQ")


def key_checker(api_key: str | None) -> Callable[[str], bool]:
    """``accept_key`` for one key, compared in constant time; ``None`` takes any non-empty key."""
    if api_key is None:
        return bool
    expected = api_key.encode()

    def accept(key: str) -> bool:
        return hmac.compare_digest(key.encode(), expected)

    return accept

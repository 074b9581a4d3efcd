"""The origin's side of the link: upstream frames onto NATS, edges' interest back upstream.

The origin hub hands every upstream frame to :meth:`OriginLink.publish` and
every session state to :meth:`OriginLink.status`; the link tells the hub what
the edges want through ``on_interest``. See docs/nats.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from ticktape.feed.events import Event, encode
from ticktape.link import subjects as sj
from ticktape.link.connect import NatsLink, NatsOptions

if TYPE_CHECKING:
    from nats.aio.msg import Msg

log = logging.getLogger(__name__)

#: Bytes waiting to be published before new frames are dropped (NATS slower than upstream:
#: the origin must never become a slow consumer upstream).
MAX_BACKLOG: Final = 64 * 2**20
HEARTBEAT: Final = sj.EVERY  # seconds between repeats of each cluster's status
_SWEEP: Final = 0.5  # seconds between looks for expired edges

InterestCallback = Callable[[str, list[str], list[str]], None]


class RestHandler(Protocol):
    """What the origin needs from its REST relay (``hub/rest.py``'s ``RestRelay``)."""

    def handle(
        self, path_and_query: str, *, public_base_url: str | None = None
    ) -> Awaitable[tuple[int, list[tuple[str, str]], bytes]]: ...


@dataclass
class _Edge:
    params: dict[str, set[str]]
    expires: float


@dataclass
class OriginStats:
    frames: int = 0
    events: int = 0
    messages: int = 0
    bytes: int = 0
    dropped_frames: int = 0  # NATS down or too slow: dropped rather than buffered
    rest_requests: int = 0
    edges_expired: int = 0
    per_cluster: dict[str, int] = field(default_factory=dict)


@dataclass
class _ClusterState:
    note: sj.StatusNote
    wild: set[str] = field(default_factory=set)  # channels some edge holds whole
    topics: set[str] = field(default_factory=set)  # "T.AAPL" some edge holds alone
    refs: Counter[str] = field(default_factory=Counter)  # param → edges holding it


class OriginLink:
    """``async with OriginLink(options, on_interest=hub_hold, rest=relay) as link``.

    ``on_interest(cluster, added, removed)`` receives changes of the union of
    every edge's params: a param is added when the first edge wants it and
    removed when the last lets go (or ages out); the hub counts the link as one
    more holder in its reference-counted upstream subscription.
    """

    def __init__(
        self,
        options: NatsOptions,
        *,
        on_interest: InterestCallback,
        rest: RestHandler | None = None,
        subjects: sj.Subjects | None = None,
        heartbeat: float = HEARTBEAT,
        secret: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subjects = subjects or sj.Subjects()
        self.id = uuid.uuid4().hex[:12]
        self._on_interest = on_interest
        self.rest = rest
        self.heartbeat = heartbeat
        self.__secret = str.__str__(secret)  # masked in any status we publish
        self._clock = clock
        self.stats = OriginStats()
        self.clusters: dict[str, _ClusterState] = {}
        self.edges: dict[str, _Edge] = {}
        self._out: deque[tuple[str, bytes]] = deque()
        self._out_bytes = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._link = NatsLink(options, on_state=self._nats_state, on_ready=self._ready)
        self._subscribed = False

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        self._link.start()
        self._tasks = [
            asyncio.create_task(self._publisher()),
            asyncio.create_task(self._repeat_statuses()),
            asyncio.create_task(self._sweep()),
        ]

    async def close(self) -> None:
        """Stop; edges hear at once that the origin went (not three heartbeats later)."""
        for cluster in self.clusters:
            self.status(cluster, "offline", "origin unreachable: the origin hub stopped")
        nc = self._link.nc
        if self._link.up and nc is not None:
            with contextlib.suppress(Exception):
                for subject, data in self._out:
                    await nc.publish(subject, data)
                await nc.flush(timeout=2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._link.close()

    async def __aenter__(self) -> OriginLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def backlog(self) -> int:
        """Bytes handed to :meth:`publish` and not yet given to the NATS client."""
        return self._out_bytes

    @property
    def nats(self) -> NatsLink:
        return self._link

    @property
    def nats_up(self) -> bool:
        return self._link.up

    async def wait_connected(self) -> None:
        await self._link.connected.wait()

    # --- from the hub ---------------------------------------------------------------

    def publish(self, cluster: str, events: Sequence[Event], raw: bytes | None = None) -> None:
        """One upstream frame's data events (``raw``: their exact bytes, if known).

        Only what some edge holds is published: per channel a batch of every
        symbol's events for edges holding ``T.*``, per symbol a batch for edges
        holding ``T.AAPL``. Never blocks; past :data:`MAX_BACKLOG` bytes
        waiting, the frame is dropped and counted.
        """
        state = self.clusters.get(cluster)
        if state is None or not events or (not state.wild and not state.topics):
            return
        if not self._link.up or self._out_bytes > MAX_BACKLOG:
            self.stats.dropped_frames += 1
            return
        self.stats.frames += 1
        self.stats.events += len(events)
        tag_of = sj.TAG_OF
        by_tag: dict[str, list[Event]] = {}
        for ev in events:
            tag = tag_of[type(ev)]
            group = by_tag.get(tag)
            if group is None:
                by_tag[tag] = [ev]
            else:
                group.append(ev)
        wild = state.wild
        for tag, group in by_tag.items():
            if tag in wild:
                whole = raw if raw is not None and len(by_tag) == 1 else None
                self._queue(self.subjects.channel(cluster, tag), group, whole)
        if state.topics:
            self._publish_topics(cluster, state.topics, by_tag)
        self._wake.set()

    def _publish_topics(
        self, cluster: str, topics: set[str], by_tag: dict[str, list[Event]]
    ) -> None:
        for tag, group in by_tag.items():
            by_symbol: dict[str, list[Event]] = {}
            for ev in group:
                if f"{tag}.{ev.key}" in topics:
                    by_symbol.setdefault(ev.key, []).append(ev)
            for symbol, evs in by_symbol.items():
                self._queue(self.subjects.topic(cluster, tag, symbol), evs, None)

    def _queue(self, subject: str, events: list[Event], raw: bytes | None) -> None:
        data = raw if raw is not None else encode(events)
        limit = self._max_payload()
        if len(data) > limit and len(events) > 1:  # a burst: split into pieces the bus takes
            half = len(events) // 2
            self._queue(subject, events[:half], None)
            self._queue(subject, events[half:], None)
            return
        self._out.append((subject, data))
        self._out_bytes += len(data)

    def _max_payload(self) -> int:
        nc = self._link.nc
        return nc.max_payload if nc is not None and nc.is_connected else 1 << 20

    def status(
        self, cluster: str, state: str, reason: str = "", retry_in: float | None = None
    ) -> None:
        """The hub's upstream session for ``cluster`` changed state (a ``ConnState`` value)."""
        secret = self.__secret
        if secret and secret in reason:
            reason = reason.replace(secret, "****")
        st = self._cluster(cluster)
        st.note = sj.StatusNote(
            origin=self.id,
            state=state,
            reason=reason,
            retry_in=retry_in,
            every=self.heartbeat,
            refused=st.note.refused,
        )
        self._send_status(cluster)

    def refused(self, cluster: str, params: Sequence[str]) -> None:
        """The upstream said the plan lacks ``params``: edges tell their clients."""
        st = self._cluster(cluster)
        st.note.refused = sorted(set(st.note.refused) | set(params))
        self._send_status(cluster)

    def _cluster(self, cluster: str) -> _ClusterState:
        st = self.clusters.get(cluster)
        if st is None:
            note = sj.StatusNote(origin=self.id, state="connecting", every=self.heartbeat)
            st = self.clusters[cluster] = _ClusterState(note)
        return st

    def _send_status(self, cluster: str) -> None:
        if self._link.up:
            data = sj.encode_note(self.clusters[cluster].note)
            self._out.append((self.subjects.status(cluster), data))
            self._out_bytes += len(data)
            self._wake.set()

    # --- tasks ----------------------------------------------------------------------

    async def _publisher(self) -> None:
        """Drain the queue into nats-py's buffer; its flusher writes the socket."""
        out = self._out
        while True:
            await self._wake.wait()
            self._wake.clear()
            nc = self._link.nc
            while out:
                subject, data = out.popleft()
                self._out_bytes -= len(data)
                if nc is None or not nc.is_connected:
                    continue  # stale market data is worth nothing after an outage
                try:
                    await nc.publish(subject, data)
                except Exception as err:  # the connection broke under us: next frame retries
                    log.debug("publish failed: %s", type(err).__name__)
                    continue
                self.stats.messages += 1
                self.stats.bytes += len(data)

    async def _repeat_statuses(self) -> None:
        """Each cluster's status every ``heartbeat`` seconds: silence means the origin is gone."""
        while True:
            await asyncio.sleep(self.heartbeat)
            for cluster in self.clusters:
                self._send_status(cluster)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP)
            self.expire()

    def expire(self) -> None:
        """Forget edges that stopped announcing; their params leave upstream."""
        if not self._link.up:
            return  # our own outage silenced them: they get a fresh TTL on reconnect
        now = self._clock()
        for edge_id in [e for e, edge in self.edges.items() if edge.expires <= now]:
            log.info("edge %s stopped announcing; its interest ages out", edge_id)
            self.stats.edges_expired += 1
            self._set_edge(edge_id, {}, 0.0)

    # --- NATS -------------------------------------------------------------------------

    def _nats_state(self, up: bool, why: str) -> None:
        if not up:
            self._out.clear()
            self._out_bytes = 0

    def _ready(self) -> None:
        """(Re)connected: listen, give every known edge a fresh TTL, ask edges to announce."""
        now = self._clock()
        for edge in self.edges.values():
            edge.expires = max(edge.expires, now + 3 * self.heartbeat)
        task = asyncio.create_task(self._listen())
        self._tasks.append(task)

    async def _listen(self) -> None:
        nc = self._link.nc
        assert nc is not None
        if not self._subscribed:
            self._subscribed = True  # nats-py restores subscriptions after a reconnect
            await nc.subscribe(self.subjects.interest_all, cb=self._interest)
            await nc.subscribe(self.subjects.rest, queue="ticktape-origin", cb=self._rest)
        await nc.publish(self.subjects.origin, sj.encode_note({"origin": self.id}))
        for cluster in self.clusters:
            self._send_status(cluster)

    async def _interest(self, msg: Msg) -> None:
        try:
            note = sj.decode_interest(msg.data)
        except Exception:
            log.warning("ignored a malformed interest message on %s", msg.subject)
            return
        params = sj.valid_params(note.params)
        self._set_edge(note.edge, params, self._clock() + max(note.ttl, 0.1))

    def _set_edge(self, edge_id: str, params: dict[str, set[str]], expires: float) -> None:
        old = self.edges.pop(edge_id, None)
        before = old.params if old is not None else {}
        if params:
            self.edges[edge_id] = _Edge(params, expires)
        for cluster in before.keys() | params.keys():
            was, now = before.get(cluster, set()), params.get(cluster, set())
            if was != now:
                self._hold(cluster, sorted(now - was), sorted(was - now))

    def _hold(self, cluster: str, added: list[str], removed: list[str]) -> None:
        st = self._cluster(cluster)
        refs = st.refs
        first = [p for p in added if refs[p] == 0]
        refs.update(added)
        refs.subtract(removed)
        last = [p for p in removed if refs[p] <= 0]
        st.refs = +refs
        st.wild = {p[:-2] for p in st.refs if p.endswith(".*")}
        st.topics = {p for p in st.refs if not p.endswith(".*")}
        if first or last:
            try:
                self._on_interest(cluster, first, last)
            except Exception:
                log.exception("on_interest callback failed")
        if first:
            self._send_status(cluster)  # a new edge learns the state at once

    async def _rest(self, msg: Msg) -> None:
        """One REST request from an edge: answered through the origin's relay, in parts."""
        self.stats.rest_requests += 1
        headers = msg.headers or {}
        path = msg.data.decode("utf-8", "replace")
        hdrs: list[tuple[str, str]]
        if self.rest is None:
            status, hdrs, body = 404, [], b'{"status":"NOT_FOUND","message":"no REST relay"}'
        else:
            try:
                status, hdrs, body = await self.rest.handle(
                    path, public_base_url=headers.get("Ticktape-Base") or None
                )
            except Exception as err:
                log.exception("REST relay failed")
                status, hdrs, body = 502, [], _error_body(f"origin failed: {type(err).__name__}")
        await _reply_in_parts(self._link, msg.reply, status, hdrs, body)


async def _reply_in_parts(
    link: NatsLink, inbox: str, status: int, hdrs: list[tuple[str, str]], body: bytes
) -> None:
    nc = link.nc
    if nc is None or not inbox:
        return
    size = max(1024, nc.max_payload - 4096)  # room for the headers
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    head: dict[str, Any] = {k: v for k, v in hdrs if k.lower() != "content-length"}
    for i, part in enumerate(parts):
        meta = {"Ticktape-Status": str(status), "Ticktape-Part": f"{i + 1}/{len(parts)}"}
        await nc.publish(inbox, part, headers={**head, **meta} if i == 0 else meta)
    with contextlib.suppress(Exception):
        await nc.flush(timeout=5)


def _error_body(message: str) -> bytes:
    return encode_json({"status": "ERROR", "error": message})


encode_json = sj.encode_note

"""An edge hub's upstream: NATS instead of Polygon, shaped like a ``Session``.

:meth:`EdgeLink.upstream` makes one per cluster with a session's interface
(``set_params``, ``run``, ``stop``, ``status``, ``stats``), so the hub's relay
uses it unchanged; :class:`EdgeRest` forwards REST to the origin. See docs/nats.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Status
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.feed.stats import FeedStats
from ticktape.link import subjects as sj
from ticktape.link.connect import NatsLink, NatsOptions

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)

TTL: Final = 6.0  # seconds an announcement stands; re-announced every TTL / 3
REST_TIMEOUT: Final = 30.0  # the origin's relay holds a rate-limited request up to 8 s
_REFUSED: Final = "You are not authorized to subscribe to: "


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def default_edge_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EdgeLink:
    """``async with EdgeLink(options) as link: Hub(session_factory=link.upstream, ...)``."""

    def __init__(
        self,
        options: NatsOptions,
        *,
        subjects: sj.Subjects | None = None,
        edge_id: str | None = None,
        ttl: float = TTL,
    ) -> None:
        self.subjects = subjects or sj.Subjects()
        self.id = edge_id or default_edge_id()
        self.ttl = ttl
        self.upstreams: dict[str, EdgeUpstream] = {}
        self.rest = EdgeRest(self)
        self.announcements = 0
        self._announce_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._link = NatsLink(options, on_state=self._nats_state, on_ready=self._ready)
        self._listening = False

    @property
    def nats(self) -> NatsLink:
        return self._link

    async def start(self) -> None:
        self._link.start()
        self._tasks.append(asyncio.create_task(self._announcer()))

    async def close(self) -> None:
        for up in list(self.upstreams.values()):
            await up.stop()
        if self._link.up:  # a goodbye: the origin lets go at once instead of after the TTL
            with contextlib.suppress(Exception):
                await self._announce(goodbye=True)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._link.close()

    async def __aenter__(self) -> EdgeLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the hub's session factory ---------------------------------------------------

    def upstream(
        self,
        url: str,
        api_key: str = "",
        *,
        on_events: Callable[[list[Event], int], None],
        on_status: Callable[[SessionStatus], None] | None = None,
        on_server_status: Callable[[Status], None] | None = None,
        on_frame: Callable[[bytes, int], None] | None = None,
        take_frame: Callable[[bytes], int] | None = None,
        **_session_options: Any,
    ) -> EdgeUpstream:
        """A session-shaped upstream for the cluster named by ``url``'s last segment.

        ``api_key`` is ignored: an edge holds none, the origin does.
        """
        cluster = url.rstrip("/").rsplit("/", 1)[-1]
        up = EdgeUpstream(self, cluster, on_events, on_status, on_server_status, on_frame)
        up.take_frame = take_frame
        self.upstreams[cluster] = up
        return up

    # --- interest ---------------------------------------------------------------------

    def interest(self) -> dict[str, list[str]]:
        return {c: sorted(up.held) for c, up in self.upstreams.items() if up.held}

    def changed(self) -> None:
        self._announce_now.set()

    async def _announcer(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ttl / 3):
                    await self._announce_now.wait()
            self._announce_now.clear()
            if self._link.up:
                with contextlib.suppress(Exception):
                    await self._announce()

    async def _announce(self, goodbye: bool = False) -> None:
        nc = self._link.nc
        assert nc is not None
        note = sj.Interest(edge=self.id, ttl=self.ttl, params={} if goodbye else self.interest())
        await nc.publish(self.subjects.interest(self.id), sj.encode_note(note))
        self.announcements += 1
        if goodbye:
            await nc.flush(timeout=2)

    # --- NATS ---------------------------------------------------------------------------

    def _nats_state(self, up: bool, why: str) -> None:
        for ups in self.upstreams.values():
            ups.nats_state(up, why)

    def _ready(self) -> None:
        self._tasks.append(asyncio.create_task(self._listen()))

    async def _listen(self) -> None:
        nc = self._link.nc
        assert nc is not None
        if not self._listening:  # nats-py restores subscriptions after a reconnect
            self._listening = True
            await nc.subscribe(self.subjects.origin, cb=self._origin_hello)
        for up in self.upstreams.values():
            up.wake()
        self.changed()

    async def _origin_hello(self, msg: Msg) -> None:
        """An origin (re)started: tell it at once what we hold."""
        self.changed()


class EdgeUpstream:
    """One cluster of an edge: NATS subscriptions for the params its clients hold."""

    def __init__(
        self,
        link: EdgeLink,
        cluster: str,
        on_events: Callable[[list[Event], int], None],
        on_status: Callable[[SessionStatus], None] | None,
        on_server_status: Callable[[Status], None] | None,
        on_frame: Callable[[bytes, int], None] | None,
    ) -> None:
        self.link = link
        self.cluster = cluster
        self._on_events = on_events
        self._on_status = on_status
        self._on_server_status = on_server_status
        self._on_frame = on_frame
        #: Offered each data message before decoding, as by the hub's ``Session``
        #: (statuses come on their own subject, so none is in a data message).
        self.take_frame: Callable[[bytes], int] | None = None
        self.stats = FeedStats()
        self._decoder = Decoder(self.stats.decode)
        self.held: set[str] = set()  # params wanted (wildcard-covered topics left out)
        self._subs: dict[str, Subscription] = {}  # param → its live NATS subscription
        self._dirty = asyncio.Event()
        self._stopped = asyncio.Event()
        self._origin: sj.StatusNote | None = None
        self._heard = 0.0  # monotonic time of the origin's last status
        self._refused: set[str] = set()
        self.status = SessionStatus(ConnState.STOPPED, "not started")
        self.connections = 0

    def __repr__(self) -> str:
        return f"EdgeUpstream({self.cluster}, state={self.status.state.value})"

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subs)

    def set_params(self, params: Iterable[str]) -> None:
        new = sj.covered({p.strip() for p in params if p.strip()})
        if new != self.held:
            self.held = new
            self._dirty.set()
            self.link.changed()

    def wake(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        self._stopped.clear()
        link = self.link.nats
        self.nats_state(link.up, link.why)
        tasks = [asyncio.create_task(self._sync_forever()), asyncio.create_task(self._watch())]
        try:
            await self._stopped.wait()
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._unsubscribe(set(self._subs))
            self._publish(ConnState.STOPPED, "stopped")

    async def stop(self) -> None:
        self._stopped.set()
        self.held = set()
        self.link.changed()

    # --- state ------------------------------------------------------------------------

    def _publish(self, state: ConnState, reason: str, retry_in: float | None = None) -> None:
        st = SessionStatus(state, reason, 0, retry_in)
        if (st.state, st.reason, st.retry_in) == (
            self.status.state,
            self.status.reason,
            self.status.retry_in,
        ):
            return
        self.status = st
        if self._on_status is not None:
            try:
                self._on_status(st)
            except Exception:
                log.exception("on_status callback failed")

    def nats_state(self, up: bool, why: str) -> None:
        if self._stopped.is_set():
            return
        if not up and not self.link.nats.ever_up and why.startswith("connecting"):
            self._publish(ConnState.CONNECTING, why)  # the first attempt, not yet failed
        elif not up:
            self._origin = None
            self._publish(ConnState.OFFLINE, f"origin unreachable: {why}")
        elif self._origin is None:
            self._publish(ConnState.CONNECTING, "waiting for the origin on NATS")
            self._heard = time.monotonic()

    def _note(self, note: sj.StatusNote) -> None:
        self._heard = time.monotonic()
        if self._origin is not None and self._origin.origin != note.origin:
            self.link.changed()  # a new origin: it must hear our interest now
        self._origin = note
        try:
            state = ConnState(note.state)
        except ValueError:
            state = ConnState.RECONNECTING
        self._publish(state, note.reason, note.retry_in)
        fresh = [p for p in note.refused if p not in self._refused]
        self._refused.update(fresh)
        if fresh and self._on_server_status is not None:
            self._on_server_status(Status(status="error", message=_REFUSED + ",".join(fresh)))

    async def _watch(self) -> None:
        """No word from the origin for three heartbeats (NATS up): it is gone."""
        while True:
            every = self._origin.every if self._origin is not None else sj.EVERY
            await asyncio.sleep(every)
            if not self.link.nats.up:
                continue
            silent = time.monotonic() - self._heard
            if silent > 3 * every + 0.5:
                self._origin = None
                self._publish(
                    ConnState.OFFLINE,
                    f"origin unreachable: no word from the origin for {silent:.0f} s",
                )

    # --- data -------------------------------------------------------------------------

    async def _on_msg(self, msg: Msg) -> None:
        data = msg.data
        recv_ms = _now_ms()
        t0 = time.perf_counter()
        if self._on_frame is not None:
            try:
                self._on_frame(data, recv_ms)
            except Exception:
                log.exception("on_frame callback failed")
        taken = 0
        if self.take_frame is not None:
            try:
                taken = self.take_frame(data)
            except Exception:
                self.stats.consumer_errors += 1
                log.exception("take_frame callback failed")
        if taken:  # passed on undecoded
            self.stats.record_passed(taken, t0)
            return
        self.stats.deliver(self._on_events, self._decoder.decode(data), recv_ms, t0)

    async def _on_status_msg(self, msg: Msg) -> None:
        try:
            note = sj.decode_status(msg.data)
        except Exception:
            log.warning("ignored a malformed status on %s", msg.subject)
            return
        self._note(note)

    # --- subscriptions ----------------------------------------------------------------

    async def _sync_forever(self) -> None:
        status_sub: Subscription | None = None
        while True:
            await self._dirty.wait()
            await self.link.nats.connected.wait()
            self._dirty.clear()
            nc = self.link.nats.nc
            assert nc is not None
            try:
                if status_sub is None:
                    status_sub = await nc.subscribe(
                        self.link.subjects.status(self.cluster), cb=self._on_status_msg
                    )
                want = set(self.held)
                await self._unsubscribe(set(self._subs) - want)
                for param in sorted(want - set(self._subs)):
                    subject = self.link.subjects.for_param(self.cluster, param)
                    self._subs[param] = await nc.subscribe(
                        subject, cb=self._on_msg, pending_bytes_limit=256 * 2**20
                    )
            except Exception as err:  # the connection broke mid-way: try again once back
                log.info("edge %s: subscribing failed (%s)", self.cluster, type(err).__name__)
                self._dirty.set()
                await asyncio.sleep(0.2)

    async def _unsubscribe(self, params: set[str]) -> None:
        for param in params:
            sub = self._subs.pop(param, None)
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()


class EdgeRest:
    """REST for an edge hub's clients: asked of the origin by NATS request/reply.

    The origin answers through its relay (with the key, its cache and pacing)
    in parts of at most the bus's message size; ``next_url`` points back here.
    """

    def __init__(self, link: EdgeLink, public_base_url: str = "") -> None:
        self.link = link
        self.public_base_url = public_base_url
        self.requests = 0
        self.failures = 0

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "origin_failures": self.failures, "via": "nats"}

    async def handle(
        self, path_and_query: str, *, public_base_url: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        self.requests += 1
        nats = self.link.nats
        if not nats.up or nats.nc is None:
            return self._fail(502, f"origin unreachable: {nats.why}")
        nc = nats.nc
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        try:
            base = public_base_url or self.public_base_url
            headers = {"Ticktape-Base": base} if base else None
            await nc.publish(
                self.link.subjects.rest, path_and_query.encode(), reply=inbox, headers=headers
            )
            return await self._collect(sub)
        except TimeoutError:
            return self._fail(504, "the origin did not answer in time")
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _collect(self, sub: Subscription) -> tuple[int, list[tuple[str, str]], bytes]:
        parts: list[bytes] = []
        status, head = 502, []
        async with asyncio.timeout(REST_TIMEOUT):
            while True:
                msg = await sub.next_msg(timeout=REST_TIMEOUT)
                hdrs = msg.headers or {}
                if hdrs.get("Status") == "503":  # NATS: nobody listens on the subject
                    return self._fail(502, "origin unreachable: no origin answers REST on NATS")
                index, _, total = hdrs.get("Ticktape-Part", "1/1").partition("/")
                if index == "1":
                    status = int(hdrs.get("Ticktape-Status", "502"))
                    head = [(k, v) for k, v in hdrs.items() if not k.startswith("Ticktape-")]
                parts.append(msg.data)
                if index == total:
                    return status, head, b"".join(parts)

    def _fail(self, status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
        self.failures += 1
        body = sj.encode_note({"status": "ERROR", "error": message})
        return status, [("Content-Type", "application/json")], body

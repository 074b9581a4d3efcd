"""The asyncio adapter for the client protocol (feed/protocol.py): opens the websocket,
feeds it frames, carries out what it says, and owns the timers (backoff, handshake,
silence watchdog). One session never gives up and always says what it is doing.
See docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ticktape.feed.backoff import Backoff
from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Status
from ticktape.feed.protocol import (
    ClientProtocol,
    ConnState,
    Ended,
    Progress,
    Refused,
    Send,
    ServerSaid,
    clip,
    ending_state,
)
from ticktape.feed.stats import FeedStats
from ticktape.feed.wire import REPLAY_FINISHED, refused_params

__all__ = [
    "DEFAULT_MAX_SIZE",
    "REPLAY_FINISHED",
    "ConnState",
    "Session",
    "SessionStatus",
    "ending_state",
    "refused_params",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE: Final = 64 * 1024 * 1024  # big batches after a burst exceed 1 MiB easily
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """The connection state and why, as the status bar shows it.

    While waiting to reconnect (RECONNECTING, OFFLINE, KICKED, SLOW_CONSUMER)
    ``attempt`` is the retry number and ``retry_in`` the wait in seconds that
    started at ``since_ms``: a countdown is ``since_ms + retry_in*1000 - now``.
    """

    state: ConnState
    reason: str
    attempt: int = 0
    retry_in: float | None = None
    since_ms: int = field(default_factory=_now_ms)


class _Ended(Exception):
    """Why one connection ended: the state to show while waiting, and a human reason."""

    def __init__(self, state: ConnState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


class _NoDebugLogger(logging.LoggerAdapter[logging.Logger]):
    """websockets logs every frame at DEBUG, our auth frame (with the key) included."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_WS_LOGGER: Final = _NoDebugLogger(logging.getLogger("websockets.client"), {})


class Session:
    """A self-healing subscription to one cluster (see the module docstring).

    The protocol's rules (handshake, subscriptions, which statuses end a
    connection) live in :class:`~ticktape.feed.protocol.ClientProtocol`; this
    class moves its frames and keeps the clocks. Reconnects wait a capped,
    jittered backoff, forever: a rejected key waits for :meth:`key_changed`;
    ``max_connections`` (another session holds this key's only connection)
    waits long on ``kicked_backoff`` instead of kicking it back.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        channels: Sequence[str] = ("T", "Q", "AM"),
        on_events: Callable[[list[Event], int], None],
        on_status: Callable[[SessionStatus], None] | None = None,
        on_server_status: Callable[[Status], None] | None = None,
        on_frame: Callable[[bytes, int], None] | None = None,
        take_frame: Callable[[bytes], int] | None = None,
        symbols: Iterable[str] = (),
        backoff: Backoff | None = None,
        kicked_backoff: Backoff | None = None,
        silence_timeout: float = 30.0,
        data_timeout: float | None = None,
        handshake_timeout: float = 15.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        max_size: int | None = DEFAULT_MAX_SIZE,
        stats: FeedStats | None = None,
    ) -> None:
        """Args:
        url: the cluster's WebSocket URL (e.g. ``wss://…/stocks``).
        api_key: sent in the auth frame only; never logged or put in the URL.
        channels: the channel prefixes subscribed for every symbol (``T``, ``Q``, ``AM``…).
        on_events: each frame's data events and its receive time (Unix ms), synchronously.
        on_status: every change of the connection's state.
        on_server_status: each ``status`` event the server sends.
        on_frame: each raw frame and its receive time, before decoding (recording).
        take_frame: offered each frame once live, before decoding; returns how many
            data events it passed on whole (the frame is then not decoded: the hub's
            pass-through), or 0 to have it decoded as usual. It must take no frame
            that holds a status, which the protocol has to see.
        symbols: the symbols to subscribe to at first (:meth:`set_symbols` changes them).
        backoff: the wait between reconnects (capped, jittered).
        kicked_backoff: the longer wait after ``max_connections`` (another session
            holds this key's only connection): it is not kicked back at once.
        silence_timeout: no frame at all for this many seconds means the connection is dead.
        data_timeout: no data frames for this long while subscribed also counts as dead.
            Off by default because markets go quiet (nights, weekends); worth enabling
            during busy hours to catch a server that pongs but sends nothing.
        handshake_timeout: seconds allowed to open the socket, and again to authenticate.
        ping_interval: seconds between WebSocket pings (None: no pings).
        ping_timeout: seconds a ping may wait for its pong (None: forever).
        max_size: the largest frame accepted, in bytes (None: any).
        stats: where the feed figures are counted (else a new :class:`FeedStats`).
        """
        self._url = url
        self._key_gen = 0
        self._channels = tuple(channels)
        self._on_events = on_events
        self._on_status = on_status
        self._on_server_status = on_server_status
        self._on_frame = on_frame  # raw frame + recv_ms before decoding (recording)
        self._take_frame = take_frame
        self.backoff = backoff if backoff is not None else Backoff()
        self.kicked_backoff = (
            kicked_backoff
            if kicked_backoff is not None
            else Backoff(base=80.0, cap=900.0, jitter=0.25, reset_after=300.0)
        )
        self.silence_timeout = silence_timeout
        self.data_timeout = data_timeout
        self.handshake_timeout = handshake_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._max_size = max_size
        self.stats = stats if stats is not None else FeedStats()
        self._proto = ClientProtocol(
            api_key, self._channels, symbols, decoder=Decoder(self.stats.decode)
        )
        parts = urlsplit(url)
        self._where = f"{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"
        self._proxy: Literal[True] | None = None if parts.hostname in _LOOPBACK else True

        self._dirty = asyncio.Event()  # the protocol has sends for a changed desired set
        self._wake = asyncio.Event()  # cut a wait short (key changed, retry now)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None  # the open connection, if any
        self._stopping = False
        self._ever_live = False
        self._last_rx = 0.0  # perf_counter of the last frame
        self._last_data = 0.0  # perf_counter of the last frame with data events
        self._dead_reason = ""  # set by the watchdog when it kills a silent connection
        #: Connection attempts made (each opens one websocket, or tries to).
        self.connections = 0
        self.status = SessionStatus(ConnState.STOPPED, "not started")

    def __repr__(self) -> str:
        return (
            f"Session({self._where!r}, state={self.status.state.value}, "
            f"symbols={len(self._proto.symbols)}, channels={','.join(self._channels)})"
        )

    # -- public -----------------------------------------------------------------------------

    @property
    def symbols(self) -> frozenset[str]:
        """The desired symbols."""
        return self._proto.symbols

    @property
    def subscribed(self) -> frozenset[str]:
        """Params (``"T.AAPL"``) sent to the server on the current connection."""
        return self._proto.subscribed

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """Make ``symbols`` the desired set; when live only the difference is sent."""
        if self._proto.set_symbols(symbols):
            self._dirty.set()

    def set_extra_params(self, params: Iterable[str]) -> None:
        """Subscribe these params too (``XL2.BTC-USD`` while its book shows); see the protocol."""
        if self._proto.set_extra_params(params):
            self._dirty.set()

    def set_params(self, params: Iterable[str]) -> None:
        """Make exactly ``params`` (``"T.AAPL"``, ``"T.*"``) the desired subscription,
        instead of channels × symbols; when live only the difference is sent."""
        if self._proto.set_params(params):
            self._dirty.set()

    def key_changed(self, new_key: str) -> None:
        """Use ``new_key`` from the next connection on; leaves AUTH_FAILED at once."""
        self._proto.key_changed(new_key)
        self._key_gen += 1
        if self.status.state is ConnState.AUTH_FAILED:
            self._wake.set()

    def retry_now(self) -> None:
        """Cut the current wait short (a "reconnect now" key in the UI)."""
        self._wake.set()

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop` (a session runs once)."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("this session is already running")
        task = self._task = asyncio.current_task()
        try:
            await self._forever()
        except asyncio.CancelledError:
            # Our own stop() cancels us; swallow only that, never a caller's cancel.
            if not self._stopping or task is None or task.uncancel() > 0:
                raise
        finally:
            self._proto.connection_lost()
            self._publish(ConnState.STOPPED, "stopped")

    async def stop(self) -> None:
        """Close the connection (politely) and end :meth:`run`."""
        self._stopping = True
        task = self._task
        if task is None or task.done():
            if self.status.state is not ConnState.STOPPED:
                self._publish(ConnState.STOPPED, "stopped")
            return
        ws = self._ws
        if ws is not None:  # close politely (1000) rather than as a cancelled task (1011)
            with contextlib.suppress(Exception):
                await ws.close()
        task.cancel()
        await asyncio.wait({task})

    # -- the reconnect loop -----------------------------------------------------------------

    def _publish(
        self, state: ConnState, reason: str, attempt: int = 0, retry_in: float | None = None
    ) -> None:
        self.status = st = SessionStatus(state, reason, attempt, retry_in)
        log.info("session %s: %s (%s)", self._where, state.value, reason)
        if self._on_status is not None:
            try:
                self._on_status(st)
            except Exception:
                log.exception("on_status callback failed")

    async def _forever(self) -> None:
        while not self._stopping:
            key_gen = self._key_gen
            live_since: list[float] = []
            ended = await self._connect_once(live_since)
            if self._stopping:
                break
            up_for = time.monotonic() - live_since[0] if live_since else 0.0
            if ended.state is ConnState.AUTH_FAILED:
                self._publish(ended.state, ended.reason)
                if self._key_gen == key_gen:
                    await self._wait(None)
                self.backoff.reset()
                continue
            self.kicked_backoff.stable(up_for)
            self.backoff.stable(up_for)
            policy = self.kicked_backoff if ended.state is ConnState.KICKED else self.backoff
            delay = policy.next_delay()
            self._publish(ended.state, ended.reason, policy.attempt, delay)
            await self._wait(delay)

    async def _wait(self, seconds: float | None) -> None:
        """Sleep, unless woken by key_changed/retry_now."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _connect_once(self, live_since: list[float]) -> _Ended:
        """One connection from open to end; returns why it ended."""
        self.connections += 1
        self._publish(ConnState.CONNECTING, f"connecting to {self._where}")
        self._dead_reason = ""
        try:
            async with connect(
                self._url,
                max_size=self._max_size,
                max_queue=64,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                open_timeout=self.handshake_timeout,
                close_timeout=2.0,
                proxy=self._proxy,
                logger=_WS_LOGGER,
            ) as ws:
                await self._serve(ws, live_since)
        except _Ended as end:
            return end
        except ConnectionClosed as err:
            if self._dead_reason:
                return _Ended(ConnState.RECONNECTING, self._dead_reason)
            why = f"{err.rcvd.code} {clip(err.rcvd.reason)}".strip() if err.rcvd else "no close"
            return _Ended(ConnState.RECONNECTING, f"connection lost ({why})")
        except InvalidStatus as err:
            code = err.response.status_code
            return _Ended(ConnState.RECONNECTING, f"server refused the websocket: HTTP {code}")
        except (OSError, InvalidHandshake, TimeoutError) as err:
            what = clip(str(err)) or type(err).__name__
            return _Ended(ConnState.OFFLINE, f"cannot reach {self._where}: {what}")
        except Exception as err:  # a session that must run for days outlives its own bugs
            log.exception("session %s: unexpected error", self._where)
            return _Ended(ConnState.RECONNECTING, f"unexpected error: {type(err).__name__}")
        return _Ended(ConnState.RECONNECTING, "connection ended")  # pragma: no cover

    async def _serve(self, ws: ClientConnection, live_since: list[float]) -> None:
        self._ws = ws
        proto = self._proto
        proto.connection_made()
        self._last_rx = self._last_data = time.perf_counter()
        watchdog = asyncio.create_task(self._watchdog(ws))
        sync: asyncio.Task[None] | None = None
        try:
            try:
                async with asyncio.timeout(self.handshake_timeout):
                    while not proto.live:
                        self._frame(await ws.recv(decode=False))
                        await self._carry_out(ws, live_since)
            except TimeoutError:
                raise _Ended(
                    ConnState.RECONNECTING,
                    f"the server did not finish the handshake in {self.handshake_timeout:g} s",
                ) from None
            sync = asyncio.create_task(self._sync_forever(ws, live_since))
            while True:
                self._frame(await ws.recv(decode=False))
                if proto.pending:  # rare once live: no coroutine per frame for nothing
                    await self._carry_out(ws, live_since)
        finally:
            self._ws = None
            proto.connection_lost()
            for task in (watchdog, sync):
                if task is not None:
                    task.cancel()
                    await asyncio.wait({task})

    async def _carry_out(self, ws: ClientConnection, live_since: list[float]) -> None:
        """Do what the protocol says, in its order (raises :class:`_Ended` at an end)."""
        for out in self._proto.outputs():
            match out:
                case Send(text):
                    await ws.send(text)
                case ServerSaid(status):
                    self._server_said(status)
                case Progress(state, reason):
                    if state is ConnState.LIVE:
                        live_since.append(time.monotonic())
                        if self._ever_live:
                            self.stats.reconnects += 1
                        self._ever_live = True
                        self._dirty.clear()  # the first subscribe had every change so far
                    self._publish(state, reason)
                case Refused(params):
                    log.info("session %s: the plan does not include %s", self._where, params)
                case Ended(state, reason):
                    raise _Ended(state, reason)

    def _server_said(self, status: Status) -> None:
        if self._on_server_status is not None:
            try:
                self._on_server_status(status)
            except Exception:
                log.exception("on_server_status callback failed")

    # -- the hot path -----------------------------------------------------------------------

    def _frame(self, frame: bytes) -> None:
        """Decode, deliver and count one frame; its statuses become protocol outputs."""
        t0 = time.perf_counter()
        self._last_rx = t0
        recv_ms = time.time_ns() // 1_000_000
        if self._on_frame is not None:
            try:
                self._on_frame(frame, recv_ms)
            except Exception:
                self.stats.consumer_errors += 1
                log.exception("on_frame callback failed")
        if self._take_frame is not None and self._proto.live and self._taken(frame, t0):
            return
        events = self._proto.receive_frame(frame)
        if events:
            self._last_data = t0
        self.stats.deliver(self._on_events, events, recv_ms, t0)

    def _taken(self, frame: bytes, t0: float) -> bool:
        """Offer ``frame`` to ``take_frame``; True if it was passed on whole (counted here)."""
        assert self._take_frame is not None
        try:
            taken = self._take_frame(frame)
        except Exception:
            self.stats.consumer_errors += 1
            log.exception("take_frame callback failed")
            return False
        if not taken:
            return False
        self._last_data = t0
        self.stats.record_passed(taken, t0)
        return True

    async def _sync_forever(self, ws: ClientConnection, live_since: list[float]) -> None:
        """While live, sends what a change of the desired set takes."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                await self._carry_out(ws, live_since)

    # -- liveness ---------------------------------------------------------------------------

    async def _watchdog(self, ws: ClientConnection) -> None:
        """Kill a connection that is silent: no frames and no pong (or no data, if asked)."""
        limit = self.silence_timeout
        tick = min(1.0, limit / 4, self.data_timeout / 4 if self.data_timeout else limit)
        last_pong = time.perf_counter()
        pong: asyncio.Future[float] | None = None  # the probe in flight
        while True:
            await asyncio.sleep(tick)
            now = time.perf_counter()
            if pong is not None and pong.done():
                if not pong.cancelled() and pong.exception() is None:
                    last_pong = now
                pong = None
            quiet = now - max(self._last_rx, last_pong)
            if quiet >= limit:
                self._dead_reason = f"no frames and no pong for {limit:g} s: connection dead"
            elif self.data_timeout is not None and self._proto.subscribed:
                idle = now - self._last_data
                if idle >= self.data_timeout:
                    self._dead_reason = f"no data for {self.data_timeout:g} s: server stalled"
            if self._dead_reason:
                ws.transport.abort()
                return
            if quiet >= limit / 2 and pong is None:
                try:
                    async with asyncio.timeout(limit - quiet):
                        pong = asyncio.ensure_future(await ws.ping())
                except TimeoutError:
                    continue  # could not even send it: the next tick declares death
                except ConnectionClosed:
                    return

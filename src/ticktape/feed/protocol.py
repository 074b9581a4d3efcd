"""The client's side of the websocket protocol, without I/O: frames in, data events and
ordered outputs (messages to send, state changes, the end of a connection) out. The
asyncio adapter is feed/session.py; the server's side is sim/protocol.py. See docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final

from ticktape.feed import wire
from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Status
from ticktape.feed.wire import refused_params

MAX_PARAMS_CHARS: Final = 8000  # one subscribe action stays well under any frame limit
_REASON_LIMIT: Final = 200  # longest piece of server text we repeat in a reason


class ConnState(StrEnum):
    """What the session is doing, as the status bar names it."""

    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    SUBSCRIBING = "subscribing"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth_failed"
    KICKED = "kicked"
    SLOW_CONSUMER = "slow_consumer"
    OFFLINE = "offline"
    STOPPED = "stopped"


class Phase(Enum):
    """Where one connection is in the handshake."""

    CLOSED = "closed"  # no connection (before the first, between two)
    AWAIT_CONNECTED = "await_connected"
    AWAIT_AUTH = "await_auth"
    LIVE = "live"
    ENDED = "ended"  # a status ended it; nothing more is read or sent


# -- outputs, in the order the adapter must carry them out -------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send this text frame."""

    text: str


@dataclass(frozen=True, slots=True)
class Progress:
    """The connection moved on (authenticating, subscribing, live): tell the user."""

    state: ConnState
    reason: str


@dataclass(frozen=True, slots=True)
class ServerSaid:
    """A status from the server (the API key masked out of it), for whoever listens."""

    status: Status


@dataclass(frozen=True, slots=True)
class Refused:
    """The plan does not include these subscriptions; the connection goes on."""

    params: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ended:
    """A status ended the connection: close it, show ``state``, then retry as it says."""

    state: ConnState
    reason: str


Output = Send | Progress | ServerSaid | Refused | Ended


def clip(text: str) -> str:
    """Server text made fit for one status line: whitespace folded, length capped."""
    text = " ".join(text.split())
    return text if len(text) <= _REASON_LIMIT else text[:_REASON_LIMIT] + "…"


def chunks(params: Sequence[str], limit: int) -> Iterator[list[str]]:
    """Split params into comma lists of at most ``limit`` characters each."""
    chunk: list[str] = []
    size = 0
    for p in params:
        if chunk and size + len(p) + 1 > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += len(p) + 1
    if chunk:
        yield chunk


#: Server statuses that end the connection, and the state the session goes to.
_ENDINGS: Final = {
    wire.MAX_CONNECTIONS: ConnState.KICKED,
    wire.SLOW_CONSUMER: ConnState.SLOW_CONSUMER,
    wire.FORCE_DISCONNECT: ConnState.RECONNECTING,
    wire.AUTH_TIMEOUT: ConnState.RECONNECTING,
}


def ending_state(status: str, message: str = "") -> ConnState | None:
    """The state a server status ends the connection in, or None if it ends nothing.

    The one place that reads status words: the session acts on it and the UI
    words its notices by it. ``auth_failed``, or the older ``error`` /
    "authentication failed" wording, is a rejected key.
    """
    kind = status.lower()
    msg = message.lower()
    if kind == wire.AUTH_FAILED or (
        kind == wire.ERROR and "auth" in msg and ("fail" in msg or "invalid" in msg)
    ):
        return ConnState.AUTH_FAILED
    return _ENDINGS.get(kind)


def ending(st: Status) -> Ended | None:
    """The end a server status announces, with the reason the status bar shows."""
    state = ending_state(st.status, st.message)
    said = f": {clip(st.message)}" if st.message else ""
    if state is None:
        return None
    if state is ConnState.AUTH_FAILED:
        return Ended(state, f"the server rejected the API key{said}")
    if state is ConnState.KICKED:
        return Ended(state, "another session is using this API key's connection")
    if state is ConnState.SLOW_CONSUMER:
        return Ended(state, "the server dropped us for reading too slowly")
    if st.status.lower() == wire.AUTH_TIMEOUT:
        return Ended(state, "the server timed out waiting for authentication")
    return Ended(state, f"the server forced a disconnect{said}")


class ClientProtocol:
    """One client's rules for a run of connections: handshake, subscriptions, endings.

    Per connection: :meth:`connection_made`, then :meth:`receive_frame` for each
    frame and :meth:`outputs` after it (and after :meth:`set_symbols`), then
    :meth:`connection_lost`. The desired symbols outlive connections: a new
    connection subscribes to all of them again; a live one gets only changes.
    """

    __slots__ = (
        "__key",
        "_channels",
        "_decoder",
        "_desired",
        "_extra",
        "_limit",
        "_out",
        "_params",
        "_sent",
        "phase",
    )

    def __init__(
        self,
        api_key: str,
        channels: Sequence[str],
        symbols: Iterable[str] = (),
        *,
        decoder: Decoder | None = None,
        max_params_chars: int = MAX_PARAMS_CHARS,
    ) -> None:
        self.__key = str.__str__(api_key)  # a config.Secret works too (str() would mask it)
        self._channels = tuple(channels)
        self._decoder = decoder if decoder is not None else Decoder()
        self._limit = max_params_chars
        self._desired: set[str] = {s.strip() for s in symbols if s.strip()}
        self._extra: set[str] = set()  # params beyond channels × symbols ("XL2.BTC-USD")
        self._params: frozenset[str] | None = None  # exact params, once set_params is used
        self._sent: set[str] = set()  # params subscribed on the current connection
        self._out: list[Output] = []
        self.phase = Phase.CLOSED

    def __repr__(self) -> str:
        return f"ClientProtocol(phase={self.phase.value}, symbols={len(self._desired)})"

    @property
    def symbols(self) -> frozenset[str]:
        """The desired symbols."""
        return frozenset(self._desired)

    @property
    def subscribed(self) -> frozenset[str]:
        """Params (``"T.AAPL"``) sent to the server on the current connection."""
        return frozenset(self._sent)

    @property
    def live(self) -> bool:
        return self.phase is Phase.LIVE

    def key_changed(self, new_key: str) -> None:
        """Authenticate with ``new_key`` from the next connection on."""
        self.__key = str.__str__(new_key)

    def set_symbols(self, symbols: Iterable[str]) -> bool:
        """Make ``symbols`` the desired set (True if it changed); when live, the
        difference is queued as unsubscribe/subscribe outputs."""
        new = {s.strip() for s in symbols if s.strip()}
        if new == self._desired:
            return False
        self._desired = new
        if self.phase is Phase.LIVE:
            self._sync()
        return True

    def set_extra_params(self, params: Iterable[str]) -> bool:
        """Params wanted beyond every channel for every symbol (one symbol's ``XL2``, say);
        True if they changed; when live, the difference is queued like a symbol change."""
        new = {p.strip() for p in params if p.strip()}
        if new == self._extra:
            return False
        self._extra = new
        if self.phase is Phase.LIVE:
            self._sync()
        return True

    def set_params(self, params: Iterable[str]) -> bool:
        """Make exactly ``params`` (``"T.AAPL"``, ``"T.*"``) the desired subscription instead
        of channels × symbols (True if it changed); when live, the difference is queued."""
        new = frozenset(p.strip() for p in params if p.strip())
        if new == self._params:
            return False
        self._params = new
        if self.phase is Phase.LIVE:
            self._sync()
        return True

    # -- connection lifecycle ------------------------------------------------------------

    def connection_made(self) -> None:
        """A new connection is open: nothing is subscribed on it yet."""
        self._sent = set()
        self._out = []
        self.phase = Phase.AWAIT_CONNECTED

    def connection_lost(self) -> None:
        self._sent = set()
        self._out = []
        self.phase = Phase.CLOSED

    def receive_frame(self, frame: bytes | str) -> list[Event]:
        """Decode one frame; returns its data events (statuses are taken out and acted on).

        Finding statuses is one C-level pass (``Status in map(type, events)``); the
        list is only rebuilt when one is there, which is rare once live.
        """
        events = self._decoder.decode(frame)
        if Status in map(type, events):
            self._statuses([e for e in events if type(e) is Status])
            events = [e for e in events if type(e) is not Status]
        return events

    @property
    def pending(self) -> bool:
        """True when :meth:`outputs` has something (a cheap test for the read loop)."""
        return bool(self._out)

    def outputs(self) -> list[Output]:
        """What the adapter must do now, in order; each output is returned once."""
        out, self._out = self._out, []
        return out

    # -- rules ---------------------------------------------------------------------------

    def _statuses(self, statuses: list[Status]) -> None:
        key, out = self.__key, self._out
        for st in statuses:  # a server that echoes the key must not get it on screen or in logs
            if key and key in st.message:
                st.message = st.message.replace(key, "****")
            out.append(ServerSaid(st))
        if self.phase is Phase.ENDED:
            return
        for st in statuses:
            end = ending(st)
            if end is not None:
                self.phase = Phase.ENDED
                out.append(end)
                return
        for st in statuses:
            self._status(st)

    def _status(self, st: Status) -> None:
        kind = st.status
        if kind == wire.CONNECTED and self.phase is Phase.AWAIT_CONNECTED:
            self.phase = Phase.AWAIT_AUTH
            self._out.append(Progress(ConnState.AUTHENTICATING, "sending the API key"))
            self._out.append(Send(wire.action_text(wire.AUTH, self.__key)))
        elif kind == wire.AUTH_SUCCESS and self.phase is Phase.AWAIT_AUTH:
            n = len(self._desired)
            self._out.append(Progress(ConnState.SUBSCRIBING, f"subscribing to {n} symbols"))
            self._sync()
            self.phase = Phase.LIVE
            self._out.append(Progress(ConnState.LIVE, f"streaming {n} symbols"))
        else:
            refused = refused_params(st.message)
            if refused:
                self._out.append(Refused(refused))

    def _sync(self) -> None:
        """Queue what it takes to make the server's subscriptions equal the desired set."""
        want = (
            set(self._params)
            if self._params is not None
            else {wire.param(ch, sym) for sym in self._desired for ch in self._channels}
        )
        want |= self._extra  # beside either: one pair's XL2 while its book shows
        for action, params in (
            (wire.UNSUBSCRIBE, sorted(self._sent - want)),
            (wire.SUBSCRIBE, sorted(want - self._sent)),
        ):
            for chunk in chunks(params, self._limit):
                self._out.append(Send(wire.action_text(action, ",".join(chunk))))
        self._sent = want

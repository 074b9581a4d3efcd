"""The relay: one upstream session per cluster, fanned out to every local client.

Clients speak the Polygon protocol to a :class:`ProtocolServer`; the upstream
subscription is the reference-counted union of theirs; each upstream frame goes
on undecoded while every client takes every channel, else it is decoded once and
published to the engine with its bytes, which filters per client. See docs/hub.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final, Protocol

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ticktape.feed import upstream as words
from ticktape.feed.events import Event, Status
from ticktape.feed.session import Session, SessionStatus, refused_params
from ticktape.server import protocol as proto
from ticktape.server.engine import (
    Connection,
    Listener,
    ProtocolServer,
    json_response,
    key_checker,
)

log = logging.getLogger(__name__)

#: Where a client reads the hub's state (``ticktape hub status``); the token is required.
STATUS_PATH: Final = "/hub/status"
_RATE_EVERY: Final = 1.0  # seconds between samples of the event rates


class RestBackend(Protocol):
    """What the hub needs from its REST relay (``hub/rest.py``)."""

    async def handle(
        self, path_and_query: str, *, public_base_url: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]: ...
    def stats(self) -> dict[str, Any]: ...


class UpstreamTap(Protocol):
    """Who else hears the upstream: the NATS origin link (``link/origin.py``)."""

    def publish(self, cluster: str, events: Sequence[Event], raw: bytes | None = None) -> None: ...
    def status(
        self, cluster: str, state: str, reason: str = "", retry_in: float | None = None
    ) -> None: ...
    def refused(self, cluster: str, params: Sequence[str]) -> None: ...


SessionFactory = Callable[..., Session]


def _covered(refs: Counter[str]) -> set[str]:
    """The params to hold upstream: every wanted one, less topics a wildcard covers."""
    wild = {p[:-2] for p in refs if p.endswith(".*")}
    return {p for p in refs if p.endswith(".*") or p.partition(".")[0] not in wild}


class _Upstream:
    """One cluster's upstream session and what rides on it."""

    def __init__(self, hub: Hub, cluster: str, session: Session) -> None:
        self.hub = hub
        self.cluster = cluster
        self.session = session
        self.refs: Counter[str] = Counter()
        self.refused: set[str] = set()  # params the upstream said the plan lacks
        self.last = words.upstream_status("connecting")
        self.raw: bytes | None = None  # the frame being decoded
        self.decoded_before = 0  # events + errors the session's decoder had counted before it
        self.task: asyncio.Task[None] | None = None

    def hold(self, added: Sequence[str], removed: Sequence[str]) -> None:
        self.refs.update(added)
        self.refs.subtract(removed)
        self.refs = +self.refs  # drop params no client wants any more
        self.session.set_params(_covered(self.refs))


class Hub(Listener):
    """``async with Hub(upstream_url=..., api_key=..., token=...) as hub: hub.ws_url``.

    ``upstream_url`` is the WebSocket base (the cluster path is appended).
    Clients authenticate with ``token``; the ``api_key`` is used upstream only.
    """

    def __init__(
        self,
        *,
        upstream_url: str,
        api_key: str,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        rest: RestBackend | None = None,
        clusters: Sequence[str] = proto.CLUSTERS,
        max_clients: int = 64,
        max_subscriptions: int = 10_000,
        max_message: int = 256 * 1024,
        max_queue: int = 16 * 2**20,
        ping_interval: float | None = 20.0,
        session_factory: SessionFactory = Session,
        session_options: dict[str, Any] | None = None,
    ) -> None:
        self._upstream_url = upstream_url.rstrip("/")
        self.__key = api_key
        self._accept = key_checker(token)
        self.rest = rest  # may be set after start, once the public URL is known
        self.tap: UpstreamTap | None = None  # an origin's NATS link hears every frame too
        self._factory = session_factory
        self._session_options = session_options or {}
        self.server = ProtocolServer(
            host=host,
            port=port,
            accept_key=self._accept,
            clusters=clusters,
            listener=self,
            rest=self._http,
            one_per_key=False,  # every client holds the same token
            max_clients=max_clients,
            max_subscriptions=max_subscriptions,
            max_message=max_message,
            max_queue=max_queue,
            ping_interval=ping_interval,
            coalesce=True,  # a reader behind catches up in fewer, larger messages
        )
        self.upstreams: dict[str, _Upstream] = {}
        self.changed = asyncio.Event()  # a client came or went
        self.started = time.time()
        self._rates: dict[str, float] = {"in": 0.0, "out": 0.0}
        self._client_rates: dict[Connection, float] = {}
        self.ws_url = ""
        self.rest_url = ""

    def __repr__(self) -> str:
        return f"Hub({self.ws_url or 'not started'}, clients={self.server.connections})"

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        await self.server.start()
        self.ws_url, self.rest_url = self.server.ws_url, self.server.rest_url
        self.server.spawn(self._sample_rates())

    async def close(self) -> None:
        for up in list(self.upstreams.values()):
            await up.session.stop()
            if up.task is not None:
                await asyncio.wait({up.task})
        await self.server.close()

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def wait_idle(self, seconds: float) -> None:
        """Return once no client has been connected for ``seconds`` in a row."""
        while True:
            self.changed.clear()
            if self.server.connections == 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds):
                        await self.changed.wait()
                if not self.changed.is_set() and self.server.connections == 0:
                    return
            else:
                await self.changed.wait()

    # --- clients (the engine's listener) -------------------------------------------

    def admitted(self, conn: Connection) -> None:
        up = self._upstream(conn.cluster)
        self.server.send_statuses(conn.cluster, [up.last], only=[conn])
        self._say_clients()
        self.changed.set()

    def subscriptions_changed(self, conn: Connection, added: list[str], removed: list[str]) -> None:
        up = self._upstream(conn.cluster)
        up.hold(added, removed)
        refused = [p for p in added if p in up.refused]
        if refused:
            self.server.send_statuses(conn.cluster, [_refusal(refused)], only=[conn])

    def closed(self, conn: Connection) -> None:
        self._client_rates.pop(conn, None)
        self._say_clients()
        self.changed.set()

    def _say_clients(self) -> None:
        """Every client learns how many share the hub (the app's status bar shows it)."""
        said = words.clients_status(self.server.connections)
        for cluster in self.upstreams:
            self.server.send_statuses(cluster, [said])

    def hold_remote(self, cluster: str, added: list[str], removed: list[str]) -> None:
        """Edges' interest (from the origin link): held like one more client's."""
        self._upstream(cluster).hold(added, removed)

    def _upstream(self, cluster: str) -> _Upstream:
        up = self.upstreams.get(cluster)
        if up is not None:
            return up
        holder: list[_Upstream] = []
        session = self._factory(
            f"{self._upstream_url}/{cluster}",
            self.__key,
            channels=(),
            on_events=lambda events, _ms: self._on_events(holder[0], events),
            on_status=lambda st: self._on_status(holder[0], st),
            on_server_status=lambda st: self._on_server_status(holder[0], st),
            on_frame=lambda raw, _ms: self._on_frame(holder[0], raw),
            take_frame=lambda raw: self._take_frame(holder[0], raw),
            **self._session_options,
        )
        up = _Upstream(self, cluster, session)
        holder.append(up)
        session.set_params(())
        self.upstreams[cluster] = up
        up.task = asyncio.create_task(session.run())
        return up

    # --- upstream (the sessions' callbacks) ----------------------------------------

    def _on_frame(self, up: _Upstream, raw: bytes) -> None:
        up.raw = raw
        decoded = up.session.stats.decode
        up.decoded_before = decoded.events + decoded.error_total

    def _take_frame(self, up: _Upstream, raw: bytes) -> int:
        # When every client holds every channel, a frame of data events goes on as it
        # came, undecoded (the engine decides; 0 means decode it). The NATS tap needs
        # the events, so an origin always decodes.
        if self.tap is not None:
            return 0
        return self.server.publish_frame(up.cluster, raw)

    def _on_events(self, up: _Upstream, events: list[Event]) -> None:
        # The bytes are exactly ``events`` only if the session took nothing out of the
        # frame: no status (acks for the hub's own subscriptions), no bad element.
        decoded = up.session.stats.decode
        whole = decoded.events + decoded.error_total - up.decoded_before == len(events)
        raw, up.raw = up.raw if whole else None, None
        self.server.publish(up.cluster, events, raw)
        if self.tap is not None:
            self.tap.publish(up.cluster, events, raw)

    def _on_status(self, up: _Upstream, st: SessionStatus) -> None:
        if self.tap is not None:
            self.tap.status(up.cluster, st.state.value, st.reason, st.retry_in)
        status = words.upstream_status(st.state.value, st.reason, st.retry_in)
        if status == up.last:
            return
        up.last = status
        self.server.send_statuses(up.cluster, [status])

    def _on_server_status(self, up: _Upstream, st: Status) -> None:
        refused = refused_params(st.message)
        if not refused:
            return  # acks for the hub's own subscriptions, and endings (on_status says those)
        up.refused.update(refused)
        if self.tap is not None:
            self.tap.refused(up.cluster, refused)
        wanting = [c for c in self.server.clients(up.cluster) if c.subs.params() & set(refused)]
        if wanting:
            self.server.send_statuses(up.cluster, [_refusal(refused)], only=wanting)

    # --- HTTP ---------------------------------------------------------------------

    async def _http(self, request: Request, base_url: str) -> Response:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not self._accept(token.strip()):
            return json_response(401, {"status": "ERROR", "error": "Unknown API Key"})
        if request.path.split("?", 1)[0] == STATUS_PATH:
            return json_response(200, self.snapshot())
        if self.rest is None:
            return json_response(404, {"status": "NOT_FOUND", "message": "no REST relay"})
        # next_url must lead back to the address this client used (Host), not the upstream.
        status, headers, body = await self.rest.handle(request.path, public_base_url=base_url)
        have = {name.lower() for name, _ in headers}
        extra = [("Content-Length", str(len(body)))] if "content-length" not in have else []
        if "connection" not in have:
            extra.append(("Connection", "close"))
        return Response(status, _reason(status), Headers([*headers, *extra]), body)

    # --- introspection ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What ``ticktape hub status`` prints (no key, no token)."""
        stats = self.server.stats
        return {
            "clients": [
                {
                    "address": c.address,
                    "cluster": c.cluster,
                    "subscriptions": sorted(c.subs.params()),
                    "queue_bytes": c.queued,
                    "events_per_s": round(self._client_rates.get(c, 0.0), 1),
                    "events_out": c.events_out,
                }
                for c in self.server.clients()
            ],
            "upstreams": {
                cluster: {
                    "state": up.session.status.state.value,
                    "status": up.last.status,
                    "message": up.last.message,
                    "params": sorted(up.session.subscribed),
                }
                for cluster, up in self.upstreams.items()
            },
            "events_in": stats.events_in,
            "events_out": stats.events_sent,
            "events_in_per_s": round(self._rates["in"], 1),
            "events_out_per_s": round(self._rates["out"], 1),
            "slow_consumers": stats.slow_consumers,
            "refused_clients": stats.refused,
            "bad_messages": stats.bad_messages,
            "rest": self.rest.stats() if self.rest is not None else {},
            "uptime_s": round(time.time() - self.started, 1),
        }

    async def _sample_rates(self) -> None:
        stats = self.server.stats
        last_in, last_out = stats.events_in, stats.events_sent
        last_client: dict[Connection, int] = {}
        while True:
            await asyncio.sleep(_RATE_EVERY)
            self._rates = {
                "in": (stats.events_in - last_in) / _RATE_EVERY,
                "out": (stats.events_sent - last_out) / _RATE_EVERY,
            }
            last_in, last_out = stats.events_in, stats.events_sent
            now = {c: c.events_out for c in self.server.clients()}
            self._client_rates = {
                c: (n - last_client.get(c, n)) / _RATE_EVERY for c, n in now.items()
            }
            last_client = now


def _refusal(params: Sequence[str]) -> Status:
    """The live service's own wording, so a client's classifier reads it as usual."""
    return proto.error(f"You are not authorized to subscribe to: {','.join(params)}")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"

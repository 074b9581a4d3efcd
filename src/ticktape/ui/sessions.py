"""One feed session per cluster the watchlist needs: opened when a symbol of that cluster
appears, closed when none is left, each subscribed to its own share of the list.

Owned by :class:`~ticktape.ui.feedlink.FeedLink`; see docs/architecture.md (mixed markets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from ticktape.feed.clusters import by_cluster, needed_clusters, params_by_cluster
from ticktape.feed.events import Event, Status
from ticktape.feed.session import ConnState, Session, SessionStatus
from ticktape.feed.stats import FeedStats
from ticktape.feed.wire import MONITOR_CHANNELS

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp


class ClusterSessions:
    """The open sessions by cluster, and what each is asked to subscribe.

    The callbacks get the cluster last; a closed session's late words (its "stopped")
    are dropped, so a cluster opened again never hears its predecessor.

    Args:
        app: runs each session as a worker (group "feed") and closes it the same way.
        home: the default market: its session stays open while the list is empty.
        on_events: ``(events, recv_ms, cluster)`` for each decoded frame.
        on_status: ``(status, cluster)`` for each change of a session's state.
        on_server_status: ``(status, cluster)`` for each server status event.
    """

    def __init__(
        self,
        app: TicktapeApp,
        home: str,
        *,
        on_events: Callable[[list[Event], int, str], None],
        on_status: Callable[[SessionStatus, str], None],
        on_server_status: Callable[[Status, str], None],
    ) -> None:
        self.app = app
        self.home = home
        self.sessions: dict[str, Session] = {}
        #: One set of feed figures for every session: the bar shows the whole feed's rate.
        self.stats = FeedStats()
        self._on_events = on_events
        self._on_status = on_status
        self._on_server_status = on_server_status
        self._gen: dict[str, int] = {}
        self._symbols: tuple[str, ...] = ()
        self._params: set[str] | None = None  # None: channels × symbols
        self._extra: set[str] = set()
        #: The URL base is known (a simulator still starting is awaited first).
        self.started = False

    @property
    def uses_params(self) -> bool:
        """Exact params were asked for (the market view was opened at least once)."""
        return self._params is not None

    def needed(self) -> tuple[str, ...]:
        """The clusters a session is wanted on: the list's, the market view's, the book's."""
        wanted = [*self._symbols, *(p.partition(".")[2] for p in self._extra)]
        clusters = set(needed_clusters(wanted, self.home))
        if self._params is not None:
            clusters |= params_by_cluster(self._params).keys()
        return tuple(c for c in MONITOR_CHANNELS if c in clusters)

    def start(self, symbols: tuple[str, ...]) -> None:
        """The feed's URLs are known: open a session for each cluster needed."""
        self.started = True
        self.set_symbols(symbols)

    def set_symbols(self, symbols: tuple[str, ...]) -> None:
        self._symbols = symbols
        self._sync()

    def set_params(self, params: set[str]) -> None:
        """Exactly these params, each on its own cluster's session."""
        self._params = params
        self._sync()

    def set_extra(self, params: Iterable[str]) -> None:
        """Extra params (the book's ``XL2``), on their own cluster's session."""
        self._extra = set(params)
        self._sync()

    def _sync(self) -> None:
        """Open what is needed, close what is not, and tell each session its share."""
        needed = self.needed()
        if self.started:
            for cluster in needed:
                if cluster not in self.sessions:
                    self._open(cluster)
            for cluster in [c for c in self.sessions if c not in needed]:
                self._close(cluster)
        symbols = by_cluster(self._symbols)
        params = params_by_cluster(self._params or ())
        extra = params_by_cluster(self._extra)
        for cluster, session in self.sessions.items():
            session.set_symbols(symbols.get(cluster, ()))
            if self._params is not None:
                session.set_params(params.get(cluster, set()))
            session.set_extra_params(extra.get(cluster, ()))

    def _open(self, cluster: str) -> None:
        app, settings = self.app, self.app.settings
        gen = self._gen[cluster] = self._gen.get(cluster, 0) + 1
        session = self.sessions[cluster] = Session(
            f"{settings.ws_base}/{cluster}",
            settings.api_key.reveal(),
            channels=MONITOR_CHANNELS[cluster],
            on_events=partial(self._events, cluster),
            on_status=partial(self._status, cluster, gen),
            on_server_status=partial(self._server_status, cluster, gen),
            on_frame=app.recorder.write,
            stats=self.stats,
        )
        self._on_status(SessionStatus(ConnState.CONNECTING, "opening"), cluster)
        app.run_worker(session.run(), name=f"session {cluster}", group="feed", exit_on_error=False)

    def _close(self, cluster: str) -> None:
        session = self.sessions.pop(cluster)
        self._gen[cluster] += 1  # its last words ("stopped") are no longer news
        self.app.run_worker(session.stop(), name=f"close {cluster}", group="feed")

    def _events(self, cluster: str, events: list[Event], recv_ms: int) -> None:
        self._on_events(events, recv_ms, cluster)

    def _status(self, cluster: str, gen: int, status: SessionStatus) -> None:
        if self._gen.get(cluster) == gen:
            self._on_status(status, cluster)

    def _server_status(self, cluster: str, gen: int, status: Status) -> None:
        if self._gen.get(cluster) == gen:
            self._on_server_status(status, cluster)

    def take_all(self) -> list[Session]:
        """Every session, forgotten here (to be stopped by the caller)."""
        sessions = list(self.sessions.values())
        for cluster in self.sessions:
            self._gen[cluster] = self._gen.get(cluster, 0) + 1
        self.sessions.clear()
        self.started = False
        return sessions

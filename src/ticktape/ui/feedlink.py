"""The app's link to the feed: one session per cluster the watchlist needs (see
ui/sessions.py) and their status, the REST client, history loading and backfill, refused
subscriptions and the market clock.

Owned by :class:`~ticktape.ui.app.TicktapeApp`; see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from textual.css.query import NoMatches
from textual.worker import Worker

from ticktape.feed.clusters import by_cluster, cluster_of, needed_clusters
from ticktape.feed.events import Event, Status
from ticktape.feed.session import (
    REPLAY_FINISHED,
    ConnState,
    Session,
    SessionStatus,
    ending_state,
    refused_params,
)
from ticktape.feed.stats import FeedSnapshot
from ticktape.feed.upstream import client_count, is_upstream, upstream_ok
from ticktape.feed.wire import MONITOR_CHANNELS, TAPE_CHANNELS
from ticktape.market.history import History
from ticktape.ui import gcpolicy
from ticktape.ui.sessions import ClusterSessions
from ticktape.ui.statusbar import (
    REPLAY_LABEL,
    ClusterWord,
    StatusBar,
    describe_cluster,
    describe_rest_error,
    describe_retry,
    describe_server_status,
    describe_state,
)

if TYPE_CHECKING:  # REST (httpx) is imported only once prices are up: see start_rest
    from ticktape.feed.clockwatch import ClockWatch, PhaseLine
    from ticktape.feed.rest import RestClient, RetryWait
    from ticktape.ui.app import TicktapeApp

#: The status bar's figures are recomputed at most this often.
STATS_EVERY_MS: Final = 500
#: REST seeding starts once live prices are painted, or this long after connecting without any.
REST_AFTER_S: Final = 2.0

#: Connection states worth a notification as well as the status bar line.
_ALARMING: Final = frozenset(
    {ConnState.AUTH_FAILED, ConnState.KICKED, ConnState.SLOW_CONSUMER, ConnState.OFFLINE}
)


class FeedLink:
    """Connects the app to its feed and keeps the panes told about it.

    Start-up is tuned for time to first prices: the websocket connects as soon as
    the app is mounted; the frames that bring the first prices are painted at once;
    and REST (httpx and its TLS set-up) waits until prices are on screen, or
    :data:`REST_AFTER_S` if none come, so it never competes with the first paint.
    """

    def __init__(
        self,
        app: TicktapeApp,
        *,
        connect: bool,
        status: SessionStatus | None,
        stats: FeedSnapshot | None,
        feed_urls: Callable[[], Awaitable[tuple[str, str]]] | None,
        clock_watch: ClockWatch | None,
    ) -> None:
        """Args:
        app: the app whose state the feed fills and whose panes show its status.
        connect: open sessions at all (False: the state was handed in whole).
        status: the default market's connection status to show before any session says one.
        stats: the feed figures to show before any session has some.
        feed_urls: awaited before connecting for ``(ws_url, rest_url)``.
        clock_watch: the market clock (else made with the REST client).
        """
        self.app = app
        self.connect = connect
        #: The default market (``--market``): the cluster of bare symbols.
        self.home = home = app.settings.market
        if status is None and connect:
            status = SessionStatus(ConnState.CONNECTING, "starting the feed")
        #: Each cluster's connection status, as the status bar shows it.
        first = needed_clusters(app.watched(), home)
        self.statuses: dict[str, SessionStatus] = {c: status for c in first if status}
        self.clusters = ClusterSessions(
            app,
            home,
            on_events=self.on_events,
            on_status=self.session_status,
            on_server_status=self._server_status,
        )
        #: The feed figures the status bar shows (refreshed every :data:`STATS_EVERY_MS`).
        self.stats: FeedSnapshot | None = stats
        self._stats_at = -STATS_EVERY_MS
        self._feed_urls = feed_urls
        self.rest: RestClient | None = None
        #: What a hub says is wrong with its upstream connection, per cluster (absent: nothing).
        self.upstreams: dict[str, str] = {}
        #: How many clients share the hub (None: not through a hub).
        self.hub_clients: int | None = None
        #: Subscriptions the server refused (the plan lacks them), e.g. "Q.TSLA".
        self.refused: set[str] = set()
        #: Until prices show, every decoded frame is painted at once.
        self.awaiting_prices = connect
        self._rest_started = False
        self._lost_ms: dict[str, int] = {}  # per cluster: wall time it was lost, until back
        #: Per cluster, the alarming connection state last toasted, until it is live again.
        self._toasted: dict[str, ConnState] = {}
        self._last_data: dict[str, int] = {}  # per cluster: receive time of its last frame
        self.history = History(
            app.state,
            home,
            clock=app.clock,
            watched=app.watched,
            rest=lambda: self.rest,
            on_error=self._rest_error,
        )
        self._seed_worker: Worker[None] | None = None
        #: The market's phase for the status bar; made with the REST client when connecting
        #: (the calendar library costs ~40 ms to import: not before the first prices).
        self.clock_watch = clock_watch
        self._phase: dict[str | None, tuple[int, PhaseLine | None]] = {}

    # -- the sessions ----------------------------------------------------------------------------

    @property
    def status(self) -> SessionStatus | None:
        """The status of the first cluster shown (the only one, for a one-market list)."""
        shown = self.shown_clusters()
        return self.statuses.get(shown[0]) if shown else None

    @property
    def session(self) -> Session | None:
        """The default market's session, else the first open one (None before connecting)."""
        sessions = self.clusters.sessions
        return sessions.get(self.home) or next(iter(sessions.values()), None)

    @session.setter
    def session(self, session: Session) -> None:  # tests hand in a stand-in
        self.clusters.sessions[self.home] = session

    def shown_clusters(self) -> tuple[str, ...]:
        """The clusters the status bar speaks of: those with a session, or that the list
        needs (with no sessions, the statuses handed in)."""
        if self.clusters.sessions:
            return tuple(c for c in MONITOR_CHANNELS if c in self.clusters.sessions)
        return self.clusters.needed()

    async def run(self) -> None:
        """Learn the feed's URLs if it is still starting, then open the sessions needed."""
        app = self.app
        if self._feed_urls is not None:
            try:
                ws_url, rest_url = await self._feed_urls()
            except Exception as err:  # without a feed there is nothing to show
                message = f"ticktape: the feed did not start: {err}"
                # after the first paint: the screen must not be torn down mid-compose
                app.call_after_refresh(app.exit, None, 1, message)
                return
            app.settings = app.settings.with_(ws_url=ws_url, rest_url=rest_url)
        app.set_timer(REST_AFTER_S, self.start_rest)
        self.clusters.start(app.followed())

    def ready(self) -> None:
        """The first screen is up: mark the rows and queue the history it shows."""
        main = self.app.main
        main.tape.refusal = self.refused_param
        self.clusters.set_symbols(main.watchlist.symbols)  # what the rows need, before connecting
        self._mark_rows()
        self.queue_seed(main.watchlist.symbols)  # "loading" now, fetched after prices

    def _mark_rows(self) -> None:
        """Prices shown while their feed is down are not current: the rows say so (no status
        means nobody claimed a feed: tests and benchmarks hand the state in whole)."""
        down = frozenset(
            c
            for c in self.shown_clusters()
            if (st := self.statuses.get(c)) is not None and st.state is not ConnState.LIVE
        )
        if not down or down >= set(self.shown_clusters()):
            self.app.main.watchlist.set_feed_live(not down)
        else:  # one market of a mixed list is down: only its rows
            self.app.main.watchlist.set_feed_live(lambda symbol: cluster_of(symbol) not in down)

    def on_events(self, events: Sequence[Event], recv_ms: int, cluster: str | None = None) -> None:
        """One decoded frame of ``cluster`` (the default market's unless said) into the
        state; until prices show, paint it at once."""
        app = self.app
        cluster = cluster or self.home
        self._last_data[cluster] = recv_ms
        if cluster == "stocks":  # the market view's boards are the stock market's
            events = app.market_view.route(events)
        app.state.apply(events, recv_ms)
        if self.awaiting_prices:
            app.frames.soon()

    def refresh_stats(self, now: int) -> None:
        """Before each frame: the status bar's figures, at most every :data:`STATS_EVERY_MS`."""
        if self.clusters.sessions and now - self._stats_at >= STATS_EVERY_MS:
            self._stats_at = now
            self.stats = self.clusters.stats.snapshot()

    def frame_done(self, symbols: tuple[str, ...]) -> None:
        """After each frame: once prices are painted, open REST."""
        if self.awaiting_prices and self._prices_shown(symbols):
            self.awaiting_prices = False
            self.app.call_after_refresh(self.start_rest)

    def _prices_shown(self, symbols: tuple[str, ...]) -> bool:
        state = self.app.state
        return any((st := state.get(s)) is not None and st.last is not None for s in symbols)

    def show_status(self, bar: StatusBar, now: int, *, empty: bool = False) -> None:
        """The feed's status, figures and market phase on ``bar`` (and REC while recording):
        one cluster as it always was, several as one compact word each."""
        shown = self.shown_clusters()
        one = shown[0] if len(shown) == 1 else None
        if one is not None:
            bar.market = one
        bar.show(
            self.statuses.get(one or self.home),
            self.stats,
            now,
            recording=self.app.recorder.active,
            phase=self.phase_line(now, one),
            empty=empty,
            upstream=self.upstreams.get(one or self.home),
            hub_clients=self._hub_clients(),
            clusters=None if one is not None else self.cluster_words(shown, now),
        )

    def _hub_clients(self) -> int | None:
        """How many programs share the hub: it counts connections, and a mixed list holds
        one per cluster (this app is one client, not three)."""
        if self.hub_clients is None:
            return None
        return max(1, self.hub_clients - max(0, len(self.clusters.sessions) - 1))

    def cluster_words(self, clusters: tuple[str, ...], now: int) -> tuple[ClusterWord, ...]:
        """Each cluster's state in a word or two, for the bar of a mixed list."""
        return tuple(
            describe_cluster(
                c,
                self.statuses.get(c),
                now,
                phase=self.phase_line(now, c),
                quiet_ms=now - self._last_data[c] if c in self._last_data else None,
                upstream=self.upstreams.get(c),
            )
            for c in clusters
        )

    def phase_line(self, now: int, cluster: str | None = None) -> PhaseLine | None:
        """A market's clock in words (the default market's unless ``cluster``), worked out
        at most once a second."""
        if self.clock_watch is None:
            return None
        if cluster == self.clock_watch.clock.cluster:
            cluster = None
        second, line = self._phase.get(cluster, (-1, None))
        if now // 1000 != second:
            line = self.clock_watch.line(now, cluster)
            self._phase[cluster] = (now // 1000, line)
        return line

    def symbols_changed(self, symbols: tuple[str, ...]) -> None:
        """The watchlist (or an alert's symbol) changed: subscribe to it on each cluster it
        needs (opening and closing sessions) and load the history of what is new."""
        followed = self.app.followed(symbols)
        self.clusters.set_symbols(followed)
        shown = self.shown_clusters()
        for cluster in [c for c in self.statuses if c not in shown]:
            del self.statuses[cluster]  # its session is closed: nothing to say of it
            for per_cluster in (self._lost_ms, self._toasted, self._last_data, self.upstreams):
                per_cluster.pop(cluster, None)
        if self.app.frames.screen_up:
            self._mark_rows()
        if self._params_used:
            self.resubscribe()
        self.queue_seed(followed)

    @property
    def _params_used(self) -> bool:
        return self.clusters.uses_params

    def resubscribe(self) -> None:
        """The watchlist's channels, plus the market-wide ones while the view is shown."""
        watched = self.app.followed()
        params = {
            f"{ch}.{s}"
            for cluster, symbols in by_cluster(watched).items()
            for s in symbols
            for ch in MONITOR_CHANNELS[cluster]
        }
        self.clusters.set_params(params | self.app.market_view.params(watched))

    def set_book_params(self, params: Iterable[str]) -> bool:
        """The book pane's extra subscriptions (one pair's XL2); False until there is a feed."""
        if not self.clusters.started and not self.clusters.sessions:
            return False
        self.clusters.set_extra(params)
        return True

    # -- status ----------------------------------------------------------------------------------

    def session_status(self, status: SessionStatus, cluster: str | None = None) -> None:
        """From ``cluster``'s session (any thread of control): applied on the app's next
        turn."""
        self.app.call_later(self.apply_status, status, cluster)

    def apply_status(self, status: SessionStatus, cluster: str | None = None) -> None:
        """A cluster's new connection status (the default market's unless said): stale marks,
        backfill after an outage, one toast."""
        app = self.app
        cluster = cluster or self.home
        if cluster not in self.shown_clusters():
            return  # closed meanwhile
        before = self.statuses.get(cluster)
        self.statuses[cluster] = status
        state = status.state
        if before is not None and before.state is state:
            return
        if app.frames.screen_up:  # else ready() takes it from self.statuses
            self._mark_rows()
        if state is ConnState.LIVE:
            self._toasted.pop(cluster, None)
            lost = self._lost_ms.pop(cluster, None)
            if lost is not None:  # back after an outage: fill the minutes it cost
                self._backfill(lost, cluster)
        elif before is not None and before.state is ConnState.LIVE:
            self._lost_ms[cluster] = app.clock()
        who = f"{cluster}: " if len(self.shown_clusters()) > 1 else ""
        if state in _ALARMING:
            # A toast only: the bar's state line already says it (and keeps it current,
            # countdown included); a bar notice would repeat it, then outlive it. Once per
            # state until the feed is live again: every retry passes through "connecting"
            # and back, and a toast each time piled up over the chart.
            # A server gone for every cluster at once is one toast, not three: a state
            # another cluster is already toasted for (and still in) is the bar's to show.
            if state is not self._toasted.get(cluster):
                told = state in self._toasted.values()
                self._toasted[cluster] = state
                if not told:
                    text, severity = describe_state(status, app.clock())
                    app.notice(who + text, severity, bar=False)
        elif (
            state is ConnState.LIVE
            and before is not None
            and before.state is ConnState.RECONNECTING
        ):
            app.notify(f"{who}reconnected", timeout=3, markup=False)

    def _server_status(self, status: Status, cluster: str) -> None:
        app = self.app
        count = client_count(status)
        if count is not None:
            self.hub_clients = count
            return
        if is_upstream(status.status):
            # Through a hub: its upstream's state, said until it is well again.
            if upstream_ok(status.status):
                self.upstreams.pop(cluster, None)
            else:
                self.upstreams[cluster] = status.message
            return
        if status.status == REPLAY_FINISHED:
            app.call_later(self._feed_ended, "replay finished")
        refused = refused_params(status.message)
        if refused:
            # The plan lacks a channel: the tape says so for every symbol it refuses, and
            # the user is told once per channel, not once per symbol.
            told = {p.partition(".")[0] for p in self.refused}
            self.refused.update(refused)
            app.call_later(self._refresh_tape)
            if {p.partition(".")[0] for p in refused} <= told:
                return
        described = describe_server_status(status.status, status.message)
        if described is not None:
            # A status that ends the connection is the state line's to show (and the
            # same words as its toast, so the toast is not repeated either).
            bar = ending_state(status.status, status.message) not in _ALARMING
            app.call_later(app.notice, *described, bar=bar)

    def _feed_ended(self, text: str) -> None:
        """The feed has nothing more to send: the bar says so, not "no data for N s"."""
        with contextlib.suppress(NoMatches):  # exiting: no bar left to tell
            self.app.main.status.ended = text
            self.app.frames.status_now()

    def refused_param(self, mode: str, symbol: str) -> str | None:
        """The subscription the server refused for this tape ``mode`` and ``symbol``, if any."""
        channel = TAPE_CHANNELS[cluster_of(symbol)].get(mode)
        if channel is None:
            return None
        for param in (f"{channel}.{symbol}", f"{channel}.*"):
            if param in self.refused:
                return param
        return None

    def _refresh_tape(self) -> None:
        with contextlib.suppress(NoMatches):  # exiting: no tape left to refresh
            self.app.main.tape.refresh()

    # -- REST ------------------------------------------------------------------------------------

    def start_rest(self) -> None:
        """Open the REST client and seed what is queued (once; see the class docstring)."""
        self.awaiting_prices = False
        if self._rest_started or not self.connect:
            return
        from ticktape.feed.rest import RestClient

        self._rest_started = True
        gcpolicy.settle()  # start-up is over: Textual's DOM, CSS, the first prices
        settings = self.app.settings
        self.rest = RestClient(settings.rest_url, settings.api_key.reveal(), on_wait=self.rest_wait)
        self._start_clock_watch(self.rest)
        self.app.market_view.seed_movers()  # if opened before REST was up
        self._kick_seeding()

    def _start_clock_watch(self, rest: RestClient) -> None:
        """Poll the market status from now on (the calendar speaks when REST cannot)."""
        from ticktape.feed.clockwatch import ClockWatch

        app = self.app
        if app.feed_label == REPLAY_LABEL:  # a recording's session is not today's
            return
        if self.clock_watch is None:
            simulated = app.feed_label == "SIMULATED"
            market = app.settings.market
            self.clock_watch = ClockWatch(market, rest, clock=app.clock, simulated=simulated)
        elif self.clock_watch.source is None:
            self.clock_watch.source = rest
        app.run_worker(self.clock_watch.run(), name="market-clock", group="rest")

    def rest_wait(self, wait: RetryWait) -> None:
        """REST is retrying: one toast per reason, not per retry (the countdown differs
        each time); the bar keeps the latest."""
        self.app.call_later(
            self.app.notice, describe_retry(wait), "warning", key=f"retry {wait.reason}"
        )

    def _rest_error(self, err: Exception, what: str) -> None:
        self.app.notice(*describe_rest_error(err, what))

    def queue_seed(self, symbols: tuple[str, ...]) -> None:
        """Queue the history of ``symbols`` not loaded yet (the selected one first)."""
        if self.connect and self.history.want(symbols, self.app.main.watchlist.selected):
            self._kick_seeding()

    def _kick_seeding(self) -> None:
        """Run the seed worker if there is work and REST is open (it waits for prices)."""
        if self.rest is None or not self.history.queue:
            return
        if self._seed_worker is None or self._seed_worker.is_finished:
            self._seed_worker = self.app.run_worker(self._seed_all(), name="seed", group="rest")

    async def _seed_all(self) -> None:
        await self.history.run()
        gcpolicy.settle()  # the history just loaded lives as long as its symbol

    def _backfill(self, lost_ms: int, cluster: str) -> None:
        """Ask REST for the minutes since ``cluster``'s feed was lost, for its watched symbols."""
        symbols = tuple(by_cluster(self.app.followed()).get(cluster, ()))
        if self.rest is None or not symbols:
            return
        work = self.history.backfill(symbols, self.history.backfill_since(lost_ms))
        self.app.run_worker(work, name="backfill", group="rest")

    # -- closing ---------------------------------------------------------------------------------

    async def close(self, after_session: Callable[[], None]) -> None:
        """Stop the sessions, then ``after_session`` (the recording), then the HTTP client.

        Idempotent: the handles are taken before the first ``await``, so a second (or
        overlapping) call closes nothing twice.
        """
        app = self.app
        app.workers.cancel_group(app, "rest")  # no download outlives its client
        sessions = self.clusters.take_all()
        rest, self.rest = self.rest, None
        if sessions:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.stop() for s in sessions)), 3.0)
        app.workers.cancel_group(app, "feed")  # in case it is still waiting for the URLs
        after_session()  # after the session: its last frames are in the file
        if rest is not None:
            await rest.aclose()

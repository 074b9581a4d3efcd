"""The app's link to the feed: the session's lifecycle and status, the REST client,
history loading and backfill, refused subscriptions and the market clock.

Owned by :class:`~ticktape.ui.app.TicktapeApp`; see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from textual.css.query import NoMatches
from textual.worker import Worker

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
from ticktape.ui.statusbar import (
    REPLAY_LABEL,
    StatusBar,
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
        connect: open a session at all (False: the state was handed in whole).
        status: the connection status to show before any session says one.
        stats: the feed figures to show before any session has some.
        feed_urls: awaited before connecting for ``(ws_url, rest_url)``.
        clock_watch: the market clock (else made with the REST client).
        """
        self.app = app
        self.connect = connect
        if status is None and connect:
            status = SessionStatus(ConnState.CONNECTING, "starting the feed")
        #: The connection status the status bar shows.
        self.status: SessionStatus | None = status
        #: The feed figures the status bar shows (refreshed every :data:`STATS_EVERY_MS`).
        self.stats: FeedSnapshot | None = stats
        self._stats_at = -STATS_EVERY_MS
        self._feed_urls = feed_urls
        self.session: Session | None = None
        self.rest: RestClient | None = None
        #: What a hub says is wrong with its upstream connection (None: nothing, or no hub).
        self.upstream: str | None = None
        #: How many clients share the hub (None: not through a hub).
        self.hub_clients: int | None = None
        #: Subscriptions the server refused (the plan lacks them), e.g. "Q.TSLA".
        self.refused: set[str] = set()
        #: Until prices show, every decoded frame is painted at once.
        self.awaiting_prices = connect
        self._rest_started = False
        self._lost_ms: int | None = None  # wall time the feed was lost, until it is back
        #: The alarming connection state last toasted, until the feed is live again.
        self._toasted: ConnState | None = None
        self._params_used = False
        self.history = History(
            app.state,
            app.settings.market,
            clock=app.clock,
            watched=app.watched,
            rest=lambda: self.rest,
            on_error=self._rest_error,
        )
        self._seed_worker: Worker[None] | None = None
        #: The market's phase for the status bar; made with the REST client when connecting
        #: (the calendar library costs ~40 ms to import: not before the first prices).
        self.clock_watch = clock_watch
        self._phase: tuple[int, PhaseLine | None] = (-1, None)

    # -- the session ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Learn the feed's URLs if it is still starting, then connect and stay connected."""
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
        settings = app.settings
        self.session = Session(
            settings.ws_market_url,
            settings.api_key.reveal(),
            channels=MONITOR_CHANNELS[settings.market],
            on_events=self.on_events,
            on_status=self.session_status,
            on_server_status=self._server_status,
            on_frame=app.recorder.write,
            symbols=app.watched(),
        )
        self.status = self.session.status
        app.set_timer(REST_AFTER_S, self.start_rest)
        await self.session.run()

    def ready(self) -> None:
        """The first screen is up: mark the rows and queue the history it shows."""
        main = self.app.main
        main.tape.refusal = self.refused_param
        # Prices shown while the feed is down are not current: the rows say so (no status
        # yet means nobody claimed a feed: tests and benchmarks hand the state in whole).
        main.watchlist.set_feed_live(self.status is None or self.status.state is ConnState.LIVE)
        self.queue_seed(main.watchlist.symbols)  # "loading" now, fetched after prices

    def on_events(self, events: Sequence[Event], recv_ms: int) -> None:
        """One decoded frame into the state; until prices show, paint it at once."""
        app = self.app
        app.state.apply(app.market_view.route(events), recv_ms)
        if self.awaiting_prices:
            app.frames.soon()

    def refresh_stats(self, now: int) -> None:
        """Before each frame: the status bar's figures, at most every :data:`STATS_EVERY_MS`."""
        if self.session is not None and now - self._stats_at >= STATS_EVERY_MS:
            self._stats_at = now
            self.stats = self.session.stats.snapshot()

    def frame_done(self, symbols: tuple[str, ...]) -> None:
        """After each frame: once prices are painted, open REST."""
        if self.awaiting_prices and self._prices_shown(symbols):
            self.awaiting_prices = False
            self.app.call_after_refresh(self.start_rest)

    def _prices_shown(self, symbols: tuple[str, ...]) -> bool:
        state = self.app.state
        return any((st := state.get(s)) is not None and st.last is not None for s in symbols)

    def show_status(self, bar: StatusBar, now: int, *, empty: bool = False) -> None:
        """The feed's status, figures and market phase on ``bar`` (and REC while recording)."""
        recording = self.app.recorder.active
        phase = self.phase_line(now)
        bar.show(
            self.status,
            self.stats,
            now,
            recording=recording,
            phase=phase,
            empty=empty,
            upstream=self.upstream,
            hub_clients=self.hub_clients,
        )

    def phase_line(self, now: int) -> PhaseLine | None:
        """The market clock's words, worked out at most once a second."""
        if self.clock_watch is None:
            return None
        if now // 1000 != self._phase[0]:
            self._phase = (now // 1000, self.clock_watch.line(now))
        return self._phase[1]

    def symbols_changed(self, symbols: tuple[str, ...]) -> None:
        """The watchlist changed: subscribe to it and load the history of what is new."""
        if self.session is not None:
            self.session.set_symbols(symbols)
        if self._params_used:
            self.resubscribe()
        self.queue_seed(symbols)

    def resubscribe(self) -> None:
        """The watchlist's channels, plus the market-wide ones while the view is shown."""
        if self.session is None:
            return
        self._params_used = True
        watched = self.app.watched()
        channels = MONITOR_CHANNELS[self.app.settings.market]
        params = {f"{ch}.{s}" for s in watched for ch in channels}
        self.session.set_params(params | self.app.market_view.params(watched))

    def set_book_params(self, params: Iterable[str]) -> bool:
        """The book pane's extra subscriptions (one pair's XL2); False until there is a session."""
        if self.session is None:
            return False
        self.session.set_extra_params(params)
        return True

    # -- status ----------------------------------------------------------------------------------

    def session_status(self, status: SessionStatus) -> None:
        """From the session (any thread of control): applied on the app's next turn."""
        self.app.call_later(self.apply_status, status)

    def apply_status(self, status: SessionStatus) -> None:
        """A new connection status: stale marks, backfill after an outage, one toast."""
        app = self.app
        before = self.status
        self.status = status
        state = status.state
        if before is not None and before.state is state:
            return
        if app.frames.screen_up:  # else ready() takes it from self.status
            app.main.watchlist.set_feed_live(state is ConnState.LIVE)
        if state is ConnState.LIVE:
            self._toasted = None
            if self._lost_ms is not None:  # back after an outage: fill the minutes it cost
                self._backfill(self._lost_ms)
                self._lost_ms = None
        elif before is not None and before.state is ConnState.LIVE:
            self._lost_ms = app.clock()
        if state in _ALARMING:
            # A toast only: the bar's state line already says it (and keeps it current,
            # countdown included); a bar notice would repeat it, then outlive it. Once per
            # state until the feed is live again: every retry passes through "connecting"
            # and back, and a toast each time piled up over the chart.
            if state is not self._toasted:
                self._toasted = state
                text, severity = describe_state(status, app.clock())
                app.notice(text, severity, bar=False)
        elif (
            state is ConnState.LIVE
            and before is not None
            and before.state is ConnState.RECONNECTING
        ):
            app.notify("reconnected", timeout=3, markup=False)

    def _server_status(self, status: Status) -> None:
        app = self.app
        count = client_count(status)
        if count is not None:
            self.hub_clients = count
            return
        if is_upstream(status.status):
            # Through a hub: its upstream's state, said until it is well again.
            self.upstream = None if upstream_ok(status.status) else status.message
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
        channel = TAPE_CHANNELS[self.app.settings.market].get(mode)
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

    def _backfill(self, lost_ms: int) -> None:
        """Ask REST for the minutes since the feed was lost, for every watched symbol."""
        symbols = self.app.watched()
        if self.rest is None or not symbols:
            return
        work = self.history.backfill(symbols, self.history.backfill_since(lost_ms))
        self.app.run_worker(work, name="backfill", group="rest")

    # -- closing ---------------------------------------------------------------------------------

    async def close(self, after_session: Callable[[], None]) -> None:
        """Stop the session, then ``after_session`` (the recording), then the HTTP client.

        Idempotent: both handles are taken before the first ``await``, so a second (or
        overlapping) call closes nothing twice.
        """
        app = self.app
        app.workers.cancel_group(app, "rest")  # no download outlives its client
        session, self.session = self.session, None
        rest, self.rest = self.rest, None
        if session is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.stop(), 3.0)
        app.workers.cancel_group(app, "feed")  # in case it is still waiting for the URLs
        after_session()  # after the session: its last frames are in the file
        if rest is not None:
            await rest.aclose()

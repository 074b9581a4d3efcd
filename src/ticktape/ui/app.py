"""The Textual app: owns the market state, the session, REST seeding and the frame timer.

Data path (why it is shaped like this — see textual-notes.md): the session
runs in an async worker on the app's loop and hands every decoded frame to
``MarketState.apply`` directly. No Textual message is posted per event; one
timer at ``settings.fps`` calls ``show()`` on each pane, and each pane
repaints only what changed since its last frame. Connection status changes
and REST errors are rare, so they reach the UI through ``call_later`` and
become status-bar text plus a notification.

History: a newly seen symbol gets minute bars for the last few days from REST
in one worker, the selected symbol first, while the chart says it is loading;
then daily bars for the last :data:`DAILY_DAYS` days, so "1D" shows more than
the few days the minutes cover (the chart has stopped saying "loading" by then).

Start-up is tuned for time to first prices (target ≤ 1 s from launch): the
websocket connects as soon as the app is mounted, so its handshake overlaps
composing and painting the first screen (notices that early wait for it);
the frames that bring the first prices are painted at once rather than on
the next timer tick; and REST seeding (httpx, ~30 ms to import, and its TLS
set-up, ~30 ms more) waits until prices are on screen, or :data:`REST_AFTER_S`
if none come, so it never competes with the first paint.

Switching symbols repaints the chart and tape at once, from memory, through the
watchlist's ``selection_listeners`` — so in the same screen update as its
cursor — rather than on the next timer tick; data changes stay on the timer.
Full garbage collections were the other half of slow switches: see
:meth:`TicktapeApp._settle_gc`. ``frame_listeners`` hear each frame's duration.

Recording (``--record FILE`` or ``R``): the session hands every raw frame to a
:class:`~ticktape.feed.record.RecordSwitch` before decoding, so the file holds
what the wire sent; the switch redacts the API key, and it is closed on quit.

Everything the app would take from the outside world can be injected (state,
clock, status, stats, no connection) so tests and snapshots are deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

from textual import constants as textual_constants
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker

from ticktape.alerting import AlertService
from ticktape.config import ConfigFileError, Settings, save_watchlist
from ticktape.feed.events import Event, Status
from ticktape.feed.record import RecordSwitch
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
from ticktape.market import MarketState
from ticktape.market.alerts import Fired
from ticktape.market.history import History
from ticktape.market.marketview import MARKET_WIDE, MarketBoards, watched_only
from ticktape.ui.alerts import (
    AlertCommands,
    AlertToasts,
    fired_lines,
    open_new_alert,
    toggle_pane,
)
from ticktape.ui.bandwidth import AUTO, OFFER, over_ssh, profile
from ticktape.ui.book import BookPane, toggle_book
from ticktape.ui.format import one_line
from ticktape.ui.imbalances import ImbalanceLines
from ticktape.ui.keygate import KeyGate, KeyMark
from ticktape.ui.output import ScreenDiff, squeezing
from ticktape.ui.palette import ActionCommands, SymbolCommands, ThemeCommands, TicktapePalette
from ticktape.ui.positions import Positions, open_lot_form
from ticktape.ui.screen import MainScreen
from ticktape.ui.statusbar import (
    REPLAY_LABEL,
    Severity,
    describe_rest_error,
    describe_retry,
    describe_server_status,
    describe_state,
)
from ticktape.ui.themes import (
    BUILTIN_DIR,
    DEFAULT_THEME,
    VARIABLE_DEFAULTS,
    css_problem,
    load_themes,
    user_theme_dir,
)
from ticktape.ui.watchlist import Watchlist
from ticktape.ui.webtitle import WindowTitle

if TYPE_CHECKING:  # REST (httpx) is imported only once prices are up: see _start_rest
    from ticktape.feed.clockwatch import ClockWatch, PhaseLine
    from ticktape.feed.rest import RestClient, RetryWait
    from ticktape.ui.marketview import MarketScreen

#: The same notice is not re-notified within this window (a retry loop would spam).
NOTICE_REPEAT_MS: Final = 10_000
#: The status bar's figures are recomputed at most this often.
STATS_EVERY_MS: Final = 500
#: REST seeding starts once live prices are painted, or this long after connecting without any.
REST_AFTER_S: Final = 2.0


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def default_record_path() -> Path:
    """``ticktape-YYYYmmdd-HHMMSS.jsonl.gz`` in the current directory, in local time."""
    return Path(datetime.now().strftime("ticktape-%Y%m%d-%H%M%S.jsonl.gz"))


#: Connection states worth a notification as well as the status bar line.
_ALARMING: Final = frozenset(
    {ConnState.AUTH_FAILED, ConnState.KICKED, ConnState.SLOW_CONSUMER, ConnState.OFFLINE}
)


class TicktapeApp(App[None]):
    """ticktape: watchlist, chart, tape and status bar over one market-data session."""

    CSS_PATH = "styles.tcss"
    TITLE = "ticktape"
    COMMANDS: ClassVar = App.COMMANDS | {SymbolCommands, ActionCommands, AlertCommands}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("q", "quit", "Quit"),
        # The terminal convention for "my screen is garbled": everything goes out again.
        Binding("ctrl+l", "redraw", "Redraw", show=False),
        Binding("m", "market_view", "Market", show=False),
    ]
    #: What the terminal shows, as far as the app knows: the driver sends only changes.
    screen_diff: ScreenDiff

    def __init__(
        self,
        settings: Settings,
        *,
        state: MarketState | None = None,
        feed_label: str = "LIVE",
        connect: bool = True,
        clock: Callable[[], int] = wall_clock_ms,
        status: SessionStatus | None = None,
        stats: FeedSnapshot | None = None,
        ascii_only: bool = False,
        feed_urls: Callable[[], Awaitable[tuple[str, str]]] | None = None,
        record_path: str | Path | None = None,
        clock_watch: ClockWatch | None = None,
    ) -> None:
        """``feed_urls``, if given, is awaited before connecting for ``(ws_url, rest_url)``:
        a feed still starting up (the simulator's process) while the app starts too.
        ``record_path``: record the feed there from the start (``R`` then toggles it).
        ``clock_watch``: the market clock (made from the calendar, then REST, when connecting)."""
        super().__init__()
        self.settings = settings
        self.state = state if state is not None else MarketState()
        # Deep history (trades, quotes, bars) for what the user watches, from the first
        # event on, so the tape and quotes view are full the moment a symbol is picked.
        self.state.watch(settings.watchlist)
        self.feed_label = feed_label
        self.clock = clock
        if status is None and connect:
            status = SessionStatus(ConnState.CONNECTING, "starting the feed")
        self.status: SessionStatus | None = status
        #: What a hub says is wrong with its upstream connection (None: nothing, or no hub).
        self.upstream: str | None = None
        #: How many clients share the hub (None: not through a hub).
        self.hub_clients: int | None = None
        self._stats: FeedSnapshot | None = stats
        self._stats_at = -STATS_EVERY_MS
        self._connect = connect
        self._feed_urls = feed_urls
        self._screen_up = False
        self._awaiting_prices = connect  # paint every batch at once until prices show
        self._frame_queued = False
        self._rest_started = False
        self._early_notices: list[tuple[str, Severity, bool]] = []
        self.session: Session | None = None
        self.rest: RestClient | None = None
        self.history = History(
            self.state,
            settings.market,
            clock=self.clock,
            watched=self._watched,
            rest=lambda: self.rest,
            on_error=self._rest_error,
        )
        self._seed_worker: Worker[None] | None = None
        self._notices: dict[str, int] = {}
        #: The alarming connection state last toasted, until the feed is live again.
        self._toasted: ConnState | None = None
        #: Subscriptions the server refused (the plan lacks them), e.g. "Q.TSLA".
        self.refused: set[str] = set()
        self._lost_ms: int | None = None  # wall time the feed was lost, until it is back
        key = settings.api_key.reveal()
        self.recorder = RecordSwitch(redact=[key] if key else [])
        self.record_path = Path(record_path) if record_path is not None else None
        #: Called after every frame with its duration in milliseconds (benchmarks, diagnostics).
        self.frame_listeners: list[Callable[[float], None]] = []
        #: The config file's alerts, checked each frame for the symbols that changed.
        self.alerts = AlertService(
            settings,
            self.state,
            watchlist=settings.watchlist,
            write=self._terminal_write,
            problem=lambda text: self.notice(text, "warning"),
        )
        self.alerts.listeners.append(self._alerts_fired)
        self._alert_toasts = AlertToasts()
        self._book: BookPane | None = None  # the order-book pane while it shows (`B`)
        self._imbalances = ImbalanceLines(settings.tz)  # NOIs → marked tape lines
        #: Lots from positions.toml beside the config; P&L columns show once there are any.
        self.positions = Positions(settings.config_path, self.clock)
        self._pnl_hidden = False  # `P` hid the P&L columns
        self.main = MainScreen(
            settings.watchlist,
            market=settings.market,
            tz=settings.tz,
            feed_label=feed_label,
            ascii_only=ascii_only,
        )
        self.theme_errors = self._register_themes()
        #: The market's phase for the status bar; made with the REST client when connecting
        #: (the calendar library costs ~40 ms to import: not before the first prices).
        self.clock_watch = clock_watch
        self._phase: tuple[int, PhaseLine | None] = (-1, None)
        self.ascii_only = ascii_only
        #: The whole-market view (``m``): its boards outlive it, its subscriptions do not.
        self.boards: MarketBoards | None = None
        self.market_screen: MarketScreen | None = None
        self._market_wide: frozenset[str] | None = None  # the watched set, while it is shown
        self._params_used = False
        self._snapshot_at: int | None = None
        self.key_gate = KeyGate(self, partial(App.on_event, self))

    # -- setup ----------------------------------------------------------------------------------

    def _register_themes(self) -> list[str]:
        themes, errors = load_themes([BUILTIN_DIR, user_theme_dir(self.settings.config_path)])
        for theme in themes:
            self.register_theme(theme)
        wanted = self.settings.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            errors.append(f"unknown theme {wanted!r}; using {DEFAULT_THEME}")
            self.theme = DEFAULT_THEME
        return errors

    def get_driver_class(self) -> type[Driver]:
        """This terminal's driver, sending only what changed on screen (see ui/output.py).

        A driver named in ``TEXTUAL_DRIVER`` (a browser tab through ``ticktape serve``)
        is left as it is: the diff needs a terminal whose resizes it can see.
        """
        self.screen_diff = ScreenDiff()  # Textual asks for the driver class once, in __init__
        driver = super().get_driver_class()
        return driver if textual_constants.DRIVER else squeezing(driver, self.screen_diff)

    def action_redraw(self) -> None:
        """Send the whole screen again (something else wrote to the terminal, say)."""
        self.screen_diff.forget()
        self.screen.refresh()

    def validate_theme(self, theme_name: str) -> str:
        """Refuse a theme the stylesheet cannot take (Textual calls this on every switch,
        the command palette's included): the current theme stays and the user is told."""
        theme = self.get_theme(theme_name)
        problem = None if theme is None else css_problem(self, theme)
        if problem is None:
            return theme_name
        self.notice(
            f"theme {theme_name} cannot be used ({problem}); keeping {self.theme}", "warning"
        )
        return self.theme

    async def on_event(self, event: events.Event) -> None:
        """Keys from the terminal go through the gate (see ui/keygate.py); all else as usual."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self.key_gate.key(event)
            return
        await super().on_event(event)

    async def on_key_mark(self, mark: KeyMark) -> None:
        await self.key_gate.mark_back(mark)

    def action_command_palette(self) -> None:
        """Ctrl+P: our palette (Textual's, with a fault worked around: see ui/palette.py)."""
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(TicktapePalette(id="--command-palette"))

    def search_themes(self) -> None:
        """The palette's theme list, with names shown literally (see ui/palette.py)."""
        self.push_screen(
            TicktapePalette(providers=[ThemeCommands], placeholder="Search for themes…")
        )

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def get_default_screen(self) -> Screen[None]:
        return self.main

    async def on_mount(self) -> None:
        """Connect now, while the main screen composes; then wait for its panes.

        Textual calls the app ready (``run_test`` hands over its pilot) once this
        returns; holding that until the panes exist means nothing that talks to
        them right after start-up can find them missing.
        """
        if self.record_path is not None:  # before connecting: the first frames count most
            self.start_recording(self.record_path)
        if self._connect:
            self.run_worker(self._run_feed(), name="session", group="feed", exit_on_error=False)
        composed = asyncio.Event()
        self.main.call_later(composed.set)  # runs once the screen has mounted its children
        await composed.wait()
        self.main.watchlist.selection_listeners.append(self._show_selected)

    def on_ready(self) -> None:
        """The first screen is painted: start the frame timer; say what happened meanwhile."""
        self._screen_up = True
        self.main.tape.refusal = self.refused_param
        # Prices shown while the feed is down are not current: the rows say so (no status
        # yet means nobody claimed a feed: tests and benchmarks hand the state in whole).
        self.main.watchlist.set_feed_live(
            self.status is None or self.status.state is ConnState.LIVE
        )
        if self.settings.config_problem:  # this run is on defaults: say why
            self.notice(self.settings.config_problem, "error")
        for error in self.theme_errors:
            self.notify(error, severity="warning", markup=False)
        for problem in self.alerts.problems:
            self.notice(problem, "warning")
        for problem in self.positions.problems:
            self.notice(problem, "warning")
        self.positions_changed()
        early, self._early_notices = self._early_notices, []
        for text, severity, bar in early:
            self.notice(text, severity, bar=bar)
        if self.recorder.recorder is not None:
            where = self.recorder.recorder.path.resolve()
            self.notify(f"recording to {where}", timeout=6, markup=False)
        self._apply_bandwidth()
        self._queue_seed(self.main.watchlist.symbols)  # "loading" now, fetched after prices
        if not self._connect:  # the state came whole (tests, benchmarks): settle it now
            self.call_after_refresh(self._settle_gc)
        if textual_constants.DRIVER:  # a browser tab (ticktape serve): its page shows the title
            self.frame_listeners.append(WindowTitle(self))
        self.set_interval(1 / max(0.5, self.settings.fps), self._frame)
        self.set_interval(0.5, self.key_gate.check_stalled)
        self._frame()

    def _apply_bandwidth(self) -> None:
        """Set the panes to the bandwidth profile; over SSH, offer the low one (once a run)."""
        chosen = profile(self.settings.bandwidth)
        main = self.main
        main.tape.interval = chosen.tape_interval_s
        main.chart.throttle.interval = chosen.chart_interval_s
        main.watchlist.flashes = chosen.flashes
        main.status.profile = chosen.label
        terminal = not textual_constants.DRIVER  # a browser tab is not at the SSH end
        if self.settings.bandwidth == AUTO and terminal and over_ssh(os.environ):
            self.notify(OFFER, title="Slow link?", timeout=12, markup=False)

    # -- the frame -------------------------------------------------------------------------------

    def _frame(self) -> None:
        """One refresh: every pane takes what changed since the last frame."""
        started = time.perf_counter()
        main = self.main
        try:
            watchlist, chart, tape, status = main.watchlist, main.chart, main.tape, main.status
        except NoMatches:  # a tick while Textual takes the screen down at exit
            return
        now = self.clock()
        symbol = watchlist.selected
        watchlist.show(self.state, now)
        chart.show(self.state, symbol, loading=self.is_loading(symbol))
        tape.show(self.state, symbol)
        for line in self._imbalances.take(self.state, watchlist.symbols, symbol, tape.scope_all):
            tape.mark(line)
        if self._book is not None:
            self._book.show(self.state, symbol)
        if self.session is not None and now - self._stats_at >= STATS_EVERY_MS:
            self._stats_at = now
            self._stats = self.session.stats.snapshot()
        phase = self._phase_line(now)
        status.show(
            self.status,
            self._stats,
            now,
            recording=self.recorder.active,
            phase=phase,
            empty=not watchlist.symbols,
            upstream=self.upstream,
            hub_clients=self.hub_clients,
        )
        self.alerts.frame(now)
        market = self.market_screen
        if market is not None and self.screen is market:  # repainted only while shown
            recording = self.recorder.active
            market.frame(
                lambda bar: bar.show(
                    self.status, self._stats, now, recording=recording, phase=phase
                )
            )
        self._frame_queued = False
        if self._awaiting_prices and self._prices_shown(watchlist.symbols):
            self._awaiting_prices = False
            self.call_after_refresh(self._start_rest)
        if self.frame_listeners:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            for listener in tuple(self.frame_listeners):
                listener(elapsed_ms)

    def _phase_line(self, now: int) -> PhaseLine | None:
        """The market clock's words, worked out at most once a second."""
        if self.clock_watch is None:
            return None
        if now // 1000 != self._phase[0]:
            self._phase = (now // 1000, self.clock_watch.line(now))
        return self._phase[1]

    def _show_selected(self, symbol: str | None) -> None:
        """Chart and tape for a newly selected symbol now, from memory, in the same screen
        update as the watchlist's cursor: a switch must not wait for the next frame tick
        (up to 1/fps later). Data changes stay on the timer."""
        try:
            chart, tape = self.main.chart, self.main.tape
        except NoMatches:
            return
        chart.show(self.state, symbol, loading=self.is_loading(symbol))
        tape.show(self.state, symbol)
        if self._book is not None:
            self._book.show(self.state, symbol)

    def _prices_shown(self, symbols: tuple[str, ...]) -> bool:
        state = self.state
        return any((st := state.get(s)) is not None and st.last is not None for s in symbols)

    def is_loading(self, symbol: str | None) -> bool:
        return self.history.is_loading(symbol)

    # -- feed ------------------------------------------------------------------------------------

    async def _run_feed(self) -> None:
        """Learn the feed's URLs if it is still starting, then connect and stay connected."""
        if self._feed_urls is not None:
            try:
                ws_url, rest_url = await self._feed_urls()
            except Exception as err:  # without a feed there is nothing to show
                message = f"ticktape: the feed did not start: {err}"
                # after the first paint: the screen must not be torn down mid-compose
                self.call_after_refresh(self.exit, None, 1, message)
                return
            self.settings = self.settings.with_(ws_url=ws_url, rest_url=rest_url)
        self.session = Session(
            self.settings.ws_market_url,
            self.settings.api_key.reveal(),
            channels=MONITOR_CHANNELS[self.settings.market],
            on_events=self._on_events,
            on_status=self._session_status,
            on_server_status=self._server_status,
            on_frame=self.recorder.write,
            symbols=self._watched(),
        )
        self.status = self.session.status
        self.set_timer(REST_AFTER_S, self._start_rest)
        await self.session.run()

    def _watched(self) -> tuple[str, ...]:
        """The watchlist's symbols (the configured ones until the screen has composed it)."""
        try:
            return self.main.watchlist.symbols
        except NoMatches:
            return self.settings.watchlist

    def _on_events(self, events: Sequence[Event], recv_ms: int) -> None:
        """One decoded frame into the state; until prices show, paint it at once."""
        if self._market_wide is not None and self.boards is not None:
            # The whole market feeds the boards; only watched symbols become state.
            self.boards.feed(events)
            events = watched_only(events, self._market_wide)
        self.state.apply(events, recv_ms)
        if self._awaiting_prices and self._screen_up and not self._frame_queued:
            self._frame_queued = True
            self.call_later(self._frame)

    def _start_rest(self) -> None:
        """Open the REST client and seed what is queued (once; see the module docstring)."""
        self._awaiting_prices = False
        if not self._rest_started and self._connect:
            from ticktape.feed.rest import RestClient

            self._rest_started = True
            self._settle_gc()  # start-up is over: Textual's DOM, CSS, the first prices
            self.rest = RestClient(
                self.settings.rest_url, self.settings.api_key.reveal(), on_wait=self._rest_wait
            )
            self._start_clock_watch(self.rest)
            if self.market_screen is not None:  # opened before REST was up: seed it now
                self._seed_movers()
            self._kick_seeding()

    def _start_clock_watch(self, rest: RestClient) -> None:
        """Poll the market status from now on (the calendar speaks when REST cannot)."""
        from ticktape.feed.clockwatch import ClockWatch

        if self.feed_label == REPLAY_LABEL:  # a recording's session is not today's
            return
        if self.clock_watch is None:
            simulated = self.feed_label == "SIMULATED"
            market = self.settings.market
            self.clock_watch = ClockWatch(market, rest, clock=self.clock, simulated=simulated)
        elif self.clock_watch.source is None:
            self.clock_watch.source = rest
        self.run_worker(self.clock_watch.run(), name="market-clock", group="rest")

    def _session_status(self, status: SessionStatus) -> None:
        self.call_later(self._apply_status, status)

    def _apply_status(self, status: SessionStatus) -> None:
        before = self.status
        self.status = status
        state = status.state
        if before is not None and before.state is state:
            return
        if self._screen_up:  # else on_ready takes it from self.status
            self.main.watchlist.set_feed_live(state is ConnState.LIVE)
        if state is ConnState.LIVE:
            self._toasted = None
            if self._lost_ms is not None:  # back after an outage: fill the minutes it cost
                self._backfill(self._lost_ms)
                self._lost_ms = None
        elif before is not None and before.state is ConnState.LIVE:
            self._lost_ms = self.clock()
        if state in _ALARMING:
            # A toast only: the bar's state line already says it (and keeps it current,
            # countdown included); a bar notice would repeat it, then outlive it. Once per
            # state until the feed is live again: every retry passes through "connecting"
            # and back, and a toast each time piled up over the chart.
            if state is not self._toasted:
                self._toasted = state
                text, severity = describe_state(status, self.clock())
                self.notice(text, severity, bar=False)
        elif (
            state is ConnState.LIVE
            and before is not None
            and before.state is ConnState.RECONNECTING
        ):
            self.notify("reconnected", timeout=3, markup=False)

    def _server_status(self, status: Status) -> None:
        count = client_count(status)
        if count is not None:
            self.hub_clients = count
            return
        if is_upstream(status.status):
            # Through a hub: its upstream's state, said until it is well again.
            self.upstream = None if upstream_ok(status.status) else status.message
            return
        if status.status == REPLAY_FINISHED:
            self.call_later(self._feed_ended, "replay finished")
        refused = refused_params(status.message)
        if refused:
            # The plan lacks a channel: the tape says so for every symbol it refuses, and
            # the user is told once per channel, not once per symbol.
            told = {p.partition(".")[0] for p in self.refused}
            self.refused.update(refused)
            self.call_later(self._refresh_tape)
            if {p.partition(".")[0] for p in refused} <= told:
                return
        described = describe_server_status(status.status, status.message)
        if described is not None:
            # A status that ends the connection is the state line's to show (and the
            # same words as its toast, so the toast is not repeated either).
            bar = ending_state(status.status, status.message) not in _ALARMING
            self.call_later(self.notice, *described, bar=bar)

    def _feed_ended(self, text: str) -> None:
        """The feed has nothing more to send: the bar says so, not "no data for N s"."""
        with contextlib.suppress(NoMatches):  # exiting: no bar left to tell
            self.main.status.ended = text
            self._refresh_status()

    def refused_param(self, mode: str, symbol: str) -> str | None:
        """The subscription the server refused for this tape ``mode`` and ``symbol``, if any."""
        channel = TAPE_CHANNELS[self.settings.market].get(mode)
        if channel is None:
            return None
        for param in (f"{channel}.{symbol}", f"{channel}.*"):
            if param in self.refused:
                return param
        return None

    def _refresh_tape(self) -> None:
        with contextlib.suppress(NoMatches):  # exiting: no tape left to refresh
            self.main.tape.refresh()

    def _rest_wait(self, wait: RetryWait) -> None:
        # One toast per reason, not per retry: the countdown differs each time; the bar
        # keeps the latest.
        self.call_later(self.notice, describe_retry(wait), "warning", key=f"retry {wait.reason}")

    def notice(
        self,
        text: str,
        severity: Severity = "information",
        *,
        bar: bool = True,
        key: str | None = None,
    ) -> None:
        """Tell the user once: a notification plus (``bar``) a line in the status bar.

        The same ``key`` (else the same text) is not toasted again within
        :data:`NOTICE_REPEAT_MS`."""
        if not self._screen_up:  # the feed started before the screen: on_ready says it
            self._early_notices.append((text, severity, bar))
            return
        try:
            status = self.main.status
        except NoMatches:  # exiting: nobody left to tell
            return
        now = self.clock()
        # Notices carry wire text (server statuses, REST errors): one line, no terminal
        # escapes, and never interpreted as markup (a "[/bold]" from a server would crash).
        text = one_line(text)
        if bar:
            status.set_notice(text, severity, now)
        tag = key or text
        if now - self._notices.get(tag, -NOTICE_REPEAT_MS) >= NOTICE_REPEAT_MS:
            self._notices[tag] = now
            self.notify(
                text, severity=severity, timeout=8 if severity == "error" else 5, markup=False
            )

    # -- watchlist → feed ------------------------------------------------------------------------

    def on_watchlist_selected(self, message: Watchlist.Selected) -> None:
        self.history.prioritize(message.symbol)  # the one the user looks at loads first

    def on_watchlist_changed(self, message: Watchlist.Changed) -> None:
        symbols = message.symbols
        try:
            save_watchlist(self.settings, symbols)
        except ConfigFileError as err:  # the user's file is never replaced by the app's guess
            self.notice(f"watchlist not saved — {err}", "warning")
        except OSError as err:
            self.notice(f"could not save the watchlist: {err}", "warning")
        self.state.watch(symbols)
        self.alerts.book.set_watchlist(symbols)
        if self.session is not None:
            self.session.set_symbols(symbols)
        if self._params_used:
            self._resubscribe()
        self._queue_seed(symbols)

    # -- the whole-market view -------------------------------------------------------------------

    def action_market_view(self) -> None:
        """``m``: the whole-market screen; it subscribes to the market-wide channels while shown."""
        if self.settings.market != "stocks":
            self.notify("the market view covers stocks", timeout=3, markup=False)
            return
        if self.market_screen is not None:
            return
        from ticktape.ui.marketview import MarketScreen  # only when first opened

        if self.boards is None:
            self.boards = MarketBoards(nbbo=self._nbbo)
        self.market_screen = MarketScreen(
            self.boards,
            watched=self._watched,
            tz=self.settings.tz,
            feed_label=self.feed_label,
            ascii_only=self.ascii_only,
        )
        self.push_screen(self.market_screen, self._market_closed)
        self._market_wide = frozenset(self._watched())
        self._resubscribe()
        self._seed_movers()

    def _market_closed(self, symbol: str | None) -> None:
        """Back from the market view; Enter on a row brought ``symbol`` (added if new)."""
        self.market_screen = None
        self._market_wide = None
        self._resubscribe()
        if symbol in self._watched():
            self.main.select_symbol(symbol)
        elif symbol:
            self.main.add_symbol(symbol)  # selects it; its history loads like any new symbol

    def _resubscribe(self) -> None:
        """The watchlist's channels, plus the market-wide ones while the view is shown."""
        if self.session is None:
            return
        self._params_used = True
        watched = self._watched()
        if self._market_wide is not None:
            self._market_wide = frozenset(watched)
        params = {f"{ch}.{s}" for s in watched for ch in MONITOR_CHANNELS[self.settings.market]}
        self.session.set_params(params | (set(MARKET_WIDE) if self._market_wide else set()))

    def _nbbo(self, symbol: str) -> tuple[float, float] | None:
        st = self.state.get(symbol)
        if st is None or not (st.bid_px > 0 and st.ask_px > 0):  # NaN: no quote yet
            return None
        return st.bid_px, st.ask_px

    def _seed_movers(self) -> None:
        """Snapshots (gainers, losers, then every ticker) seed the movers, at most every 5 min."""
        now = self.clock()
        if self.rest is None or (
            self._snapshot_at is not None and now - self._snapshot_at < 300_000
        ):
            return
        self._snapshot_at = now
        self.run_worker(self._load_snapshots(), name="snapshots", group="rest")

    async def _load_snapshots(self) -> None:
        assert self.rest is not None and self.boards is not None
        try:
            for direction in ("gainers", "losers"):
                self.boards.seed(await self.rest.snapshot_direction(direction))
            self.boards.seed(await self.rest.snapshot_all())
        except Exception as err:  # the minute bars still fill the movers, only slower
            self._snapshot_at = None
            self.notice(*describe_rest_error(err, "market snapshot"))

    # -- REST seeding ----------------------------------------------------------------------------

    def _queue_seed(self, symbols: tuple[str, ...]) -> None:
        if self._connect and self.history.want(symbols, self.main.watchlist.selected):
            self._kick_seeding()

    def _kick_seeding(self) -> None:
        """Run the seed worker if there is work and REST is open (it waits for prices)."""
        if self.rest is None or not self.history.queue:
            return
        if self._seed_worker is None or self._seed_worker.is_finished:
            self._seed_worker = self.run_worker(self._seed_all(), name="seed", group="rest")

    async def _seed_all(self) -> None:
        await self.history.run()
        self._settle_gc()  # the history just loaded lives as long as its symbol

    def _backfill(self, lost_ms: int) -> None:
        """Ask REST for the minutes since the feed was lost, for every watched symbol."""
        symbols = self._watched()
        if self.rest is None or not symbols:
            return
        work = self.history.backfill(symbols, self.history.backfill_since(lost_ms))
        self.run_worker(work, name="backfill", group="rest")

    def _rest_error(self, err: Exception, what: str) -> None:
        self.notice(*describe_rest_error(err, what))

    # -- alerts (the widgets and the form are in ui/alerts.py) -----------------------------------

    def _terminal_write(self, text: str) -> None:
        """Bell and OSC notifications through the driver, in order with the screen's own
        output, so they reach the terminal the app is drawn on (over SSH too)."""
        driver = self._driver
        if driver is not None:
            driver.write(text)

    def _alerts_fired(self, fired: list[Fired]) -> None:
        lines = fired_lines(fired)
        with contextlib.suppress(NoMatches):
            for line in lines:
                self.main.tape.mark(line)
        self._alert_toasts.show(self, lines, self.clock())

    def action_alert_new(self) -> None:
        """``!``: a new alert on the selected symbol."""
        open_new_alert(self, self.alerts, self.main.watchlist.selected)

    def action_alerts_pane(self) -> None:
        """``L``: show or hide the alerts pane."""
        toggle_pane(self, self.alerts, self.clock)

    # -- positions (the form and the cells are in ui/positions.py) ------------------------------

    def action_position(self) -> None:
        """``p``: add or edit a lot of the selected symbol."""
        symbol = self.main.watchlist.selected
        st = self.state.get(symbol) if symbol else None
        open_lot_form(self, self.positions, symbol, st.last if st is not None else None)

    def action_pnl_columns(self) -> None:
        """``P``: show or hide the P&L columns and the totals row."""
        self._pnl_hidden = not self._pnl_hidden
        if self._pnl_hidden or self.positions.any:
            self.positions_changed()
        else:
            self.notify("no positions yet — p adds a lot to the selected symbol", timeout=3)

    def positions_changed(self) -> None:
        """Lots changed (or were loaded): the watchlist recomputes its P&L cells."""
        shown = self.positions.any and not self._pnl_hidden
        self.main.watchlist.set_pnl(self.positions.cells if shown else None)

    # -- the order book (the pane is in ui/book.py) ----------------------------------------------

    def action_book_pane(self) -> None:
        """``B``: show or hide the selected crypto pair's order book."""
        self._book = toggle_book(self)

    def set_book_params(self, params: Iterable[str]) -> bool:
        """The book pane's extra subscriptions (one pair's XL2); False until there is a session."""
        if self.session is None:
            return False
        self.session.set_extra_params(params)
        return True

    # -- recording -------------------------------------------------------------------------------

    def start_recording(self, path: Path) -> bool:
        """Append every frame received from now on to ``path``; False (and a notice) if it
        cannot be opened. The app keeps running either way: recording is a side job."""
        try:
            self.recorder.start(path, meta={"market": self.settings.market})
        except OSError as err:
            self.notice(f"cannot record to {path}: {err.strerror or err}", "error")
            return False
        self.record_path = path
        self._refresh_status()
        return True

    def stop_recording(self) -> None:
        """Flush and close the recording (idempotent)."""
        recorder = self.recorder.recorder
        self.recorder.stop()
        if recorder is not None:
            self._refresh_status()

    def action_toggle_record(self) -> None:
        """``R``: start recording (to --record's file, else a new timestamped one) or stop."""
        recorder = self.recorder.recorder
        if recorder is not None:
            self.stop_recording()
            self.notify(
                f"recording stopped: {recorder.path.resolve()} ({recorder.frames:,} frames)",
                markup=False,
            )
            return
        path = self.record_path or default_record_path()
        if self.start_recording(path):
            # The full path: a bare name leaves "where did it go?" to the user.
            self.notify(f"recording to {path.resolve()}", timeout=6, markup=False)

    def _refresh_status(self) -> None:
        """The status bar's REC mark now, not at the next frame (there may be no frames yet)."""
        try:
            status, watchlist = self.main.status, self.main.watchlist
        except NoMatches:
            return
        now = self.clock()
        status.show(
            self.status,
            self._stats,
            now,
            recording=self.recorder.active,
            phase=self._phase_line(now),
            empty=not watchlist.symbols,
            upstream=self.upstream,
            hub_clients=self.hub_clients,
        )

    # -- garbage collection ----------------------------------------------------------------------

    def _settle_gc(self) -> None:
        """Collect once, at a quiet moment, then keep what is alive out of later collections.

        Why: a full (oldest-generation) collection scans every live container —
        Textual's DOM and styles, tens of thousands of minute bars — and took
        40–50 ms here, several times a minute under load: the slowest ticker
        switches were such pauses. What is alive after start-up or a history
        load is long-lived by nature, so :func:`gc.freeze` takes it out of their
        reach (reference counting still frees it); collecting first means no
        garbage cycle is frozen. :meth:`on_unmount` undoes it.
        """
        gc.collect()
        gc.freeze()

    async def on_unmount(self) -> None:
        """Close the feed on every way out, not only ``q``: a crash or an ``exit()`` elsewhere.

        Textual dispatches Unmount from ``App._shutdown``, which runs on every exit
        path while the event loop is still running, so the websocket and the HTTP
        client can still be closed properly here.
        """
        try:
            await self.close_feed()
        finally:
            self.alerts.close()
            gc.unfreeze()  # what dies with the app (its DOM's cycles) must be collectable

    # -- quitting --------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Close the websocket politely (and the HTTP client) before leaving."""
        await self.close_feed()
        self.exit()

    async def close_feed(self) -> None:
        """Stop the session, the recording and the HTTP client; idempotent.

        Runs from ``q`` and again from :meth:`on_unmount`: both handles are taken
        before the first ``await``, so a second (or overlapping) call closes nothing twice.
        """
        self.workers.cancel_group(self, "rest")  # no download outlives its client
        session, self.session = self.session, None
        rest, self.rest = self.rest, None
        if session is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.stop(), 3.0)
        self.workers.cancel_group(self, "feed")  # in case it is still waiting for the URLs
        self.recorder.stop()  # after the session: its last frames are in the file
        if rest is not None:
            await rest.aclose()

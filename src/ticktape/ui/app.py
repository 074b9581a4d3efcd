"""The Textual app: composes the screens, runs the frame timer and wires callbacks to panes.

Each other concern is a small object the app owns (feed link, notices, recording,
alerts, the market view, themes, GC policy). See docs/architecture.md and docs/ui.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import constants as textual_constants
from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen

from ticktape.config import Settings
from ticktape.feed.session import SessionStatus
from ticktape.feed.stats import FeedSnapshot
from ticktape.market import MarketState
from ticktape.timeutil import wall_clock_ms
from ticktape.ui import gcpolicy
from ticktape.ui.alerts import AlertCommands, AppAlerts
from ticktape.ui.book import toggle_book
from ticktape.ui.feedlink import FeedLink
from ticktape.ui.frames import Frames
from ticktape.ui.keygate import KeyGate, KeyMark
from ticktape.ui.marketview import MarketViewLink
from ticktape.ui.notices import Notices
from ticktape.ui.output import ScreenDiff, squeezing
from ticktape.ui.palette import ActionCommands, SymbolCommands, open_palette
from ticktape.ui.positions import PnlColumns, Positions
from ticktape.ui.recording import Recording
from ticktape.ui.screen import MainScreen
from ticktape.ui.themes import VARIABLE_DEFAULTS, register_themes, usable_theme
from ticktape.ui.watchlist import Watchlist
from ticktape.ui.watchlists import WatchlistCommands, Watchlists
from ticktape.ui.webtitle import WindowTitle

if TYPE_CHECKING:
    from ticktape.feed.clockwatch import ClockWatch


class TicktapeApp(App[None]):
    """ticktape: watchlist, chart, tape and status bar over one market-data session."""

    CSS_PATH = "styles.tcss"
    TITLE = "ticktape"
    COMMANDS: ClassVar = App.COMMANDS | {
        SymbolCommands,
        ActionCommands,
        AlertCommands,
        WatchlistCommands,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
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
        """Args:
        settings: the resolved settings (watchlist, market, feed URLs, key, theme, fps).
        state: the market state to show (tests and benchmarks hand one in; else empty).
        feed_label: the status bar's feed mark ("LIVE", "SIMULATED", "REPLAY").
        connect: open a session to the feed (False: show ``state`` as it is).
        clock: wall time in milliseconds (injected so tests are deterministic).
        status: the connection status to show before any session says one.
        stats: the feed figures to show before any session has some.
        ascii_only: draw without box-drawing and block glyphs (``--ascii``).
        feed_urls: awaited before connecting for ``(ws_url, rest_url)``: a feed still
            starting up (the simulator's process) while the app starts too.
        record_path: record the feed there from the start (``R`` then toggles it).
        clock_watch: the market clock (else made from the calendar, then REST, when
            connecting).
        """
        super().__init__()
        self.settings = settings
        self.state = state if state is not None else MarketState()
        #: Every named list and the one shown (see ui/watchlists.py).
        self.watchlists = Watchlists(self, settings)
        # Deep history for what the user watches from the first event on (full tape at once).
        self.state.watch(self.watchlists.symbols)
        self.feed_label = feed_label
        self.clock = clock
        self.ascii_only = ascii_only
        #: The timed refresh of every pane (see ui/frames.py).
        self.frames = Frames(self)
        self.notices = Notices(self, clock)
        #: Tell the user once: a toast plus a status-bar line (see ui/notices.py).
        self.notice = self.notices.notice
        self.recording = Recording(self, Path(record_path) if record_path is not None else None)
        #: Where the session hands every raw frame (the API key redacted).
        self.recorder = self.recording.switch
        self.main = MainScreen(
            self.watchlists.symbols,
            market=settings.market,
            tz=settings.tz,
            feed_label=feed_label,
            ascii_only=ascii_only,
        )
        self.feed = FeedLink(
            self,
            connect=connect,
            status=status,
            stats=stats,
            feed_urls=feed_urls,
            clock_watch=clock_watch,
        )
        self.refused = self.feed.refused
        #: Whether a symbol's history is still coming from REST (the chart says "loading").
        self.is_loading = self.feed.history.is_loading
        self.market_view = MarketViewLink(self)
        self.app_alerts = AppAlerts(self, settings, self.state)
        #: The config file's alerts, checked each frame for the symbols that changed.
        self.alerts = self.app_alerts.service
        #: Lots from positions.toml beside the config; P&L columns show once there are any.
        self.positions = Positions(settings.config_path, clock)
        self.pnl = PnlColumns(self, self.positions)
        self.theme_errors = register_themes(self, settings.config_path, settings.theme)
        self.key_gate = KeyGate(self, partial(App.on_event, self))

    def watched(self) -> tuple[str, ...]:
        """The watchlist's symbols (the configured ones until the screen has composed it)."""
        return self.main.symbols_or(self.watchlists.symbols)

    def followed(self, watched: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """What the feed brings: the watchlist (``watched``, else the one shown), then symbols
        only an alert names (it must fire whichever list is shown)."""
        watched = self.watched() if watched is None else watched
        return watched + tuple(s for s in self.alerts.book.followed() if s not in watched)

    def get_driver_class(self) -> type[Driver]:
        """This terminal's driver, sending only what changed on screen (see ui/output.py).
        A browser tab's driver (``TEXTUAL_DRIVER``) is left as it is: the diff needs a
        terminal whose resizes it can see."""
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
        return usable_theme(self, theme_name, lambda problem: self.notice(problem, "warning"))

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

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
        open_palette(self)

    def search_themes(self) -> None:
        """The palette's theme list, with names shown literally (see ui/palette.py)."""
        open_palette(self, themes=True)

    def get_default_screen(self) -> Screen[None]:
        return self.main

    async def on_mount(self) -> None:
        """Connect now, while the main screen composes; then wait for its panes.

        Textual calls the app ready (``run_test`` hands over its pilot) once this
        returns; holding that until the panes exist means nothing that talks to
        them right after start-up can find them missing.
        """
        self.recording.begin()  # before connecting: the first frames count most
        if self.feed.connect:
            self.run_worker(self.feed.run(), name="session", group="feed", exit_on_error=False)
        composed = asyncio.Event()
        self.main.call_later(composed.set)  # runs once the screen has mounted its children
        await composed.wait()
        self.watchlists.start()
        self.main.watchlist.selection_listeners.append(self.frames.show_selected)

    def on_ready(self) -> None:
        """The first screen is painted: start the frame timer; say what happened meanwhile."""
        self.feed.ready()
        # Start-up's problems first (this run on defaults, a bad theme, a bad alert).
        problems = [*self.alerts.problems, *self.positions.problems]
        self.notices.ready(self.settings.config_problem, self.theme_errors, problems)
        self.pnl.changed()
        self.recording.announce()
        self.main.apply_bandwidth(self.settings.bandwidth)
        if not self.feed.connect:  # the state came whole (tests, benchmarks): settle it now
            self.call_after_refresh(gcpolicy.settle)
        if textual_constants.DRIVER:  # a browser tab (ticktape serve): its page shows the title
            self.frames.listeners.append(WindowTitle(self))
        self.set_interval(0.5, self.key_gate.check_stalled)
        self.frames.start(self.settings.fps)

    def on_watchlist_selected(self, message: Watchlist.Selected) -> None:
        self.feed.history.prioritize(message.symbol)  # the one the user looks at loads first

    def on_watchlist_changed(self, message: Watchlist.Changed) -> None:
        self.watchlists.changed(message.symbols)  # saved, subscribed (ui/watchlists.py)

    def on_watchlist_view_changed(self, _message: Watchlist.ViewChanged) -> None:
        self.watchlists.view_changed()

    def action_next_watchlist(self, step: int) -> None:
        """``w`` / ``W``: the next or previous named watchlist."""
        self.watchlists.cycle(step)

    def action_market_view(self) -> None:
        """``m``: the whole-market screen; it subscribes to the market-wide channels while shown."""
        self.market_view.open()

    def action_alert_new(self) -> None:
        """``!``: a new alert on the selected symbol."""
        self.app_alerts.new()

    def action_alerts_pane(self) -> None:
        """``L``: show or hide the alerts pane."""
        self.app_alerts.toggle_pane()

    def action_position(self) -> None:
        """``p``: add or edit a lot of the selected symbol."""
        self.pnl.lot_form()

    def action_pnl_columns(self) -> None:
        """``P``: show or hide the P&L columns and the totals row."""
        self.pnl.toggle()

    def action_book_pane(self) -> None:
        """``B``: show or hide the selected crypto pair's order book."""
        self.main.book = toggle_book(self)

    def action_toggle_record(self) -> None:
        """``R``: start recording (to --record's file, else a new timestamped one) or stop."""
        self.recording.toggle()

    def terminal_write(self, text: str) -> None:
        """Escape sequences (bell, OSC notifications, the window title) through the driver, in
        order with the screen's own output, so they reach the terminal the app is drawn on."""
        driver = self._driver  # Textual's; there is no public way to write in order
        if driver is not None:
            driver.write(text)

    async def on_unmount(self) -> None:
        """Close the feed on every way out, not only ``q`` (a crash, an ``exit()`` elsewhere):
        Unmount comes while the event loop still runs, so the sockets close properly."""
        try:
            await self.close_feed()
        finally:
            self.alerts.close()
            gcpolicy.release()

    async def action_quit(self) -> None:
        """Close the websocket politely (and the HTTP client) before leaving."""
        await self.close_feed()
        self.exit()

    async def close_feed(self) -> None:
        """Stop the session, the recording and the HTTP client; idempotent."""
        await self.feed.close(after_session=self.recorder.stop)

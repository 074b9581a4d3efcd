"""The Textual app: owns the market state, the session, REST seeding and the frame timer.

Data path (why it is shaped like this — see textual-notes.md): the session
runs in an async worker on the app's loop and hands every decoded frame to
``MarketState.apply`` directly. No Textual message is posted per event; one
timer at ``settings.fps`` calls ``show()`` on each pane, and each pane
repaints only what changed since its last frame. Connection status changes
and REST errors are rare, so they reach the UI through ``call_later`` and
become status-bar text plus a notification.

History: a newly seen symbol gets minute bars for the last few days from REST
in one worker, the selected symbol first, while the chart says it is loading.

Everything the app would take from the outside world can be injected (state,
clock, status, stats, no connection) so tests and snapshots are deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import ClassVar, Final

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from ticktape.config import Settings, save_watchlist
from ticktape.feed.events import Status
from ticktape.feed.rest import AuthError, RestClient, RetryWait
from ticktape.feed.session import Session, SessionStatus
from ticktape.feed.stats import FeedSnapshot
from ticktape.market import Bar, MarketState
from ticktape.timeutil import EXCHANGE_TZ, ms_to_zone
from ticktape.ui.palette import ActionCommands, SymbolCommands
from ticktape.ui.screen import MainScreen
from ticktape.ui.statusbar import (
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
    load_themes,
    user_theme_dir,
)
from ticktape.ui.watchlist import Watchlist

#: Channels subscribed per market (LULD feeds the chart's band lines).
CHANNELS: Final = {
    "stocks": ("T", "Q", "AM", "LULD"),
    "forex": ("C", "CA"),
    "crypto": ("XT", "XQ", "XA"),
}
#: History loaded for a new symbol: enough minute bars for a few trading days.
SEED_DAYS: Final = 5
#: The same notice is not re-notified within this window (a retry loop would spam).
NOTICE_REPEAT_MS: Final = 10_000
#: The status bar's figures are recomputed at most this often.
STATS_EVERY_MS: Final = 500


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def rest_ticker(symbol: str, market: str) -> str:
    """The REST ticker for a symbol: ``EUR/USD`` → ``C:EURUSD``, ``BTC-USD`` → ``X:BTCUSD``."""
    if market == "forex":
        return "C:" + symbol.replace("/", "")
    if market == "crypto":
        return "X:" + symbol.replace("-", "")
    return symbol


def previous_close(bars: list[Bar], now_ms: int, market: str = "stocks") -> float | None:
    """The previous session's close, from the minute bars already fetched.

    Why not a daily-bars request: it would be exact but doubles the REST calls,
    and the free plan allows five a minute. Stocks: the last bar starting
    before 16:00 New York time on an earlier day (the regular close, not the
    after-hours drift); forex and crypto trade round the clock: the last bar
    before midnight UTC.
    """
    if market != "stocks":
        day_start = now_ms - now_ms % 86_400_000
        before = [b for b in bars if b.start_ms < day_start]
        return before[-1].close if before else None
    today = ms_to_zone(now_ms, EXCHANGE_TZ).date()
    for bar in reversed(bars):
        t = ms_to_zone(bar.start_ms, EXCHANGE_TZ)
        if t.date() < today and t.hour < 16:
            return bar.close
    return None


class TicktapeApp(App[None]):
    """ticktape: watchlist, chart, tape and status bar over one market-data session."""

    CSS_PATH = "styles.tcss"
    TITLE = "ticktape"
    COMMANDS: ClassVar = App.COMMANDS | {SymbolCommands, ActionCommands}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("q", "quit", "Quit"),
    ]

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
    ) -> None:
        super().__init__()
        self.settings = settings
        # The app subscribes only its watchlist, so keeping every symbol's quotes
        # is cheap and lets the quotes view show history the moment a symbol is picked.
        self.state = state if state is not None else MarketState(record_all_quotes=True)
        self.feed_label = feed_label
        self.clock = clock
        self.status: SessionStatus | None = status
        self._stats: FeedSnapshot | None = stats
        self._stats_at = -STATS_EVERY_MS
        self._connect = connect
        self.session: Session | None = None
        self.rest: RestClient | None = None
        self._seed_queue: list[str] = []
        self._seeded: set[str] = set()
        self._seeding: str | None = None
        self._seed_worker: Worker[None] | None = None
        self._notices: dict[str, int] = {}
        self.main = MainScreen(
            settings.watchlist,
            market=settings.market,
            tz=settings.tz,
            feed_label=feed_label,
            ascii_only=ascii_only,
        )
        self.theme_errors = self._register_themes()

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

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_ready(self) -> None:
        """The main screen is composed: start the frame timer and the feed."""
        for error in self.theme_errors:
            self.notify(error, severity="warning")
        self.set_interval(1 / max(0.5, self.settings.fps), self._frame)
        self._frame()
        if self._connect:
            self._start_feed()

    # -- the frame -------------------------------------------------------------------------------

    def _frame(self) -> None:
        """One refresh: every pane takes what changed since the last frame."""
        now = self.clock()
        main = self.main
        symbol = main.watchlist.selected
        main.watchlist.show(self.state, now)
        main.chart.show(self.state, symbol, loading=self.is_loading(symbol))
        main.tape.show(self.state, symbol)
        if self.session is not None and now - self._stats_at >= STATS_EVERY_MS:
            self._stats_at = now
            self._stats = self.session.stats.snapshot()
        main.status.show(self.status, self._stats, now)

    def is_loading(self, symbol: str | None) -> bool:
        return symbol is not None and (symbol == self._seeding or symbol in self._seed_queue)

    # -- feed ------------------------------------------------------------------------------------

    def _start_feed(self) -> None:
        key = self.settings.api_key.reveal()
        self.session = Session(
            self.settings.ws_market_url,
            key,
            channels=CHANNELS[self.settings.market],
            on_events=self.state.apply,
            on_status=self._session_status,
            on_server_status=self._server_status,
            symbols=self.main.watchlist.symbols,
        )
        self.status = self.session.status
        self.run_worker(self.session.run(), name="session", group="feed", exit_on_error=False)
        self.rest = RestClient(self.settings.rest_url, key, on_wait=self._rest_wait)
        self._queue_seed(self.main.watchlist.symbols)

    def _session_status(self, status: SessionStatus) -> None:
        self.call_later(self._apply_status, status)

    def _apply_status(self, status: SessionStatus) -> None:
        before = self.status
        self.status = status
        name = status.state.name
        if before is not None and before.state == status.state:
            return
        if name in ("AUTH_FAILED", "KICKED", "SLOW_CONSUMER", "OFFLINE"):
            text, severity = describe_state(status, self.clock())
            self.notice(text, severity)
        elif name == "LIVE" and before is not None and before.state.name == "RECONNECTING":
            self.notify("reconnected", timeout=3)

    def _server_status(self, status: Status) -> None:
        described = describe_server_status(status.status, status.message)
        if described is not None:
            self.call_later(self.notice, *described)

    def _rest_wait(self, wait: RetryWait) -> None:
        self.call_later(self.notice, describe_retry(wait), "warning")

    def notice(self, text: str, severity: Severity = "information") -> None:
        """Tell the user once: a notification plus a line in the status bar."""
        now = self.clock()
        self.main.status.set_notice(text, severity, now)
        if now - self._notices.get(text, -NOTICE_REPEAT_MS) >= NOTICE_REPEAT_MS:
            self._notices[text] = now
            self.notify(text, severity=severity, timeout=8 if severity == "error" else 5)

    # -- watchlist → feed ------------------------------------------------------------------------

    def on_watchlist_selected(self, message: Watchlist.Selected) -> None:
        symbol = message.symbol
        if symbol in self._seed_queue:  # the one the user looks at loads first
            self._seed_queue.remove(symbol)
            self._seed_queue.insert(0, symbol)

    def on_watchlist_changed(self, message: Watchlist.Changed) -> None:
        symbols = message.symbols
        try:
            save_watchlist(self.settings, symbols)
        except OSError as err:
            self.notice(f"could not save the watchlist: {err}", "warning")
        if self.session is not None:
            self.session.set_symbols(symbols)
        self._seed_queue = [s for s in self._seed_queue if s in symbols]
        self._queue_seed(symbols)

    # -- REST seeding ----------------------------------------------------------------------------

    def _queue_seed(self, symbols: tuple[str, ...]) -> None:
        if self.rest is None:
            return
        selected = self.main.watchlist.selected
        for symbol in symbols:
            known = symbol in self._seeded or symbol in self._seed_queue
            if not known and symbol != self._seeding:
                self._seed_queue.append(symbol)
        if selected in self._seed_queue:
            self._seed_queue.remove(selected)
            self._seed_queue.insert(0, selected)
        if self._seed_queue and (self._seed_worker is None or self._seed_worker.is_finished):
            self._seed_worker = self.run_worker(self._seed_all(), name="seed", group="rest")

    async def _seed_all(self) -> None:
        while self._seed_queue:
            symbol = self._seeding = self._seed_queue.pop(0)
            try:
                await self._seed(symbol)
            except Exception as err:  # one symbol's failure must not stop the others
                self.notice(*describe_rest_error(err, symbol))
                if isinstance(err, AuthError):  # every other request would fail the same way
                    self._seed_queue.clear()
            finally:
                self._seeded.add(symbol)
                self._seeding = None

    async def _seed(self, symbol: str) -> None:
        assert self.rest is not None
        now = wall_clock_ms()
        ticker = rest_ticker(symbol, self.settings.market)
        start = now - SEED_DAYS * 86_400_000
        bars = [Bar.from_agg(a) async for a in self.rest.iter_aggs(ticker, 1, "minute", start, now)]
        if symbol in self.main.watchlist.symbols:
            self.state.seed_bars(
                symbol, bars, prev_close=previous_close(bars, now, self.settings.market)
            )

    # -- quitting --------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Close the websocket politely (and the HTTP client) before leaving."""
        await self.close_feed()
        self.exit()

    async def close_feed(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.stop(), 3.0)
        rest, self.rest = self.rest, None
        if rest is not None:
            await rest.aclose()

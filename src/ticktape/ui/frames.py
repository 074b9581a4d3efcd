"""The frame: one timed refresh in which every pane takes what changed since the last.

The order of the panes and the paths that paint between ticks. See docs/ui.md.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp


class Frames:
    """Paints the app's frames: on the timer, soon (first prices), or the status bar alone.

    Args:
        app: the app whose panes are painted.
    """

    def __init__(self, app: TicktapeApp) -> None:
        self.app = app
        #: True once the first screen is painted (panes exist, the frame timer runs).
        self.screen_up = False
        self._queued = False
        #: Called after every frame with its duration in milliseconds (benchmarks, diagnostics).
        self.listeners: list[Callable[[float], None]] = []

    def start(self, fps: float) -> None:
        """The first screen is painted: the timer runs from now on, and a frame at once."""
        self.screen_up = True
        self.app.set_interval(1 / max(0.5, fps), self.tick)
        self.tick()

    def tick(self) -> None:
        """One refresh: every pane takes what changed since the last frame."""
        app = self.app
        started = time.perf_counter()
        try:
            watchlist, status = app.main.watchlist, app.main.status
        except NoMatches:  # a tick while Textual takes the screen down at exit
            return
        now = app.clock()
        app.main.show(app.state, now, app.is_loading)
        app.feed.refresh_stats(now)
        app.feed.show_status(status, now, empty=not watchlist.symbols)
        app.alerts.frame(now)
        app.market_view.frame(lambda bar: app.feed.show_status(bar, now))
        self._queued = False
        app.feed.frame_done(watchlist.symbols)
        if self.listeners:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            for listener in tuple(self.listeners):
                listener(elapsed_ms)

    def soon(self) -> None:
        """A frame now rather than at the next tick (the first prices must not wait)."""
        if self.screen_up and not self._queued:
            self._queued = True
            self.app.call_later(self.tick)

    def status_now(self) -> None:
        """The status bar now, not at the next frame (e.g. the REC mark; there may be no frames)."""
        app = self.app
        with contextlib.suppress(NoMatches):
            status, watchlist = app.main.status, app.main.watchlist
            app.feed.show_status(status, app.clock(), empty=not watchlist.symbols)

    def show_selected(self, symbol: str | None) -> None:
        """Chart and tape for a newly selected symbol now, from memory, in the same screen
        update as the watchlist's cursor: a switch must not wait for the next frame tick
        (up to 1/fps later). Data changes stay on the timer."""
        app = self.app
        with contextlib.suppress(NoMatches):
            app.main.show_selected(app.state, symbol, app.is_loading)

"""The main screen: layout, every key binding, and type-ahead symbol search.

See docs/ui.md (keys).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Final

from textual import constants as textual_constants
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.scrollbar import ScrollBarRender
from textual.widgets import Footer

from ticktape.market import MarketState
from ticktape.ui.bandwidth import AUTO, OFFER, over_ssh, profile
from ticktape.ui.chart import ChartView
from ticktape.ui.help import HelpScreen
from ticktape.ui.imbalances import ImbalanceLines
from ticktape.ui.keys import KEYMAP, MIN_SIZES
from ticktape.ui.prompts import SymbolPrompt
from ticktape.ui.statusbar import StatusBar
from ticktape.ui.tape import TapeView
from ticktape.ui.watchlist import Watchlist

if TYPE_CHECKING:
    from ticktape.ui.book import BookPane

#: Letters typed within this many seconds of each other build one search.
TYPEAHEAD_S: Final = 1.0


class AsciiScrollBarRender(ScrollBarRender):
    """Scroll bars without the eighth-block glyphs (``▃``) Textual draws a thumb's ends with:
    with ``--ascii`` the thumb is whole cells of its colour."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


BOUND_KEYS: Final = frozenset(k.strip() for _, b, _ in KEYMAP for k in b.key.split(",")) | {
    "q",
    "m",
}


class MainScreen(Screen[None]):
    """Watchlist, chart, tape and status bar; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [b for _, b, _ in KEYMAP]

    def __init__(
        self,
        symbols: tuple[str, ...],
        *,
        market: str = "stocks",
        tz: str = "America/New_York",
        feed_label: str = "LIVE",
        ascii_only: bool = False,
    ) -> None:
        super().__init__()
        self.market = market
        self._symbols = symbols
        self._tz = tz
        self._feed_label = feed_label
        self._ascii = ascii_only
        self._undo: list[tuple[str, int]] = []
        self._typed = ""
        self._typed_at = 0.0
        #: The type-ahead window's clock (tests freeze it to make searches deterministic).
        self.clock: Callable[[], float] = time.monotonic
        #: The order-book pane while it shows (``B``), repainted with the selected symbol.
        self.book: BookPane | None = None
        #: Net order imbalances turned into marked tape lines.
        self.imbalances = ImbalanceLines(tz)
        if ascii_only:
            self.add_class("-ascii")

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield Watchlist(self._symbols, ascii_only=self._ascii, id="watchlist")
            with Vertical(id="right"):
                yield ChartView(tz=self._tz, ascii_only=self._ascii, id="chart")
                yield TapeView(tz=self._tz, ascii_only=self._ascii, id="tape")
        with Vertical(id="bottom"):
            yield StatusBar(
                feed_label=self._feed_label,
                market=self.market,
                tz=self._tz,
                ascii_only=self._ascii,
                id="status",
            )
            yield Footer(show_command_palette=not self._ascii)  # its separator is "▏"

    def on_mount(self) -> None:
        self.watchlist.focus()
        if self._ascii:
            for pane in (self.watchlist, self.tape):  # per widget, as Textual's docs show:
                pane.vertical_scrollbar.renderer = AsciiScrollBarRender  # type: ignore[misc]

    @property
    def watchlist(self) -> Watchlist:
        return self.query_one("#watchlist", Watchlist)

    @property
    def chart(self) -> ChartView:
        return self.query_one("#chart", ChartView)

    @property
    def tape(self) -> TapeView:
        return self.query_one("#tape", TapeView)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    # -- used by the palette and the app ------------------------------------------------------

    def symbols_or(self, default: tuple[str, ...]) -> tuple[str, ...]:
        """The watchlist's symbols, or ``default`` while it is not composed (or gone)."""
        try:
            return self.watchlist.symbols
        except NoMatches:
            return default

    def show(self, state: MarketState, now_ms: int, loading: Callable[[str | None], bool]) -> None:
        """One frame: the watchlist, then the selected symbol's chart and tape, each repainting
        only what changed since its last frame."""
        symbol = self.watchlist.selected
        self.watchlist.show(state, now_ms)
        self.chart.show(state, symbol, loading=loading(symbol))
        self.tape.show(state, symbol)
        for line in self.imbalances.take(
            state, self.watchlist.symbols, symbol, self.tape.scope_all
        ):
            self.tape.mark(line)
        if self.book is not None:
            self.book.show(state, symbol)

    def show_selected(
        self, state: MarketState, symbol: str | None, loading: Callable[[str | None], bool]
    ) -> None:
        """Chart and tape for ``symbol`` (``loading``: whether its history is still coming)."""
        self.chart.show(state, symbol, loading=loading(symbol))
        self.tape.show(state, symbol)
        if self.book is not None:
            self.book.show(state, symbol)

    def apply_bandwidth(self, setting: str) -> None:
        """Set the panes to the bandwidth profile; over SSH, offer the low one (once a run)."""
        chosen = profile(setting)
        self.tape.interval = chosen.tape_interval_s
        self.chart.throttle.interval = chosen.chart_interval_s
        self.watchlist.flashes = chosen.flashes
        self.status.profile = chosen.label
        terminal = not textual_constants.DRIVER  # a browser tab is not at the SSH end
        if setting == AUTO and terminal and over_ssh(os.environ):
            self.app.notify(OFFER, title="Slow link?", timeout=12, markup=False)

    def select_symbol(self, symbol: str) -> None:
        self.watchlist.select_symbol(symbol)

    def add_symbol(self, symbol: str) -> None:
        if not self.watchlist.add(symbol):
            self.notify(f"{symbol} is already in the watchlist")

    def swap_undo(self, stack: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Put another list's undo stack in place (``u`` undoes within the list shown)."""
        old, self._undo = self._undo, stack
        return old

    def toggle_column(self, key: str) -> None:
        """Show or hide one column of the list shown (the palette's "hide column …")."""
        wl = self.watchlist
        shown = wl.allowed
        wl.set_columns(tuple(k for k in shown if k != key) if key in shown else (*shown, key))

    def sort_by(self, key: str | None) -> None:
        self.watchlist.set_sort(key, descending=key != "symbol")
        self.notify(self.watchlist.sort_label(), timeout=2)

    # -- type-ahead -----------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        """Letters typed now extend a search (rather than run their commands)."""
        return bool(self._typed) and self.clock() - self._typed_at < TYPEAHEAD_S

    def on_key(self, event: events.Key) -> None:
        """Letters jump to the first matching symbol.

        A search starts with a letter that is not bound to anything (so `j`,
        `a`, `s`… keep their meaning); once started, every letter typed within
        :data:`TYPEAHEAD_S` extends it, bound or not. A letter that matches
        nothing restarts the search if it could start one, else it is
        swallowed (a typo must not remove a symbol). `/` asks for any symbol.
        """
        char = event.character
        if not char or len(char) != 1 or not char.isprintable():
            return
        now = self.clock()
        unbound = char.isalpha() and event.key not in BOUND_KEYS
        active = self.searching
        if active and (char.isalnum() or char in "./-"):
            typed = self._typed + char.upper()
            if not self.watchlist.jump(typed) and unbound:
                typed = char.upper()
                self.watchlist.jump(typed)
        elif unbound:
            typed = char.upper()
            self.watchlist.jump(typed)
        else:
            self._typed = ""
            return
        self._typed, self._typed_at = typed, now
        event.stop()
        event.prevent_default()

    # -- actions -------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.watchlist.move_cursor(delta)

    def action_cursor_to(self, index: int) -> None:
        n = len(self.watchlist.display_order)
        self.watchlist.cursor_to(index if index >= 0 else n + index)

    def action_jump(self) -> None:
        def done(symbol: str | None) -> None:
            if symbol and not self.watchlist.jump(symbol):
                self.notify(f"no symbol starting with {symbol} — press a to add one")

        prompt = SymbolPrompt("Go to a watchlist symbol", self.market, validate=False)
        self.app.push_screen(prompt, done)

    def action_add(self) -> None:
        def done(symbol: str | None) -> None:
            if symbol:
                self.add_symbol(symbol)

        self.app.push_screen(SymbolPrompt("Add symbol", self.market), done)

    def action_remove(self) -> None:
        removed = self.watchlist.remove_selected()
        if removed is not None:
            self._undo.append(removed)
            self.notify(f"removed {removed[0]} — press u to undo", timeout=4)

    def action_undo(self) -> None:
        if not self._undo:
            self.notify("nothing to undo", timeout=2)
            return
        symbol, index = self._undo.pop()
        self.watchlist.insert(symbol, index)

    def action_move(self, delta: int) -> None:
        if self.watchlist.sort_key is not None:
            self.notify("the list is sorted — press s until 'manual order' to reorder", timeout=3)
            return
        self.watchlist.move_selected(delta)

    def action_sort(self) -> None:
        self.watchlist.cycle_sort()
        self.notify(self.watchlist.sort_label(), timeout=2)

    def action_reverse_sort(self) -> None:
        self.watchlist.reverse_sort()
        self.notify(self.watchlist.sort_label(), timeout=2)

    def action_pane_width(self, delta: int) -> None:
        wl = self.watchlist
        wl.styles.width = max(20, min(self.size.width - 30, wl.outer_size.width + delta))

    def action_tape_height(self, delta: int) -> None:
        tape = self.tape
        room = self.query_one("#right").size.height
        tape.styles.height = max(4, min(room - 6, tape.outer_size.height + delta))

    def action_timeframe(self, timeframe: str) -> None:
        self.chart.timeframe = timeframe

    def action_pause(self) -> None:
        self.tape.toggle_pause()

    def action_tape_mode(self) -> None:
        self.tape.mode = "quotes" if self.tape.mode == "trades" else "trades"

    def action_tape_scope(self) -> None:
        self.tape.scope_all = not self.tape.scope_all

    def action_min_size(self) -> None:
        tape = self.tape
        sizes = list(MIN_SIZES)
        nxt = sizes[(sizes.index(tape.min_size) + 1) % len(sizes)] if tape.min_size in sizes else 0
        tape.min_size = nxt
        self.notify("tape: every trade" if nxt == 0 else f"tape: trades of {nxt:,}+", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

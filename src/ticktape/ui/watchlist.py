"""The watchlist: a Line-API table of symbols that repaints only rows that changed.

Why not ``DataTable``: see docs/ui.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ticktape.market.extended import extended_move
from ticktape.ui.format import fmt_change, fmt_pct, fmt_price, fmt_volume, symbol_decimals
from ticktape.ui.positions import PNL_SIGNED, pnl_texts, totals_texts

if TYPE_CHECKING:
    from ticktape.market import MarketState, SymbolState

#: No update for this long marks a symbol stale (an illiquid name, or a dead feed).
#: Row marks: ``~`` stale, ``H`` halted (LULD pause), ``·`` no data yet.
STALE_MS: Final = 60_000
#: How long a changed cell stays highlighted.
FLASH_MS: Final = 700
#: While sorted, rows re-order at most this often so the list does not jitter at 10 Hz.
RESORT_MS: Final = 1_000


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # SymbolState attribute, also the sort key
    title: str
    width: int
    priority: int  # lower survives narrower panes
    pnl: bool = False  # a position column: shown only with P&L on (see ui/positions.py)
    #: Shown only while some row traded outside regular hours (``AH +0.42%``, ``PM -0.31%``),
    #: so a regular-hours list keeps its width for the quote's own figures.
    extended: bool = False


#: Display order. At 80 columns only symbol, last and %chg fit (priorities 0–2).
COLUMNS: Final = (
    Column("symbol", "Symbol", 7, 0),
    Column("last", "Last", 9, 1),
    Column("change", "Chg", 8, 3),
    Column("change_pct", "%Chg", 7, 2),
    Column("extended", "Ext hrs", 10, 2, extended=True),
    Column("bid", "Bid", 9, 5),
    Column("ask", "Ask", 9, 6),
    Column("spread", "Sprd", 7, 8),  # a forex spread needs 7: 0.00012
    Column("volume", "Vol", 7, 4),
    Column("vwap", "VWAP", 9, 7),
    Column("position", "Pos", 9, 9, pnl=True),
    Column("avg_cost", "Avg cost", 9, 9, pnl=True),
    Column("market_value", "Mkt value", 10, 9, pnl=True),
    Column("day_pnl", "Day P&L", 10, 9, pnl=True),
    Column("total_pnl", "Tot P&L", 10, 9, pnl=True),
    Column("total_pct", "Tot%", 7, 9, pnl=True),
)
#: Column priorities while P&L shows: the position's figures before the quote's.
_PNL_ORDER: Final = (
    *("symbol", "last", "day_pnl", "total_pnl", "position", "market_value", "total_pct"),
    *("change_pct", "extended", "avg_cost", "change", "volume", "bid", "ask", "vwap", "spread"),
)
PNL_PRIORITY: Final = {k: i for i, k in enumerate(_PNL_ORDER)}
COLUMN_KEYS: Final = tuple(c.key for c in COLUMNS)
COLUMN_TITLES: Final = {c.key: c.title for c in COLUMNS}
MARK_WIDTH: Final = 1


def fit_columns(
    width: int, pnl: bool = False, extended: bool = False, allowed: tuple[str, ...] = COLUMN_KEYS
) -> tuple[tuple[Column, int], ...]:
    """(column, cell width) for the columns that fit ``width`` cells, in display order.

    Columns are chosen among ``allowed`` (the list's own choice) by priority
    (:data:`PNL_PRIORITY` with P&L on; without it the position columns are hidden, and the
    extended-hours one unless ``extended``); spare cells widen the columns a little so the
    numbers do not huddle at the left of a wide pane.
    """
    chosen: list[Column] = []
    used = MARK_WIDTH
    cols = [
        c
        for c in COLUMNS
        if (pnl or not c.pnl) and (extended or not c.extended) and c.key in allowed
    ]
    rank = (lambda c: PNL_PRIORITY[c.key]) if pnl else (lambda c: c.priority)
    for col in sorted(cols, key=rank):
        need = col.width + (1 if chosen else 0)
        if used + need > width and chosen:
            break
        chosen.append(col)
        used += need
    extra = min(3, (width - used) // len(chosen))
    return tuple((c, c.width + extra) for c in COLUMNS if c in chosen)


@dataclass(slots=True)
class _Row:
    version: int = -2  # -2: never shown; -1: no state yet
    texts: dict[str, str] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)
    tick: int = 0
    sign: int = 0
    stale: bool = False
    halted: bool = False
    has_data: bool = False
    flash: dict[str, tuple[int, int]] = field(default_factory=dict)  # col → (until_ms, dir)
    strip: Strip | None = None
    #: What each cell showed when ``strip`` was built: (x, width, text, style) per column,
    #: the stale mark first; a frame compares against it to repaint only the cells that differ.
    cells: tuple[tuple[int, int, str, Style], ...] = ()


def _num(st: SymbolState, key: str) -> float | None:
    value = getattr(st, key, None)
    return None if value is None else float(value)


class Watchlist(ScrollView, can_focus=True, inherit_bindings=False):
    """Symbols with last, change, quote, volume, VWAP; a sticky header; one cached strip a row.

    No inherited bindings: ``ScrollView``'s would take up/down/page/home/end to scroll the
    view once the list overflows, leaving the selection behind; the screen's bindings move
    the selection instead, and the view follows it.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "watchlist--header",
        "watchlist--cursor",
        "watchlist--up",
        "watchlist--down",
        "watchlist--neutral",
        "watchlist--stale",
        "watchlist--flash-up",
        "watchlist--flash-down",
    }
    """
    | Class | Description |
    | :- | :- |
    | `watchlist--header` | The sticky column header. |
    | `watchlist--cursor` | The selected row (brighter while the list has focus). |
    | `watchlist--up` | A last price that ticked up; a change above the previous close. |
    | `watchlist--down` | A down-tick; a change below the previous close; the halt mark. |
    | `watchlist--neutral` | A last price or change that is unchanged. |
    | `watchlist--stale` | A row that is not current (feed down, symbol silent, no data). |
    | `watchlist--flash-up` | A cell whose value just rose (for a moment). |
    | `watchlist--flash-down` | A cell whose value just fell (for a moment). |
    """

    class Selected(Message):
        """The selected symbol changed (chart and tape follow it)."""

        def __init__(self, symbol: str | None) -> None:
            super().__init__()
            self.symbol = symbol

    class Changed(Message):
        """The list itself changed (add, remove, reorder): persist and resubscribe."""

        def __init__(self, symbols: tuple[str, ...]) -> None:
            super().__init__()
            self.symbols = symbols

    class ViewChanged(Message):
        """The sort or the columns changed: persist them with the list."""

    def __init__(
        self,
        symbols: tuple[str, ...] = (),
        *,
        ascii_only: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._symbols: list[str] = list(dict.fromkeys(symbols))
        self._order: list[str] = list(self._symbols)
        self._rows: dict[str, _Row] = {s: _Row() for s in self._symbols}
        self._cursor = 0
        self.sort_key: str | None = None
        self.sort_desc = True
        self._last_sort_ms = 0
        self._ascii = ascii_only
        #: The columns this list may show (``set_columns``); the width picks among them.
        self.allowed: tuple[str, ...] = COLUMN_KEYS
        self._columns = fit_columns(40)
        #: Some row's last trade was outside regular hours: the ``Ext hrs`` column shows.
        self._extended = False
        self._styles: dict[str, Style] = {}
        self._header: Strip | None = None
        self._selected_sent: str | None = None
        self._feed_live: bool | Callable[[str], bool] = True
        #: Changed cells flash for :data:`FLASH_MS` (off in the low-bandwidth profile).
        self.flashes = True
        #: P&L cells per row (symbol, state → values by column key), or None: P&L hidden.
        self.pnl: Callable[[str, SymbolState | None], dict[str, float | None]] | None = None
        #: Called at once, before :class:`Selected` is posted, when the selection changes.
        #: Why not only the message: it reaches the app after the screen has painted the
        #: cursor, so a chart and tape repainted from it wait a whole screen update (~17 ms).
        self.selection_listeners: list[Callable[[str | None], None]] = []

    # -- public API ---------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """The list in the user's (manual) order — what gets persisted."""
        return tuple(self._symbols)

    @property
    def display_order(self) -> tuple[str, ...]:
        """Rows as shown (sorted, or manual)."""
        return tuple(self._order)

    @property
    def selected(self) -> str | None:
        return self._order[self._cursor] if self._order else None

    @property
    def visible_columns(self) -> tuple[str, ...]:
        return tuple(c.key for c, _ in self._columns)

    def show(self, state: MarketState, now_ms: int) -> None:
        """Take what changed in ``state`` since the last frame; repaint only those rows."""
        dirty: list[str] = []
        any_data_changed = False
        for symbol in self._symbols:
            row = self._rows[symbol]
            st = state.get(symbol)
            version = -1 if st is None else int(st.version)
            changed = False
            if version != row.version:
                self._update_row(symbol, row, st, now_ms)
                row.version = version
                changed = any_data_changed = True
            updated = 0 if st is None else int(st.updated_ms or 0)
            stale = bool(updated) and now_ms - updated > STALE_MS
            if stale != row.stale:
                row.stale = stale
                changed = True
            if row.flash and min(until for until, _ in row.flash.values()) <= now_ms:
                row.flash = {k: v for k, v in row.flash.items() if v[0] > now_ms}
                changed = True
            if changed:
                dirty.append(symbol)
        if any_data_changed and self._extended != self._any_extended():
            self._extended = not self._extended
            self._refit()
            return
        if (
            self.sort_key is not None
            and any_data_changed
            and now_ms - self._last_sort_ms >= RESORT_MS
            and self._resort(now_ms)
        ):
            for row in self._rows.values():
                row.strip = None
            self.refresh()
            return
        for symbol in dirty:
            self._repaint_cells(symbol)
        if dirty and self.pnl is not None:
            self.refresh_line(len(self._order) + 1)  # the totals row

    def _any_extended(self) -> bool:
        return any(self._rows[s].texts.get("extended") for s in self._symbols)

    def _refit(self) -> None:
        """Choose the columns again (width, P&L or extended hours changed); repaint all."""
        self._columns = self._fit(self.size.width or 40)
        for row in self._rows.values():
            row.strip = None
        self._header = None
        self.refresh()

    def _fit(self, width: int) -> tuple[tuple[Column, int], ...]:
        return fit_columns(width, self.pnl is not None, self._extended, self.allowed)

    def set_columns(self, keys: tuple[str, ...]) -> None:
        """Show only these columns (still as many as the width takes), in display order."""
        keys = tuple(k for k in COLUMN_KEYS if k in keys or k == "symbol")
        if keys != self.allowed:
            self.allowed = keys
            self._refit()
            self.post_message(self.ViewChanged())

    def set_pnl(
        self, cells: Callable[[str, SymbolState | None], dict[str, float | None]] | None
    ) -> None:
        """Show the position columns and a totals row from ``cells`` (None hides them);
        called again after lots change, so every row is recomputed."""
        self.pnl = cells
        self._columns = self._fit(self.size.width or 40)
        for row in self._rows.values():
            row.version, row.strip = -2, None
        self._header = None
        self._sync_size()
        self.refresh()

    def _repaint_cells(self, symbol: str) -> None:
        """Rebuild ``symbol``'s row and repaint only the cells whose text or style changed.

        Adjacent changed cells are one region, the gap between them included, so
        the compositor sends them with one cursor move; a row not drawn yet (or
        scrolled out of view) just forgets its strip and is built when drawn.
        """
        row = self._rows[symbol]
        index = self._order.index(symbol)
        y = index + 1 - int(self.scroll_y)
        old = row.cells
        row.strip = None
        if not old or not 0 < y < self.size.height:
            self.refresh_line(index + 1)
            return
        self._build_row(symbol, row, self.size.width)
        if len(old) != len(row.cells):
            self.refresh_line(index + 1)
            return
        start = end = -1
        for (x, w, *before), (_, _, *after) in zip(old, row.cells, strict=True):
            if before == after:
                continue
            if start >= 0 and x > end + 1:  # not adjacent: send what we have
                self.refresh(Region(start, y, end - start, 1))
                start = -1
            if start < 0:
                start = x
            end = x + w
        if start >= 0:
            self.refresh(Region(start, y, end - start, 1))

    def set_feed_live(self, live: bool | Callable[[str], bool]) -> None:
        """While the feed is down every row looks stale at once, not after :data:`STALE_MS`.

        Prices stop moving when the connection drops, and a bright row would claim they are
        current. Called on status changes only, so repainting every row here is cheap;
        once live again each row shows its own staleness. ``live`` may say it per symbol
        (one market of a mixed list is down).
        """
        if live == self._feed_live:
            return
        self._feed_live = live
        for row in self._rows.values():
            row.strip = None
        self.refresh()

    def set_symbols(self, symbols: tuple[str, ...]) -> None:
        keep = self.selected
        self._symbols = list(dict.fromkeys(symbols))
        self._rows = {s: self._rows.get(s) or _Row() for s in self._symbols}
        self._reorder(keep)

    def move_cursor(self, delta: int) -> None:
        if self._order:
            self._set_cursor(max(0, min(len(self._order) - 1, self._cursor + delta)))

    def cursor_to(self, index: int) -> None:
        if self._order:
            self._set_cursor(max(0, min(len(self._order) - 1, index)))

    def select_symbol(self, symbol: str) -> bool:
        if symbol not in self._order:
            return False
        self._set_cursor(self._order.index(symbol))
        return True

    def jump(self, prefix: str) -> bool:
        """Select the first row (in display order) whose symbol starts with ``prefix``."""
        prefix = prefix.upper()
        for i, symbol in enumerate(self._order):
            if symbol.startswith(prefix):
                self._set_cursor(i)
                return True
        return False

    def add(self, symbol: str) -> bool:
        """Append ``symbol`` (or just select it if present); returns whether it was new."""
        if symbol in self._rows:
            self.select_symbol(symbol)
            return False
        self.insert(symbol, len(self._symbols))
        return True

    def insert(self, symbol: str, index: int) -> None:
        """Put ``symbol`` back at manual position ``index`` and select it (used by undo)."""
        if symbol in self._rows:
            return
        self._symbols.insert(max(0, min(index, len(self._symbols))), symbol)
        self._rows[symbol] = _Row()
        self._reorder(symbol)
        self._changed()

    def remove_selected(self) -> tuple[str, int] | None:
        """Remove the selected symbol; returns ``(symbol, manual index)`` for undo."""
        symbol = self.selected
        if symbol is None:
            return None
        index = self._symbols.index(symbol)
        del self._symbols[index]
        del self._rows[symbol]
        pos = self._order.index(symbol)
        self._order.remove(symbol)
        # The cursor on the neighbour now: the re-sort reads the selection through it, and
        # past the end of the list (the last row removed) that raised IndexError.
        self._cursor = max(0, min(pos, len(self._order) - 1))
        neighbour = self._order[self._cursor] if self._order else None
        self._reorder(neighbour)
        self._changed()
        return symbol, index

    def move_selected(self, delta: int) -> bool:
        """Reorder: move the selected symbol up/down in the manual order (manual sort only)."""
        symbol = self.selected
        if symbol is None or self.sort_key is not None:
            return False
        i = self._symbols.index(symbol)
        j = i + delta
        if not 0 <= j < len(self._symbols):
            return False
        self._symbols[i], self._symbols[j] = self._symbols[j], self._symbols[i]
        self._reorder(symbol)
        self._changed()
        return True

    def set_sort(self, key: str | None, descending: bool = True) -> None:
        """Sort by a column key (see :data:`COLUMN_KEYS`), or ``None`` for manual order."""
        if key is not None and key not in COLUMN_KEYS:
            raise ValueError(f"unknown column {key!r}")
        changed = (key, descending) != (self.sort_key, self.sort_desc)
        self.sort_key = key
        self.sort_desc = descending
        self._header = None
        self._reorder(self.selected)
        if changed:
            self.post_message(self.ViewChanged())

    def cycle_sort(self) -> None:
        """Manual → each shown column in turn (numbers high-first, symbol A→Z) → manual.

        Columns hidden at this width are skipped: sorting by one would reorder the
        list for no reason the user can see.
        """
        keys: list[str | None] = [None, *COLUMN_KEYS]
        start = keys.index(self.sort_key) + 1
        shown = self.visible_columns
        nxt = next((k for k in keys[start:] if k in shown), None)  # none left: manual
        self.set_sort(nxt, descending=nxt != "symbol")

    def reverse_sort(self) -> None:
        if self.sort_key is not None:
            self.set_sort(self.sort_key, not self.sort_desc)

    def sort_label(self) -> str:
        if self.sort_key is None:
            return "manual order"
        if self.sort_key == "symbol":
            direction = "Z→A" if self.sort_desc else "A→Z"
        else:
            direction = "high→low" if self.sort_desc else "low→high"
        return f"sorted by {COLUMN_TITLES[self.sort_key]} {direction}"

    # -- ordering -------------------------------------------------------------------------------

    def _sort_value(self, symbol: str) -> tuple[int, float | str]:
        key = self.sort_key
        if key == "symbol":
            return (0, symbol)
        value = self._rows[symbol].values.get(key or "")
        # Missing values always sink to the bottom, whatever the direction.
        if value is None:
            return (1, 0.0)
        return (0, -value if self.sort_desc else value)

    def _resort(self, now_ms: int) -> bool:
        self._last_sort_ms = now_ms
        if self.sort_key is None:
            new = list(self._symbols)
        else:
            new = sorted(self._symbols, key=self._sort_value)
            if self.sort_key == "symbol" and self.sort_desc:
                new.reverse()
        if new == self._order:
            return False
        keep = self.selected
        self._order = new
        if keep in new:  # a whole new list (another watchlist) need not hold it
            self._cursor = new.index(keep)
        return True

    def _reorder(self, keep: str | None) -> None:
        self._resort(self._last_sort_ms)
        self._order = [s for s in self._order if s in self._rows] or list(self._symbols)
        if keep in self._order:
            self._cursor = self._order.index(keep)
        self._cursor = max(0, min(self._cursor, len(self._order) - 1))
        for row in self._rows.values():
            row.strip = None
        self._header = None
        self._sync_size()
        self._scroll_to_cursor()
        self.refresh()
        self._post_selected()

    def _set_cursor(self, index: int) -> None:
        if index == self._cursor:
            return
        old = self._cursor
        self._cursor = index
        self.refresh_line(old + 1)
        self.refresh_line(index + 1)
        self._scroll_to_cursor()
        self._post_selected()

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False)

    def _post_selected(self) -> None:
        symbol = self.selected
        if symbol != self._selected_sent:
            self._selected_sent = symbol
            for listener in tuple(self.selection_listeners):
                listener(symbol)
            self.post_message(self.Selected(symbol))

    def _changed(self) -> None:
        self.post_message(self.Changed(self.symbols))

    def _sync_size(self) -> None:
        totals = 1 if self.pnl is not None else 0
        self.virtual_size = Size(self.size.width, len(self._order) + 1 + totals)

    # -- cells ------------------------------------------------------------------------------------

    def _update_row(self, symbol: str, row: _Row, st: SymbolState | None, now_ms: int) -> None:
        if st is None:
            return
        values = {
            c.key: _num(st, c.key)
            for c in COLUMNS
            if c.key != "symbol" and not c.pnl and not c.extended
        }
        # Outside regular hours the day's change stays the regular session's (see
        # market/extended.py) and the extended-hours move gets its own cell.
        move = extended_move(st)
        if move is not None and move.regular_change is not None:
            values["change"], values["change_pct"] = move.regular_change, move.regular_change_pct
        values["extended"] = None if move is None else move.change_pct
        ref = values["last"] or values["bid"] or values["ask"]
        # every price-like cell as precise as the price (forex to fractional pips)
        d = symbol_decimals(symbol, ref) if ref else None
        texts = {
            "last": fmt_price(values["last"], d),
            "change": fmt_change(values["change"], d),
            "change_pct": fmt_pct(values["change_pct"]),
            "bid": fmt_price(values["bid"], d),
            "ask": fmt_price(values["ask"], d),
            "spread": fmt_price(values["spread"], d),
            "volume": fmt_volume(values["volume"]),
            "vwap": fmt_price(values["vwap"], d),
            "extended": "" if move is None else f"{move.label} {fmt_pct(move.change_pct)}",
        }
        if row.has_data and self.flashes:
            for key, text in texts.items():
                old, new = row.values.get(key), values[key]
                if text != row.texts.get(key) and old is not None and new is not None:
                    row.flash[key] = (now_ms + FLASH_MS, 1 if new > old else -1)
        if self.pnl is not None:  # after the flashes: P&L moves with every price
            pnl = self.pnl(symbol, st)
            values.update(pnl)
            texts.update(pnl_texts(pnl))
        row.texts = texts
        row.values = values
        row.has_data = values["last"] is not None or values["bid"] is not None
        row.tick = int(getattr(st, "tick", 0) or 0)
        row.halted = bool(getattr(st, "halted", False))
        change = values["change"]
        row.sign = 0 if not change else (1 if change > 0 else -1)

    # -- rendering --------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"watchlist--{name}")
        return style

    def notify_style_update(self) -> None:
        """Theme or CSS changed: every cached style and strip is out of date."""
        super().notify_style_update()
        self._styles.clear()
        self._header = None
        for row in self._rows.values():
            row.strip = None

    def on_resize(self, _event: events.Resize) -> None:
        # the content width: no border, no scrollbar
        columns = self._fit(self.size.width)
        if columns != self._columns:
            self._columns = columns
            for row in self._rows.values():
                row.strip = None
            self._header = None
        self._sync_size()
        self._scroll_to_cursor()

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor_to(int(self.scroll_y) + event.y - 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            if self._header is None:
                self._header = self._render_header(width)
            return self._header
        index = int(self.scroll_y) + y - 1
        if index == len(self._order) and self.pnl is not None:
            return self._render_totals(width)
        if index >= len(self._order):
            return Strip.blank(width, self.rich_style)
        symbol = self._order[index]
        row = self._rows[symbol]
        if row.strip is None:
            self._build_row(symbol, row, width)
        assert row.strip is not None
        if index == self._cursor:
            return row.strip.apply_style(self._style("cursor"))
        return row.strip

    def _render_totals(self, width: int) -> Strip:
        """The sum of the rows' position figures (see market/positions.py ``totals``)."""
        texts = totals_texts([self._rows[s].values for s in self._order])
        style = self.rich_style + self._style("header")
        segments = [Segment(" " * MARK_WIDTH, style)]
        for i, (col, w) in enumerate(self._columns):
            cell = "Total".ljust(w) if col.key == "symbol" else texts.get(col.key, "").rjust(w)
            segments.append(Segment((" " if i else "") + cell[-w:], style))
        return Strip(segments).adjust_cell_length(width, style)

    def _render_header(self, width: int) -> Strip:
        style = self.rich_style + self._style("header")
        up, down = ("^", "v") if self._ascii else ("▲", "▼")
        segments = [Segment(" " * MARK_WIDTH, style)]
        for i, (col, w) in enumerate(self._columns):
            title = col.title
            if col.key == self.sort_key:
                title += down if self.sort_desc else up
            cell = title.ljust(w) if col.key == "symbol" else title.rjust(w)
            segments.append(Segment((" " if i else "") + cell[:w], style))
        return Strip(segments).adjust_cell_length(width, style)

    def _build_row(self, symbol: str, row: _Row, width: int) -> None:
        """Set ``row.strip`` and ``row.cells`` (one segment a cell, so a cell can repaint alone)."""
        base = self.rich_style
        live = self._feed_live
        stale = row.stale or not (live(symbol) if callable(live) else live)
        if stale:
            base = base + self._style("stale")
        direction = {1: "up", -1: "down", 0: "neutral"}
        mark, mark_style = " ", base
        if row.halted:
            mark, mark_style = "H", base + self._style("down")
        elif not row.has_data:
            mark, mark_style = ("." if self._ascii else "·"), base + self._style("stale")
        elif stale:
            mark, mark_style = "~", base + self._style("stale")
        segments = [Segment(mark, mark_style)]
        cells = [(0, MARK_WIDTH, mark, mark_style)]
        x = MARK_WIDTH
        for i, (col, w) in enumerate(self._columns):
            gap = " " if i else ""
            if col.key == "symbol":
                text = symbol[:w].ljust(w)
                style = base
            else:
                text = row.texts.get(col.key, "")[-w:].rjust(w)
                style = base
                if col.key == "last":
                    style = base + self._style(direction[row.tick])
                elif col.key in ("change", "change_pct"):
                    style = base + self._style(direction[row.sign])
                elif col.key in PNL_SIGNED or col.key == "extended":
                    value = row.values.get(col.key) or 0.0
                    style = base + self._style(direction[(value > 0) - (value < 0)])
                flash = row.flash.get(col.key)
                if flash is not None:
                    style = style + self._style("flash-up" if flash[1] > 0 else "flash-down")
            if gap:
                segments.append(Segment(gap, base))
                x += len(gap)
            segments.append(Segment(text, style))
            cells.append((x, w, text, style))
            x += w
        row.strip = Strip(segments).adjust_cell_length(width, base)
        row.cells = tuple(cells)

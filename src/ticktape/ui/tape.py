"""TapeView: time & sales (or quotes), newest on top, a Line-API view over the tape rings.

See docs/ui.md (panes: tape) and docs/performance.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as TextualStyle
from textual.theme import Theme

from ticktape.timeutil import EXCHANGE_TZ, format_hms_ms
from ticktape.ui.format import fmt_price, is_crypto, is_forex, size_decimals, symbol_decimals
from ticktape.ui.themes import theme_colour

if TYPE_CHECKING:
    from ticktape.market import MarketState

#: A trade at least this many shares, or this notional, is a block.
BLOCK_SIZE = 10_000
BLOCK_NOTIONAL = 200_000.0


class MarkedLine(NamedTuple):
    """A row that is no trade or quote (a fired alert): its text across the row, bold."""

    text: str


class Ring(Protocol):
    """The part of a ``market`` ring (``TradeTape``/``QuoteTape``) the tape reads."""

    @property
    def seq(self) -> int: ...
    def since(self, seq: int) -> int: ...
    def entries_since(self, seq: int) -> Sequence[Any]: ...
    def newest(self, limit: int | None = None) -> Sequence[Any]: ...


def is_block(price: float, size: float) -> bool:
    """Blocks by size or by notional (a 1,000-share trade of a $250 stock is one)."""
    return size >= BLOCK_SIZE or price * size >= BLOCK_NOTIONAL


def fmt_size(size: float, decimals: int | None = None) -> str:
    """Whole shares with separators; crypto sizes with ``decimals`` (the symbol's, fixed).

    Without ``decimals`` a fractional size keeps six significant digits.
    """
    if decimals is not None:
        return f"{size:,.{decimals}f}"
    if float(size).is_integer():
        return f"{int(size):,}"
    return f"{size:.6g}"


class TapeStyle(NamedTuple):
    """Rich styles for tape rows; filled from the Textual theme."""

    up: Style = Style(color="green")
    down: Style = Style(color="red")
    neutral: Style = Style()
    muted: Style = Style(dim=True)
    block: Style = Style(bold=True, reverse=True)
    odd_lot: Style = Style(dim=True)
    header: Style = Style(bold=True)
    paused: Style = Style(color="yellow", bold=True, reverse=True)


def tape_style_from_theme(variables: dict[str, str]) -> TapeStyle:
    """Tape colours from theme variables (``$up``/``$down``/``$neutral``/``$block`` if present)."""
    background = theme_colour(variables, "background", default="black")
    block = theme_colour(variables, "block", "warning", default="yellow")
    return TapeStyle(
        up=Style(color=theme_colour(variables, "up", "success", default="green").rich_color),
        down=Style(color=theme_colour(variables, "down", "error", default="red").rich_color),
        neutral=Style(
            color=theme_colour(variables, "neutral", "foreground", default="white").rich_color
        ),
        muted=Style(
            color=(
                background + theme_colour(variables, "foreground-muted", default="#7F7F7F")
            ).rich_color
        ),
        block=Style(bold=True, bgcolor=background.blend(block, 0.3).rich_color),
        odd_lot=Style(dim=True),
        header=Style(bold=True),
        paused=Style(
            bold=True,
            color=background.rich_color,
            bgcolor=theme_colour(variables, "warning", default="yellow").rich_color,
        ),
    )


class Column(NamedTuple):
    """One tape column; rows and the title line are both built from the same list.

    ``drop`` ranks what goes first when the pane is too narrow for every column:
    0 is always shown; otherwise the highest rank is dropped whole (all columns
    of that rank together, so bid and ask sizes leave as a pair) — a missing
    column reads better than a cut title or a number without its digits.
    """

    key: str
    title: str
    width: int  # cells of the value; 0 = the rest of the line (last column only)
    align: str  # "<" or ">"
    drop: int
    gap: int = 1  # blank cells before it (none before the first column shown)


#: Trades: price and size always; then, as the pane narrows, conditions, exchange,
#: time and the side letter go (colour still tells the side).
TRADE_COLUMNS: Final = (
    Column("time", "Time", 12, "<", 3, gap=0),
    Column("symbol", "Symbol", 7, "<", 1),
    Column("price", "Price", 10, ">", 0),
    Column("size", "Size", 8, ">", 0),
    Column("side", "", 1, "<", 2),
    Column("exchange", "Ex", 3, ">", 4),
    Column("conditions", "Cond", 0, "<", 5),
)
#: Cells added to the trade size column for crypto, whose sizes carry decimals.
CRYPTO_SIZE_EXTRA: Final = 2
#: Quotes, as in a quote montage: the prices face each other across the ``×`` (bid
#: right-aligned, ask left-aligned), every other number right-aligned under its title.
#: Narrow: the spread goes first (it is ask − bid), then time; sizes last, as a pair.
QUOTE_COLUMNS: Final = (
    Column("time", "Time", 12, "<", 4, gap=0),
    Column("bid_size", "BidSz", 7, ">", 3),
    Column("bid", "Bid", 10, ">", 0),
    Column("times", "×", 1, "<", 0),
    Column("ask", "Ask", 10, "<", 0),
    Column("ask_size", "AskSz", 7, ">", 3),
    Column("spread", "Spread", 8, ">", 5),
)

#: column key → (text, style) for one row.
Cells = dict[str, tuple[str, Style]]


def columns_width(columns: Sequence[Column]) -> int:
    """Cells needed to show ``columns`` (a last, open-ended column needs its title)."""
    return sum((c.gap if i else 0) + (c.width or len(c.title)) for i, c in enumerate(columns))


def fit_columns(columns: Sequence[Column], width: int) -> tuple[Column, ...]:
    """The columns that fit ``width``, dropping whole ranks, highest first."""
    kept = list(columns)
    for rank in sorted({c.drop for c in columns if c.drop}, reverse=True):
        if columns_width(kept) <= width:
            break
        kept = [c for c in kept if c.drop != rank]
    return tuple(kept)


def row_segments(columns: Sequence[Column], cells: Cells) -> list[Segment]:
    """One line of ``cells`` laid out in ``columns``."""
    segs = []
    for i, col in enumerate(columns):
        text, style = cells[col.key]
        if col.width:
            text = f"{text:{col.align}{col.width}}"
        segs.append(Segment(" " * col.gap + text if i else text, style))
    return segs


def header_segments(columns: Sequence[Column], style: Style, times: str = "×") -> list[Segment]:
    """The title line, aligned like the rows (titles sit where their values do)."""
    titles = {c.key: (times if c.key == "times" else c.title, style) for c in columns}
    return row_segments(columns, titles)


def trade_cells(entry: Any, style: TapeStyle, tz: str, size_dp: int | None = None) -> Cells:
    """A trade's cells: coloured by where it hit the quote, blocks bold, odd lots dim.

    ``size_dp``: the symbol's decimals for fractional (crypto) sizes, so they line up.
    """
    side = entry.side if entry.side in ("B", "S") else "M"
    colour = style.up if side == "B" else style.down if side == "S" else style.neutral
    if is_block(entry.price, entry.size):
        colour = colour + style.block
    elif entry.odd_lot:
        colour = colour + style.odd_lot
    return {
        "time": (format_hms_ms(entry.time_ms, tz), style.muted),
        "symbol": (entry.symbol[:7], colour),
        "price": (fmt_price(entry.price, symbol_decimals(entry.symbol, entry.price)), colour),
        "size": (fmt_size(entry.size, size_dp), colour),
        "side": (side if side != "M" else " ", colour),
        "exchange": (str(entry.exchange), style.muted),
        "conditions": (",".join(str(c) for c in entry.conditions), style.muted),
    }


def quote_cells(entry: Any, style: TapeStyle, tz: str, times: str = "×") -> Cells:
    """A quote's cells, every price in the quote's own decimals (spread 0.03, not 0.0300).

    Forex quotes carry no sizes (the state stores 0): those cells stay blank.
    """
    d = symbol_decimals(entry.symbol, entry.ask or entry.bid)
    spread = ""
    if entry.bid and entry.ask:
        spread = fmt_price(entry.ask - entry.bid, d)
    sized = not is_forex(entry.symbol)
    return {
        "time": (format_hms_ms(entry.time_ms, tz), style.muted),
        "bid_size": (fmt_size(entry.bid_size) if sized else "", style.muted),
        "bid": (fmt_price(entry.bid, d), style.up),
        "times": (times, style.muted),
        "ask": (fmt_price(entry.ask, d), style.down),
        "ask_size": (fmt_size(entry.ask_size) if sized else "", style.muted),
        "spread": (spread, style.neutral),
    }


class TapeView(ScrollView, can_focus=True):
    """Trades or quotes, newest first; see the module docstring for why it is built this way."""

    DEFAULT_CSS = """
    TapeView {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        border-top: solid $panel-lighten-2;
        border-title-color: $text-muted;
        border-title-style: bold;
    }
    TapeView.-ascii {
        border-top: ascii $panel-lighten-2;
    }
    """

    mode: reactive[str] = reactive("trades")
    scope_all: reactive[bool] = reactive(False)
    min_size: reactive[int] = reactive(0)
    paused: reactive[bool] = reactive(False)

    def __init__(
        self,
        *,
        max_rows: int = 2_000,
        tz: str = EXCHANGE_TZ,
        ascii_only: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.tz = tz
        if ascii_only:
            self.add_class("-ascii")
        # "x", ">=" and "|" stand in for "×", "≥" and "·" with --ascii
        self._times, self._ge, self._dot = ("x", ">=", "|") if ascii_only else ("×", "≥", "·")
        self.max_rows = max_rows  # rows kept for scroll-back: the newest N of the ring
        #: Live rows repaint at most this often (seconds; 0: every frame). What arrives in
        #: between waits in the ring and lands in one batch (the low-bandwidth profile).
        self.interval = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self._painted_at = float("-inf")
        self.pending = 0  # matching entries that arrived while paused
        self._rows: list[Any] = []  # oldest first
        self._strips: list[Strip | None] = []
        self._key: Hashable = None
        self._seq = 0
        self._state: MarketState | None = None
        self._symbol: str | None = None
        self._style = TapeStyle()
        self._header: Strip | None = None
        self._columns: tuple[Column, ...] = ()
        self._layout: Hashable = None
        self._label_key: Hashable = None
        self._label = Content()
        self._rows_for: str | None = None  # the symbol the rows belong to (None: all symbols)
        self._size_dp: dict[str, int] = {}  # crypto symbol → size decimals, fixed at first sight
        #: The symbol whose rows were last painted on screen (None: the all-symbol tape);
        #: lets a caller see a switch land without hooking into rendering.
        self.painted_symbol: str | None = None
        #: (mode, symbol) → the subscription the server refused for it, or None; set by
        #: the app, so an empty tape can say the plan lacks the data, not "not yet".
        self.refusal: Callable[[str, str], str | None] | None = None

    def on_mount(self) -> None:
        self._restyle(self.app.current_theme)
        self.app.theme_changed_signal.subscribe(self, self._restyle)

    def _restyle(self, _theme: Theme) -> None:
        self._style = tape_style_from_theme(self.app.theme_variables)
        self._strips = [None] * len(self._rows)
        self._header = None
        self._label_key = None
        self._update_label()
        self.refresh()

    # -- data -------------------------------------------------------------------------------------

    def _ring(self, state: MarketState, symbol: str | None) -> Ring | None:
        if self.mode == "trades" and self.scope_all:
            return state.tape
        sym = state.get(symbol) if symbol else None
        if sym is None:
            return None
        return sym.quotes if self.mode == "quotes" else sym.trades

    def _matches(self, entries: Iterable[Any]) -> list[Any]:
        if self.mode != "trades" or self.min_size <= 0:
            return list(entries)
        floor = self.min_size
        return [e for e in entries if e.size >= floor]

    def show(self, state: MarketState, symbol: str | None) -> None:
        """Called each frame by the app: read what is new in the ring, redraw if anything is."""
        self._state, self._symbol = state, symbol
        ring = self._ring(state, symbol)
        # the all-symbol tape does not depend on the selection: switching keeps its rows
        selected = None if self._with_symbol else symbol
        key = (self.mode, self.scope_all, selected, self.min_size, id(ring))
        if key != self._key or (ring is not None and ring.seq < self._seq):
            self._key, self._rows_for = key, selected
            self._rebuild(ring)
            self._update_label()
            return
        if ring is None or ring.seq == self._seq:
            return
        if self.paused:  # only count: the rows stay put so the user can scroll back
            fresh = self._matches(ring.entries_since(self._seq)) if self.min_size > 0 else None
            self.pending += ring.since(self._seq) if fresh is None else len(fresh)
            self._seq = ring.seq
            self._update_label()  # "N new" in the title; the rows are not touched
            return
        now = self.clock()
        if now - self._painted_at < self.interval:
            return  # not yet: the ring keeps what came, the next paint takes it all
        self._painted_at = now
        # Live: only the newest max_rows can ever be shown, so never decode more than that.
        skip = max(self._seq, ring.seq - self.max_rows)
        fresh = self._matches(ring.entries_since(skip))
        self._seq = ring.seq
        if not fresh:
            return
        self._rows.extend(fresh)
        self._strips.extend([None] * len(fresh))
        if len(self._rows) > self.max_rows * 5 // 4:  # trim in chunks, not every frame
            del self._rows[: -self.max_rows]
            del self._strips[: -self.max_rows]
        self._resized()

    def mark(self, text: str) -> None:
        """Put a marked line on top (a fired alert); it goes when the rows are rebuilt.

        Paused, the rows stay put for reading back, so nothing is added."""
        if self.paused:
            return
        self._rows.append(MarkedLine(text))
        self._strips.append(None)
        self._resized()

    def _rebuild(self, ring: Ring | None) -> None:
        self.pending = 0
        if ring is None:
            self._rows, self._seq = [], 0
        else:
            limit = self.max_rows if self.min_size <= 0 else None
            self._rows = self._matches(reversed(ring.newest(limit)))[-self.max_rows :]
            self._seq = ring.seq
        self._strips = [None] * len(self._rows)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._resized()
        self.refresh()  # another symbol or mode: the whole pane, border and scroll bar too

    def _resized(self) -> None:
        """Repaint the rows, and size the scroll range to them.

        A new ``virtual_size`` makes Textual lay out and repaint the whole
        screen (~20 ms at 160×48). While live the user is at the top and rows
        arrive every frame, so once they overflow the pane the range is simply
        ``max_rows`` (the same for every busy symbol, so a switch keeps it too);
        paused, for reading back, it is exact.
        """
        rows = len(self._rows)
        if not self.paused and rows >= self.size.height:
            rows = self.max_rows
        size = Size(self.size.width, rows + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        self._refresh_rows()

    def _refresh_rows(self) -> None:
        """Repaint the lines inside the border, not the border or the scroll bar.

        A plain ``refresh()`` repaints the whole widget: the top border with its
        title (a line of box-drawing glyphs, three bytes each) and every cell of
        the scroll bar, which do not move while rows arrive.
        """
        region = self.scrollable_content_region
        self.refresh(Region(0, 0, region.width, region.height))

    def _show_again(self) -> None:
        self._key = None
        if self._state is not None:
            self.show(self._state, self._symbol)
        self._update_label()

    def watch_mode(self) -> None:
        self._show_again()

    def watch_scope_all(self) -> None:
        self._show_again()

    def watch_min_size(self) -> None:
        self._show_again()

    def watch_paused(self, paused: bool) -> None:
        if paused:
            self._resized()  # the exact scroll range: the oldest row ends it
        else:  # catch up from the ring and jump back to the newest trade
            self._show_again()
        self._update_label()

    def validate_mode(self, mode: str) -> str:
        return mode if mode in ("trades", "quotes") else "trades"

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(new_value) > 0 and not self.paused:
            self.paused = True  # scrolling back means reading: hold the rows still

    def toggle_pause(self) -> None:
        """Pause (freeze and allow scroll-back) or resume (jump to the newest)."""
        self.paused = not self.paused

    # -- rendering --------------------------------------------------------------------------------

    @property
    def _with_symbol(self) -> bool:
        return self.scope_all and self.mode == "trades"

    @property
    def label(self) -> str:
        """The tape's title as the user reads it, e.g. ``PAUSED · 12 new AAPL trades``."""
        return self._label.plain

    def _update_label(self) -> None:
        """The title on the tape's top border: what it shows, and the pause badge.

        In the border rather than beside the column titles so it never hides one;
        the badge comes first, so a narrow pane truncates the symbol, not the badge.
        """
        what = "ALL" if self._with_symbol else self._symbol
        size = self.min_size if self.mode == "trades" else 0
        key = (what, self.mode, size, self.paused, self.pending)
        if key == self._label_key:
            return
        self._label_key = key
        # wire text: plain Content, never markup
        text = f" {what} {self.mode}" if what else f" {self.mode} {self._dot} no symbol selected"
        if size > 0:
            text += f" {self._dot} {self._ge}{size:,}"
        text += " "
        parts: list[str | Content] = [Content(text)]
        if self.paused:
            badge_style = TextualStyle.from_rich_style(self._style.paused)
            badge = Content.styled(f" PAUSED {self._dot} {self.pending:,} new ", badge_style)
            parts.insert(0, badge)
        old = self._label
        self._label = Content.assemble(*parts)
        self._set_title(self._label, max(old.cell_length, self._label.cell_length))

    def _set_title(self, title: Content, width: int) -> None:
        """Put ``title`` on the top border and repaint only the cells it covers.

        Why not only ``border_title = title``: Textual's setter repaints the whole
        widget, and while paused the "N new" count changes every frame; the rows
        and the rest of the border stay as they are.
        """
        if not hasattr(self, "_border_title") or not self.is_mounted:
            self.border_title = title  # Textual's own way: the whole widget repaints
            return
        self._border_title = self.render_str(title).expand_tabs(4).split()[0]
        # the border line is just above the content; the title starts a cell or two in
        self.refresh(Region(0, -1, min(self.outer_size.width, width + 4), 1))

    def _fit(self, width: int) -> tuple[Column, ...]:
        """The columns shown at ``width``; a new layout rebuilds the cached lines."""
        crypto = is_crypto(self._symbol or "")  # one market a session: the selection tells
        layout = (self.mode, self._with_symbol, width, crypto)
        if layout != self._layout:
            self._layout = layout
            if self.mode == "quotes":
                columns: Sequence[Column] = QUOTE_COLUMNS
            else:
                columns = [
                    # fractional sizes (12.50000) need room to stay clear of the price
                    c._replace(width=c.width + CRYPTO_SIZE_EXTRA)
                    if crypto and c.key == "size"
                    else c
                    for c in TRADE_COLUMNS
                    if self._with_symbol or c.key != "symbol"
                ]
            self._columns = fit_columns(columns, width)
            self._strips = [None] * len(self._rows)
            self._header = None
        return self._columns

    def _row_strip(self, index: int) -> Strip:
        strip = self._strips[index]
        if strip is None:
            row, style = self._rows[index], self._style
            if isinstance(row, MarkedLine):  # wire text: verbatim in a Segment, never markup
                strip = self._strips[index] = Strip([Segment(row.text, style.header)])
                return strip
            if self.mode == "quotes":
                cells = quote_cells(row, style, self.tz, self._times)
            else:
                cells = trade_cells(row, style, self.tz, self._size_decimals(row))
            strip = self._strips[index] = Strip(row_segments(self._columns, cells))
        return strip

    def _size_decimals(self, trade: Any) -> int | None:
        """A crypto symbol's size decimals, chosen once so every row of it lines up."""
        symbol = trade.symbol
        if not is_crypto(symbol):
            return None
        dp = self._size_dp.get(symbol)
        if dp is None:
            dp = self._size_dp[symbol] = size_decimals(trade.price)
        return dp

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        self._fit(width)
        if y == 0:
            self.painted_symbol = self._rows_for
            if self._header is None:
                segs = header_segments(self._columns, self._style.header, self._times)
                self._header = Strip(segs)
            return self._header.crop_extend(0, width, None).apply_style(base)
        line = self.scroll_offset.y + y - 1
        if line >= len(self._rows):
            if line == 0 and y == 1:
                text = self._empty_text()
                empty = Strip([Segment(text, self._style.muted)])
                return empty.crop_extend(0, width, None).apply_style(base)
            return Strip.blank(width, base)
        strip = self._row_strip(len(self._rows) - 1 - line)
        return strip.crop_extend(0, width, None).apply_style(base)

    def _empty_text(self) -> str:
        symbol = self._rows_for
        refused = self.refusal(self.mode, symbol) if self.refusal and symbol else None
        if refused:
            return f"{self.mode} are not in your plan: the server refused {refused}"
        if self.mode == "trades" and symbol and is_forex(symbol):
            return "forex has no trades: t shows its quotes"  # a mixed list meets this often
        return "no quotes yet" if self.mode == "quotes" else "no trades yet"

    @property
    def visible_text(self) -> list[str]:
        """What the user sees, one string a line (for tests)."""
        return [self.render_line(y).text for y in range(self.size.height)]

"""TapeView: time & sales (or quotes) for the selected symbol or all symbols, newest on top.

Why a Line-API ``ScrollView`` (the toolong shape) and not ``RichLog``/``DataTable``:
trades arrive by the thousand per second, but only the few dozen visible rows
are ever drawn. Each row's Strip is built once, the first time it is seen, and
kept with the row; a frame only appends the ring entries whose sequence
number is newer than the last one read (``ring.since(seq)``), so the cost of a
frame is the new rows plus the visible lines, never the whole tape.

Paused (``space``, or by scrolling away from the top), the rows stop moving
so the user can read back, and the header counts the matching entries that
arrived meanwhile ("N new"); resuming rebuilds from the ring, which holds the
newest entries, and jumps back to the top.

Colours say where a trade hit the quote: at/above the ask (``B``) in the up
colour, at/below the bid (``S``) in the down colour, in between (``M``) neutral;
the side letter is printed too, so the tape reads without colour (``NO_COLOR``).
Blocks (≥ 10,000 shares or ≥ $200k) are bold on a tinted background, odd lots dim.
Wire text (symbols) goes into Segments verbatim: never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme

from ticktape.timeutil import EXCHANGE_TZ, format_hms_ms
from ticktape.ui.chart import theme_colour
from ticktape.ui.format import fmt_price, price_decimals

if TYPE_CHECKING:
    from ticktape.market import MarketState

#: A trade at least this many shares, or this notional, is a block.
BLOCK_SIZE = 10_000
BLOCK_NOTIONAL = 200_000.0


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


def fmt_size(size: float) -> str:
    """Whole shares with separators; fractional sizes (crypto) to six significant digits."""
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


def trade_segments(entry: Any, style: TapeStyle, *, with_symbol: bool, tz: str) -> list[Segment]:
    """One trade row: time, [symbol], price, size, side, exchange, conditions."""
    side = entry.side if entry.side in ("B", "S") else "M"
    colour = style.up if side == "B" else style.down if side == "S" else style.neutral
    if is_block(entry.price, entry.size):
        colour = colour + style.block
    elif entry.odd_lot:
        colour = colour + style.odd_lot
    conditions = ",".join(str(c) for c in entry.conditions)
    segs = [Segment(format_hms_ms(entry.time_ms, tz) + " ", style.muted)]
    if with_symbol:
        segs.append(Segment(f"{entry.symbol:<7.7}", colour))
    letter = side if side != "M" else " "
    segs.append(Segment(f"{fmt_price(entry.price):>10} {fmt_size(entry.size):>8} {letter}", colour))
    segs.append(Segment(f" {entry.exchange:>3} {conditions}", style.muted))
    return segs


def quote_segments(
    entry: Any, style: TapeStyle, *, with_symbol: bool, tz: str, times: str = "×"
) -> list[Segment]:
    """One quote row: time, [symbol], bid size, bid × ask, ask size, spread.

    As in a quote montage, the two prices face each other across the ``×``
    (bid right-aligned, ask left-aligned) and every other number, both sizes
    included, is right-aligned under a right-aligned title.
    """
    segs = [Segment(format_hms_ms(entry.time_ms, tz) + " ", style.muted)]
    if with_symbol:
        segs.append(Segment(f"{entry.symbol:<7.7}", style.neutral))
    # the spread in the quote's own decimals: 0.03 on a $100 stock, not 0.0300
    spread = ""
    if entry.bid and entry.ask:
        spread = fmt_price(entry.ask - entry.bid, price_decimals(entry.ask))
    segs += [
        Segment(f"{fmt_size(entry.bid_size):>7} ", style.muted),
        Segment(f"{fmt_price(entry.bid):>10}", style.up),
        Segment(f" {times} ", style.muted),
        Segment(f"{fmt_price(entry.ask):<10}", style.down),
        Segment(f" {fmt_size(entry.ask_size):>7}", style.muted),
        Segment(f" {spread:>8}", style.neutral),
    ]
    return segs


def header_text(mode: str, with_symbol: bool, times: str = "×") -> str:
    """Column titles aligned with :func:`trade_segments` / :func:`quote_segments`."""
    sym = f"{'Symbol':<7}" if with_symbol else ""
    if mode == "quotes":
        quote = f"{'Bid':>10} {times} {'Ask':<10} {'AskSz':>7}"
        return f"{'Time':<13}{sym}{'BidSz':>7} {quote} {'Spread':>8}"
    return f"{'Time':<13}{sym}{'Price':>10} {'Size':>8}    Ex Cond"


class TapeView(ScrollView, can_focus=True):
    """Trades or quotes, newest first; see the module docstring for why it is built this way."""

    DEFAULT_CSS = """
    TapeView {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
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
        # "x", ">=" and "|" stand in for "×", "≥" and "·" with --ascii
        self._times, self._ge, self._dot = ("x", ">=", "|") if ascii_only else ("×", "≥", "·")
        self.max_rows = max_rows  # rows kept for scroll-back: the newest N of the ring
        self.pending = 0  # matching entries that arrived while paused
        self._rows: list[Any] = []  # oldest first
        self._strips: list[Strip | None] = []
        self._key: Hashable = None
        self._seq = 0
        self._state: MarketState | None = None
        self._symbol: str | None = None
        self._style = TapeStyle()
        self._header: Strip | None = None

    def on_mount(self) -> None:
        self._restyle(self.app.current_theme)
        self.app.theme_changed_signal.subscribe(self, self._restyle)

    def _restyle(self, _theme: Theme) -> None:
        self._style = tape_style_from_theme(self.app.theme_variables)
        self._strips = [None] * len(self._rows)
        self._header = None
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
            self._key = key
            self._rebuild(ring)
            return
        if ring is None or ring.seq == self._seq:
            return
        if self.paused:  # only count: the rows stay put so the user can scroll back
            fresh = self._matches(ring.entries_since(self._seq)) if self.min_size > 0 else None
            self.pending += ring.since(self._seq) if fresh is None else len(fresh)
            self._seq = ring.seq
            self._header = None
            self.refresh(Region(0, 0, self.size.width, 1))  # only the header's "N new"
            return
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

    def _rebuild(self, ring: Ring | None) -> None:
        self.pending = 0
        self._header = None
        if ring is None:
            self._rows, self._seq = [], 0
        else:
            limit = self.max_rows if self.min_size <= 0 else None
            self._rows = self._matches(reversed(ring.newest(limit)))[-self.max_rows :]
            self._seq = ring.seq
        self._strips = [None] * len(self._rows)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._resized()

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._rows) + 1)
        self.refresh()

    def _show_again(self) -> None:
        self._key = None
        if self._state is not None:
            self.show(self._state, self._symbol)

    def watch_mode(self) -> None:
        self._show_again()

    def watch_scope_all(self) -> None:
        self._show_again()

    def watch_min_size(self) -> None:
        self._show_again()

    def watch_paused(self, paused: bool) -> None:
        if not paused:  # catch up from the ring and jump back to the newest trade
            self._show_again()
        self._header = None
        self.refresh()

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

    def _header_strip(self, width: int) -> Strip:
        if self._header is None:
            style = self._style
            left = header_text(self.mode, self._with_symbol, self._times)
            tags = ["ALL" if self._with_symbol else (self._symbol or "—")]
            if self.mode == "trades" and self.min_size > 0:
                tags.append(f"{self._ge}{self.min_size:,}")
            right = [Segment(" " + f" {self._dot} ".join(tags) + " ", style.muted)]
            if self.paused:
                paused = f" PAUSED {self._dot} {self.pending:,} new "
                right.append(Segment(paused, style.paused))
            right_len = sum(len(s.text) for s in right)
            left = left[: max(0, width - right_len - 1)]
            gap = max(1, width - len(left) - right_len)
            self._header = Strip([Segment(left, style.header), Segment(" " * gap), *right])
        return self._header

    def _row_strip(self, index: int) -> Strip:
        strip = self._strips[index]
        if strip is None:
            row, style, with_symbol = self._rows[index], self._style, self._with_symbol
            if self.mode == "quotes":
                segs = quote_segments(row, style, with_symbol=False, tz=self.tz, times=self._times)
            else:
                segs = trade_segments(row, style, with_symbol=with_symbol, tz=self.tz)
            strip = self._strips[index] = Strip(segs)
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._header_strip(width).crop_extend(0, width, None).apply_style(base)
        line = self.scroll_offset.y + y - 1
        if line >= len(self._rows):
            if line == 0 and y == 1:
                text = "no quotes yet" if self.mode == "quotes" else "no trades yet"
                empty = Strip([Segment(text, self._style.muted)])
                return empty.crop_extend(0, width, None).apply_style(base)
            return Strip.blank(width, base)
        strip = self._row_strip(len(self._rows) - 1 - line)
        return strip.crop_extend(0, width, None).apply_style(base)

    @property
    def visible_text(self) -> list[str]:
        """What the user sees, one string a line (for tests)."""
        return [self.render_line(y).text for y in range(self.size.height)]

"""ChartView: the live candle chart of the selected symbol, redraws throttled.

See docs/ui.md (the chart).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget

from ticktape.markethours import in_regular_hours
from ticktape.timeutil import EXCHANGE_TZ
from ticktape.ui.candles import (
    ASCII,
    UNICODE,
    ChartStyle,
    render_candles,
)
from ticktape.ui.format import fmt_price, fmt_volume, is_crypto, is_forex, symbol_decimals
from ticktape.ui.themes import theme_colour

if TYPE_CHECKING:
    from ticktape.market import Bar, MarketState, SymbolState

TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h", "1D")

_NEVER = object()


class RedrawThrottle:
    """Decides whether a frame should redraw, given what is shown and a token of the data.

    ``view`` changing (symbol, timeframe, size, …) → redraw now. Only ``data``
    changing → redraw if at least ``interval`` seconds passed since the last
    redraw; otherwise the change waits for a later frame (the caller asks again).
    """

    def __init__(self, interval: float = 0.3, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._view: object = _NEVER
        self._data: object = _NEVER
        self._last = float("-inf")

    def should_redraw(self, view: Hashable, data: Hashable) -> bool:
        """True if the caller should redraw now; the redraw is then taken as done."""
        now = self._clock()
        if view == self._view and (data == self._data or now - self._last < self.interval):
            return False
        self._view, self._data, self._last = view, data, now
        return True

    def invalidate(self) -> None:
        """Force the next :meth:`should_redraw` to say yes (e.g. after a theme change)."""
        self._view = _NEVER


def outside_regular_hours(symbol: str, timeframe: str) -> Callable[[int], bool] | None:
    """Which intraday stock bars to dim: those starting outside the regular session.

    Forex and crypto have no extended hours, and a daily bar is the whole day.
    """
    if timeframe == "1D" or is_forex(symbol) or is_crypto(symbol):
        return None
    return lambda start_ms: not in_regular_hours(start_ms)


def chart_style_from_theme(variables: dict[str, str]) -> ChartStyle:
    """Chart colours from theme variables: ``$up``/``$down`` if present, else success/error.

    Volume bars are the candle colours blended halfway into the background, so
    they read as secondary without relying on the terminal's ``dim``.
    """
    up = theme_colour(variables, "up", "success", default="green")
    down = theme_colour(variables, "down", "error", default="red")
    background = theme_colour(variables, "background", default="black")
    # foreground-muted is translucent: composite it over the background for a solid colour
    muted = background + theme_colour(variables, "foreground-muted", "foreground", default="grey")
    band = theme_colour(variables, "block", "warning", default="yellow")
    return ChartStyle(
        up=Style(color=up.rich_color),
        down=Style(color=down.rich_color),
        volume_up=Style(color=background.blend(up, 0.55).rich_color),
        volume_down=Style(color=background.blend(down, 0.55).rich_color),
        axis=Style(color=muted.rich_color),
        last_line=Style(color=background.blend(muted, 0.5).rich_color),
        band=Style(color=band.rich_color),
        extended_up=Style(color=background.blend(up, 0.5).rich_color),
        extended_down=Style(color=background.blend(down, 0.5).rich_color),
    )


class ChartView(Widget):
    """Candles with volume for one symbol and timeframe; see the module docstring."""

    DEFAULT_CSS = """
    ChartView {
        height: 1fr;
        min-height: 6;
    }
    """

    timeframe: reactive[str] = reactive("1m")

    def __init__(
        self,
        *,
        interval: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
        tz: str = EXCHANGE_TZ,
        ascii_only: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.throttle = RedrawThrottle(interval, clock)
        self.tz = tz
        self.glyphs = ASCII if ascii_only else UNICODE
        self.redraws = 0  # real redraws, as opposed to show() calls (tests read it)
        #: The symbol of the chart last painted on screen (set as its first line is rendered):
        #: lets a caller see a switch land without hooking into rendering.
        self.painted_symbol: str | None = None
        self._drawn_symbol: str | None = None
        self._state: MarketState | None = None
        self._symbol: str | None = None
        self._loading = False
        self._style = ChartStyle()
        self._lines: list[Strip] = []

    def on_mount(self) -> None:
        self._restyle(self.app.current_theme)
        self.app.theme_changed_signal.subscribe(self, self._restyle)

    def _restyle(self, _theme: Theme) -> None:
        self._style = chart_style_from_theme(self.app.theme_variables)
        self.throttle.invalidate()
        self._show_again()

    def show(self, state: MarketState, symbol: str | None, *, loading: bool = False) -> None:
        """Called each frame by the app; redraws only when needed (see :class:`RedrawThrottle`)."""
        self._state, self._symbol, self._loading = state, symbol, loading
        sym = state.get(symbol) if symbol else None
        view = (symbol, self.timeframe, loading, self.size.width, self.size.height)
        if self.throttle.should_redraw(view, sym.version if sym else None):
            self._redraw()

    def _show_again(self) -> None:
        if self._state is not None:
            self.show(self._state, self._symbol, loading=self._loading)

    def validate_timeframe(self, timeframe: str) -> str:
        return timeframe if timeframe in TIMEFRAMES else self.timeframe

    def watch_timeframe(self, _old: str, _new: str) -> None:
        self._show_again()

    def on_resize(self) -> None:
        self._show_again()

    def _redraw(self) -> None:
        """Rebuild the chart; repaint only the rows that differ (bytes matter over SSH)."""
        self.redraws += 1
        width, height = self.size.width, self.size.height
        old = self._lines
        self._lines = self._build(width, height) if width > 0 and height > 0 else []
        self._drawn_symbol = self._symbol if self._lines else None
        if len(old) != len(self._lines):
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, self._lines, strict=True)):
            if before != after:
                self.refresh(Region(0, y, width, 1))

    def _build(self, width: int, height: int) -> list[Strip]:
        state, symbol = self._state, self._symbol
        if state is None or not symbol:
            return self._message(width, height, [], "no symbol selected")
        sym = state.get(symbol)
        bars = state.bars(symbol, self.timeframe)
        if not bars:
            header = self._header(symbol, None, sym, None, width)
            text = f"loading {symbol} history…" if self._loading else "no bars yet"
            return self._message(width, height, header, text)
        last = sym.last if sym is not None and sym.last else bars[-1].close
        # the watchlist's precision for this symbol: EUR/USD 1.08530, AAPL 187.23
        decimals = symbol_decimals(symbol, last)
        header = self._header(symbol, bars[-1], sym, decimals, width)
        band = None
        if sym is not None and sym.luld_low and sym.luld_high:
            band = (sym.luld_low, sym.luld_high)
        body = render_candles(
            bars,
            width,
            height - 1,
            self._style,
            timeframe=self.timeframe,
            last_price=last,
            band=band,
            tz=self.tz,
            glyphs=self.glyphs,
            decimals=decimals,
            extended=outside_regular_hours(symbol, self.timeframe),
        )
        return [Strip(header).crop_extend(0, width, None), *body]

    def _header(
        self,
        symbol: str,
        bar: Bar | None,
        sym: SymbolState | None,
        decimals: int | None,
        width: int,
    ) -> list[Segment]:
        """``AAPL 1m  O … H … L … C … V …  LULD lo–hi`` — the numbers of the forming candle.

        Fitted to ``width`` by dropping whole fields, least useful first (volume, open,
        high/low, the band), never by cutting a number in half: ``L 2`` would be a lie.
        """
        style = self._style
        # (keep priority, segments), in display order
        fields: list[tuple[int, list[Segment]]] = [
            (100, [Segment(symbol, Style(bold=True)), Segment(f" {self.timeframe}", style.axis)])
        ]
        if bar is not None:
            o, h, lo, c = bar.open, bar.high, bar.low, bar.close
            move = style.up if c >= o else style.down
            for keep, label, value in ((60, "O", o), (70, "H", h), (70, "L", lo), (90, "C", c)):
                price = Segment(fmt_price(value, decimals), move)
                fields.append((keep, [Segment(f"  {label} ", style.axis), price]))
            fields.append((50, [Segment("  V ", style.axis), Segment(fmt_volume(bar.volume))]))
        if sym is not None and sym.luld_low and sym.luld_high:
            floor, ceiling = fmt_price(sym.luld_low, decimals), fmt_price(sym.luld_high, decimals)
            band = f"  LULD {floor}–{ceiling}"
            fields.append((80, [Segment(band, style.band)]))
        if self._loading:
            fields.append((85, [Segment("  loading…", style.axis)]))

        def cells(group: list[Segment]) -> int:
            return sum(len(seg.text) for seg in group)

        while len(fields) > 1 and sum(cells(g) for _, g in fields) > width:
            fields.remove(min(fields[1:], key=lambda f: f[0]))
        return [seg for _, group in fields for seg in group]

    def _message(self, width: int, height: int, header: list[Segment], text: str) -> list[Strip]:
        lines = [Strip.blank(width) for _ in range(height)]
        if header:
            lines[0] = Strip(header).crop_extend(0, width, None)
        middle = height // 2
        pad = max(0, (width - len(text)) // 2)
        lines[middle] = Strip([Segment(" " * pad), Segment(text, self._style.axis)]).crop_extend(
            0, width, None
        )
        return lines

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            self.painted_symbol = self._drawn_symbol
        if y < len(self._lines):
            return self._lines[y].apply_style(base)
        return Strip.blank(self.size.width, base)

    @property
    def text_lines(self) -> list[str]:
        """The chart as plain text, one string a row (for tests and debugging)."""
        return [line.text for line in self._lines]

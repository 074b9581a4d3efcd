"""Pure candle-chart rendering: bars in, a block of :class:`~textual.strip.Strip` lines out.

Why hand-drawn rather than plotext: see docs/ui.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ticktape.timeutil import EXCHANGE_TZ, ms_to_zone
from ticktape.ui.format import fmt_volume

#: Minutes per bar of each chart timeframe (daily bars label by week, not by minute).
TIMEFRAME_MINUTES: dict[str, int] = {"1s": 1, "1m": 1, "5m": 5, "15m": 15, "1h": 60, "1D": 1440}


class Glyphs(NamedTuple):
    """Characters the chart is drawn with; :data:`ASCII` for terminals/fonts without box glyphs."""

    #: Candle cell by (upper half, lower half), each 0 nothing, 1 wick, 2 body.
    cells: dict[tuple[int, int], str]
    #: Volume bar tops by eighths filled, 0..8.
    volume: str
    axis: str
    tick: str
    last_line: str
    band: str


UNICODE = Glyphs(
    cells={
        (0, 0): " ",
        (0, 1): "╷",
        (0, 2): "╻",
        (1, 0): "╵",
        (1, 1): "│",
        (1, 2): "╽",
        (2, 0): "╹",
        (2, 1): "╿",
        (2, 2): "┃",
    },
    volume=" ▁▂▃▄▅▆▇█",
    axis="│",
    tick="┤",
    last_line="╌",
    band="┈",
)
# ASCII cannot draw half cells: any body reads "#", a wick alone "|".
ASCII = Glyphs(
    cells={
        (t, b): " " if t == b == 0 else "#" if 2 in (t, b) else "|"
        for t in range(3)
        for b in range(3)
    },
    volume=" ..:::::#",
    axis="|",
    tick="+",
    last_line="-",
    band="~",
)
_CANDLE_PITCH = 2  # columns per candle: the candle and a gap


class BarLike(Protocol):
    """What the renderer reads from a bar (``market.Bar`` and ``feed.events.Agg`` adapters fit)."""

    @property
    def start_ms(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...


class ChartStyle(NamedTuple):
    """Rich styles for each part of the chart; the widget fills them from the Textual theme."""

    up: Style = Style(color="green")
    down: Style = Style(color="red")
    volume_up: Style = Style(color="green", dim=True)
    volume_down: Style = Style(color="red", dim=True)
    axis: Style = Style(dim=True)
    last_line: Style = Style(dim=True)
    band: Style = Style(color="yellow")
    #: Candles of bars starting outside regular hours (stocks' pre-market and after-hours).
    extended_up: Style = Style(color="green", dim=True)
    extended_down: Style = Style(color="red", dim=True)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go for a given size: exposed so tests and the widget agree on geometry."""

    width: int
    height: int
    plot_width: int  # columns left of the price axis
    price_rows: int
    volume_rows: int
    candles: int  # how many of the newest bars are drawn


def max_candles(plot_width: int) -> int:
    """Legible candle count for a plot width: one column each plus a gap (≤ half the width)."""
    return max(0, plot_width // _CANDLE_PITCH)


def layout(width: int, height: int, n_bars: int, axis_width: int) -> Layout:
    """Split ``width``×``height`` into price rows, volume rows, a time row and the price axis."""
    plot_width = max(0, width - axis_width)
    rows = max(0, height - 1)  # the last row holds the time labels
    if rows >= 16:
        volume_rows = min(6, round(rows * 0.2))
    elif rows >= 8:
        volume_rows = 2
    elif rows >= 5:
        volume_rows = 1
    else:
        volume_rows = 0
    return Layout(
        width=width,
        height=height,
        plot_width=plot_width,
        price_rows=rows - volume_rows,
        volume_rows=volume_rows,
        candles=min(n_bars, max_candles(plot_width)),
    )


class PriceScale:
    """Maps prices to half-row levels (0 = bottom of the plot) and rows (0 = top)."""

    def __init__(self, lo: float, hi: float, rows: int) -> None:
        if hi <= lo:  # a flat market still needs a range to draw in
            pad = max(abs(lo) * 0.0005, 0.005)
            lo, hi = lo - pad, hi + pad
        self.lo, self.hi, self.rows = lo, hi, rows
        self._per_level = (hi - lo) / max(1, 2 * rows - 1)

    def level(self, price: float) -> int:
        """Half-row level of ``price``, clamped to the plot."""
        lvl = round((price - self.lo) / self._per_level)
        return min(max(lvl, 0), 2 * self.rows - 1)

    def row(self, price: float) -> int:
        """Row (from the top) whose cell holds ``price``."""
        return self.rows - 1 - self.level(price) // 2


def nice_step(span: float, max_ticks: int) -> float:
    """A 1/2/2.5/5×10ⁿ step that puts at most ``max_ticks`` ticks on ``span``."""
    if span <= 0 or max_ticks <= 0:
        return 1.0
    raw = span / max_ticks
    base = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        if base * mult >= raw:
            return base * mult
    return base * 10


def step_decimals(step: float) -> int:
    """Decimals needed to tell ticks ``step`` apart: 0.05 → 2, 0.25 → 2, 2.5 → 1, 50 → 0."""
    exp = math.floor(math.log10(step))
    quarter = 1 if abs(step / 10**exp - 2.5) < 1e-6 else 0
    return max(0, quarter - exp)


def format_price(price: float, decimals: int) -> str:
    """Price with thousands separators and ``decimals`` places."""
    return f"{price:,.{decimals}f}"


def axis_decimals(lo: float, hi: float, rows: int, most: int | None = None) -> tuple[float, int]:
    """Tick step for a price range drawn on ``rows`` rows, and the decimals to show it with.

    ``most``: the symbol's own decimals (as the watchlist shows it). The step is then
    widened until its ticks need no more than that, so every pane shows a symbol's
    prices with one precision (a replay's sub-cent ticks showed 3 decimals on the
    chart and 2 in the watchlist).
    """
    step = nice_step(hi - lo, max(1, rows // 3))
    while most is not None and step_decimals(step) > most:
        step = nice_step(step * 1.0001, 1)  # the next nice step up
    decimals = step_decimals(step)
    if hi < 10_000:  # quotes are read to the cent (or finer) below five digits
        decimals = max(decimals, 2)
    if most is not None:
        decimals = min(decimals, most)
    return step, decimals


def axis_width_for(
    bars: Sequence[BarLike], extra: Sequence[float] = (), decimals: int | None = None
) -> int:
    """Columns the price axis needs: the widest label, a leading tick and a space."""
    prices = [b.high for b in bars] + [b.low for b in bars] + list(extra)
    if not prices:
        return 8
    lo, hi = min(prices), max(prices)
    if decimals is None:  # a taller plot may tick one decimal finer than 12 rows do
        decimals = axis_decimals(lo, hi, 12)[1] + 1
    widest = max(len(format_price(p, decimals)) for p in (lo, hi))
    return widest + 2


class _Canvas:
    """Character and style grid, flattened into Strips with adjacent same-style runs merged."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.styles: list[list[Style | None]] = [[None] * width for _ in range(height)]

    def put(self, x: int, y: int, ch: str, style: Style | None) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.chars[y][x] = ch
            self.styles[y][x] = style

    def text(self, x: int, y: int, text: str, style: Style | None) -> None:
        for i, ch in enumerate(text):
            self.put(x + i, y, ch, style)

    def is_blank(self, x: int, y: int) -> bool:
        return self.chars[y][x] == " "

    def strips(self) -> list[Strip]:
        out: list[Strip] = []
        for chars, styles in zip(self.chars, self.styles, strict=True):
            segments: list[Segment] = []
            start = 0
            for x in range(1, self.width + 1):
                if x == self.width or styles[x] is not styles[start]:
                    segments.append(Segment("".join(chars[start:x]), styles[start]))
                    start = x
            out.append(Strip(segments, self.width))
        return out


def render_candles(
    bars: Sequence[BarLike],
    width: int,
    height: int,
    style: ChartStyle | None = None,
    *,
    timeframe: str = "1m",
    last_price: float | None = None,
    band: tuple[float, float] | None = None,
    tz: str = EXCHANGE_TZ,
    glyphs: Glyphs = UNICODE,
    decimals: int | None = None,
    extended: Callable[[int], bool] | None = None,
) -> list[Strip]:
    """Draw the newest bars that fit as candles over volume, with price and time axes.

    Returns exactly ``height`` strips of ``width`` cells. ``band`` is the LULD
    (low, high); its lines are drawn when they are near enough to the candles
    not to squash them (within a quarter of the candles' range). ``decimals``, the
    symbol's own precision, sets the last price's label and caps the axis's.
    ``extended(start_ms)`` says which bars started outside regular hours: their
    candles are drawn in the dimmed colours.
    """
    style = style or ChartStyle()
    extra = [last_price] if last_price is not None else []
    axis = axis_width_for(bars[-max_candles(width) :], extra, decimals)
    geo = layout(width, height, len(bars), axis)
    canvas = _Canvas(width, height)
    if geo.candles == 0 or geo.price_rows < 2:
        return canvas.strips()
    shown = bars[-geo.candles :]
    lo = min(b.low for b in shown)
    hi = max(b.high for b in shown)
    if last_price is not None:
        lo, hi = min(lo, last_price), max(hi, last_price)
    bands: list[float] = []
    if band is not None:
        reach = (hi - lo) * 0.25
        bands = [p for p in band if lo - reach <= p <= hi + reach]
        if bands:
            lo, hi = min(lo, *bands), max(hi, *bands)
    scale = PriceScale(lo, hi, geo.price_rows)
    x0 = geo.plot_width - _CANDLE_PITCH * geo.candles

    _draw_candles(canvas, shown, scale, x0, style, glyphs, extended)
    labels: list[tuple[int, str, Style]] = []  # (row, text, style) in priority order
    label_decimals = axis_decimals(scale.lo, scale.hi, geo.price_rows, decimals)[1]
    if decimals is not None:
        label_decimals = decimals
    if last_price is not None:
        row = scale.row(last_price)
        last = shown[-1]
        last_style = (style.up if last.close >= last.open else style.down) + Style(reverse=True)
        _rule(canvas, row, geo.plot_width, glyphs.last_line, style.last_line)
        labels.append((row, format_price(last_price, label_decimals), last_style))
    for price in bands:
        row = scale.row(price)
        _rule(canvas, row, geo.plot_width, glyphs.band, style.band)
        labels.append((row, format_price(price, label_decimals), style.band))
    _draw_price_axis(canvas, geo, scale, labels, style, glyphs, decimals)
    _draw_volume(canvas, geo, shown, x0, style, glyphs)
    _draw_time_axis(canvas, geo, shown, x0, timeframe, tz, style)
    return canvas.strips()


def _draw_candles(
    canvas: _Canvas,
    bars: Sequence[BarLike],
    scale: PriceScale,
    x0: int,
    style: ChartStyle,
    glyphs: Glyphs,
    extended: Callable[[int], bool] | None,
) -> None:
    top = scale.rows - 1
    for i, bar in enumerate(bars):
        x = x0 + _CANDLE_PITCH * i
        rising = bar.close >= bar.open
        if extended is not None and extended(bar.start_ms):
            colour = style.extended_up if rising else style.extended_down
        else:
            colour = style.up if rising else style.down
        body_lo = scale.level(min(bar.open, bar.close))
        body_hi = scale.level(max(bar.open, bar.close))
        wick_lo = scale.level(min(bar.low, bar.open, bar.close))
        wick_hi = scale.level(max(bar.high, bar.open, bar.close))
        for row_level in range(wick_lo // 2, wick_hi // 2 + 1):
            halves = []
            for lvl in (2 * row_level + 1, 2 * row_level):  # top half, then bottom half
                if body_lo <= lvl <= body_hi:
                    halves.append(2)
                elif wick_lo <= lvl <= wick_hi:
                    halves.append(1)
                else:
                    halves.append(0)
            canvas.put(x, top - row_level, glyphs.cells[halves[0], halves[1]], colour)


def _rule(canvas: _Canvas, row: int, plot_width: int, glyph: str, style: Style) -> None:
    """A horizontal line through the empty cells of a price row (candles stay on top)."""
    for x in range(plot_width):
        if canvas.is_blank(x, row):
            canvas.put(x, row, glyph, style)


def _draw_price_axis(
    canvas: _Canvas,
    geo: Layout,
    scale: PriceScale,
    labels: list[tuple[int, str, Style]],
    style: ChartStyle,
    glyphs: Glyphs,
    most: int | None = None,
) -> None:
    x = geo.plot_width
    taken: set[int] = set()
    placed: list[tuple[int, str, Style]] = []
    for row, text, label_style in labels:
        if row not in taken:
            placed.append((row, text, label_style))
            taken.update((row - 1, row, row + 1))
    step, decimals = axis_decimals(scale.lo, scale.hi, geo.price_rows, most)
    tick = math.ceil(scale.lo / step) * step
    while tick <= scale.hi + step * 1e-9:
        row = scale.row(tick)
        if row not in taken:
            placed.append((row, format_price(tick, decimals), style.axis))
            taken.update((row - 1, row, row + 1))
        tick += step
    for row in range(geo.price_rows + geo.volume_rows):
        canvas.put(x, row, glyphs.axis, style.axis)
    for row, text, label_style in placed:
        canvas.put(x, row, glyphs.tick, style.axis)
        canvas.text(x + 1, row, " " + text, label_style)


def _draw_volume(
    canvas: _Canvas,
    geo: Layout,
    bars: Sequence[BarLike],
    x0: int,
    style: ChartStyle,
    glyphs: Glyphs,
) -> None:
    if geo.volume_rows == 0:
        return
    peak = max(b.volume for b in bars)
    if peak <= 0:
        return
    bottom = geo.price_rows + geo.volume_rows - 1
    eighths_total = geo.volume_rows * 8
    for i, bar in enumerate(bars):
        eighths = round(bar.volume / peak * eighths_total)
        if bar.volume > 0:
            eighths = max(1, eighths)
        colour = style.volume_up if bar.close >= bar.open else style.volume_down
        x = x0 + _CANDLE_PITCH * i
        for r in range(geo.volume_rows):
            fill = min(8, eighths - 8 * r)
            if fill <= 0:
                break
            canvas.put(x, bottom - r, glyphs.volume[fill], colour)
    canvas.text(geo.plot_width + 1, geo.price_rows, " " + fmt_volume(peak), style.axis)


def time_label_positions(
    bars: Sequence[BarLike], timeframe: str, tz: str = EXCHANGE_TZ
) -> list[tuple[int, str]]:
    """(bar index, label) pairs for the time axis: round times, spaced not to overlap.

    Intraday labels sit on the first bar of each round interval (5 min, 15 min,
    1 h, … whichever keeps labels apart) and read ``HH:MM``, or ``MM/DD`` where
    the day changes; daily bars are labelled at the first bar of each week.
    """
    minutes = TIMEFRAME_MINUTES.get(timeframe, 1)
    local = [ms_to_zone(b.start_ms, tz) for b in bars]
    if minutes >= 1440:
        keys = [d.isocalendar()[0] * 100 + d.isocalendar()[1] for d in local]
        texts = [f"{d:%b %d}" for d in local]
        min_gap = 7
    else:
        gap_bars = math.ceil(6 / _CANDLE_PITCH)  # "HH:MM" and a space
        interval = next(
            c
            for c in (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 10**9)
            if c % minutes == 0 and c // minutes >= gap_bars
        )
        offsets = [d.utcoffset() for d in local]
        keys = [
            (b.start_ms + int(o.total_seconds() * 1000 if o else 0)) // 60_000 // interval
            for b, o in zip(bars, offsets, strict=True)
        ]
        texts = [
            f"{d:%m/%d}" if i > 0 and d.date() != local[i - 1].date() else f"{d:%H:%M}"
            for i, d in enumerate(local)
        ]
        min_gap = 6
    out: list[tuple[int, str]] = []
    last_x = -(10**9)
    for i in range(len(bars)):
        boundary = keys[i] != keys[i - 1] if i > 0 else False
        if boundary and _CANDLE_PITCH * i - last_x >= min_gap:
            out.append((i, texts[i]))
            last_x = _CANDLE_PITCH * i
    return out


def _draw_time_axis(
    canvas: _Canvas,
    geo: Layout,
    bars: Sequence[BarLike],
    x0: int,
    timeframe: str,
    tz: str,
    style: ChartStyle,
) -> None:
    row = geo.height - 1
    for i, text in time_label_positions(bars, timeframe, tz):
        x = x0 + _CANDLE_PITCH * i
        if x + len(text) <= geo.width:  # a clipped time would be misread ("14:0")
            canvas.text(x, row, text, style.axis)


def plot_bars_plotext(
    bars: Sequence[BarLike],
    width: int,
    height: int,
    *,
    title: str = "",
    color: bool = True,
    tz: str = EXCHANGE_TZ,
) -> str:
    """Candles over volume drawn by plotext 6, as a string for printing to a terminal.

    For one-shot output (``ticktape bars --plot``), where plotext's own look is
    fine and its cost (tens of ms) does not matter. ``color=False`` gives plain
    text (for pipes and ``NO_COLOR``). plotext keeps one global figure, so this
    is not thread-safe; it is reset on every call.
    """
    import plotext as plt  # imported on demand: the live app never needs it

    plt.terminal.limit(False, False)  # otherwise output is clamped to the terminal's size
    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    if not bars:
        fig.title(title or "no bars")
        return str(fig.build().string(colorless=not color))
    volume_rows = max(3, height // 4)
    fig.subplots(2, 1)
    top, bottom = fig.subplot(1, 1), fig.subplot(2, 1)
    top.plot_size(width, height - volume_rows)
    bottom.plot_size(width, volume_rows)
    for plot in (top, bottom):
        plot.canvas("default")
    xs = list(range(len(bars)))
    top.draw(
        top.candlestick(
            {
                "date": xs,
                "open": [b.open for b in bars],
                "close": [b.close for b in bars],
                "high": [b.high for b in bars],
                "low": [b.low for b in bars],
            }
        )
    )
    if title:
        top.title(title)
    step = max(1, len(bars) // max(1, width // 14))
    ticks = xs[::step]
    if xs[-1] - ticks[-1] >= max(1, step // 2):  # the newest bar gets a label too
        ticks.append(xs[-1])
    stamps = [ms_to_zone(bars[i].start_ms, tz) for i in ticks]
    # Daily bars start at midnight: their time of day says nothing.
    daily = all((d.hour, d.minute) == (0, 0) for d in stamps)
    labels = [f"{d:%m/%d}" if daily else f"{d:%m/%d %H:%M}" for d in stamps]
    top.ruler("x").ticks(ticks, labels=labels)
    volumes = [b.volume for b in bars]
    bottom.draw(bottom.bar(xs, volumes))
    bottom.ruler("x").ticks([], labels=[])
    top_volume = max(volumes)
    if top_volume > 0:  # "57.0M", not plotext's "5.7e7"
        bottom.ruler("y").ticks([0, top_volume], labels=["0", fmt_volume(top_volume)])
    return str(fig.build().string(colorless=not color))

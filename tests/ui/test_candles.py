"""Geometry of the hand-drawn candle renderer: what lands in which cell, in which colour."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rich.style import Style
from textual.strip import Strip

from ticktape.ui.candles import (
    ASCII,
    ChartStyle,
    PriceScale,
    axis_width_for,
    layout,
    max_candles,
    nice_step,
    plot_bars_plotext,
    render_candles,
    step_decimals,
    time_label_positions,
)
from ticktape.ui.chart import outside_regular_hours

UP = Style(color="green")
DOWN = Style(color="red")
STYLE = ChartStyle(up=UP, down=DOWN, volume_up=UP, volume_down=DOWN, band=Style(color="yellow"))
T0 = 1_736_951_400_000  # 2025-01-15 14:30 UTC = 09:30 New York (EST)


@dataclass(frozen=True, slots=True)
class B:
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 1_000


def cells(strip: Strip) -> list[tuple[str, Style | None]]:
    """(character, style) for every cell of a strip."""
    out: list[tuple[str, Style | None]] = []
    for seg in strip:
        out.extend((ch, seg.style) for ch in seg.text)
    return out


def column(strips: list[Strip], x: int) -> list[tuple[str, Style | None]]:
    return [cells(s)[x] for s in strips]


def candle_x(width: int, bars: list[B], index: int, extra: list[float] | None = None) -> int:
    geo = layout(width, 10, len(bars), axis_width_for(bars, extra or []))
    return geo.plot_width - 2 * (geo.candles - index)


def test_output_is_exactly_the_requested_size() -> None:
    bars = [B(T0 + 60_000 * i, 10 + i, 11 + i, 9 + i, 10.5 + i) for i in range(300)]
    for width, height in ((80, 24), (160, 48), (30, 6), (12, 3)):
        strips = render_candles(bars, width, height, STYLE, last_price=bars[-1].close)
        assert len(strips) == height
        assert all(s.cell_length == width for s in strips)


def test_degenerate_inputs_draw_nothing_rather_than_fail() -> None:
    assert [s.text for s in render_candles([], 40, 10)] == [" " * 40] * 10
    flat = [B(T0, 5.0, 5.0, 5.0, 5.0, 0)]
    assert len(render_candles(flat, 40, 10, last_price=5.0)) == 10
    assert [s.text for s in render_candles(flat, 3, 1)] == ["   "]


def test_two_price_levels_per_row_pick_half_glyphs() -> None:
    # height 3 → 2 price rows (4 levels), no volume, 1 time row; range 0..3 → 1 per level.
    bars = [B(T0, 2.0, 3.0, 0.0, 3.0)]  # body levels 2-3 (top row), wick 0-1 (bottom row)
    x = candle_x(20, bars, 0)
    col = column(render_candles(bars, 20, 3, STYLE), x)
    assert [ch for ch, _ in col[:2]] == ["┃", "│"]
    bars = [B(T0, 1.0, 3.0, 0.0, 2.0)]  # body levels 1-2 straddle the two rows
    col = column(render_candles(bars, 20, 3, STYLE), x)
    assert [ch for ch, _ in col[:2]] == ["╽", "╿"]


def test_rising_bar_body_is_up_coloured_and_wicks_reach_high_and_low() -> None:
    bars = [B(T0, 100.0, 108.0, 96.0, 105.0), B(T0 + 60_000, 105.0, 110.0, 90.0, 106.0)]
    height, width = 24, 60
    strips = render_candles(bars, width, height, STYLE)
    geo = layout(width, height, 2, axis_width_for(bars))
    scale = PriceScale(90.0, 110.0, geo.price_rows)
    col = column(strips, candle_x(width, bars, 0))[: geo.price_rows]
    drawn = [row for row, (ch, _) in enumerate(col) if ch != " "]
    assert drawn[0] == scale.row(108.0)  # upper wick ends at the high
    assert drawn[-1] == scale.row(96.0)  # lower wick ends at the low
    body_rows = range(scale.row(105.0) + 1, scale.row(100.0))  # strictly inside the body
    assert body_rows
    assert all(col[r] == ("┃", UP) for r in body_rows)
    assert all(style == UP for _, style in (col[r] for r in drawn))


def test_falling_bar_is_down_coloured() -> None:
    bars = [B(T0, 105.0, 106.0, 99.0, 100.0)]
    col = column(render_candles(bars, 40, 20, STYLE), candle_x(40, bars, 0))
    styles = {style for ch, style in col[:15] if ch in "┃╻╹│╽╿╷╵"}
    assert styles == {DOWN}


def test_candle_count_is_capped_to_half_the_plot_width_newest_kept() -> None:
    bars = [B(T0 + 60_000 * i, 100.0, 101.0, 99.0, 100.5) for i in range(200)]
    bars[-1] = B(bars[-1].start_ms, 100.0, 101.0, 99.0, 99.5)  # the newest falls
    width = 60
    geo = layout(width, 20, len(bars), axis_width_for(bars))
    assert geo.candles == max_candles(geo.plot_width) <= geo.plot_width // 2
    strips = render_candles(bars, width, 20, STYLE)
    price_rows = strips[: geo.price_rows]
    candle_columns = {
        x for s in price_rows for x, (ch, _) in enumerate(cells(s)[: geo.plot_width]) if ch != " "
    }
    assert len(candle_columns) == geo.candles
    newest = column(strips, max(candle_columns))
    assert DOWN in {style for _, style in newest[: geo.price_rows]}


def test_last_price_line_and_label_on_its_row() -> None:
    bars = [B(T0 + 60_000 * i, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i) for i in range(10)]
    last = 104.25
    strips = render_candles(bars, 60, 20, STYLE, last_price=last)
    rows = [s.text for s in strips]
    label_rows = [r for r, text in enumerate(rows) if "104.25" in text]
    assert len(label_rows) == 1
    row = label_rows[0]
    assert "╌" in rows[row]  # the dashed last-price line runs through that row
    label_cells = [c for c in cells(strips[row]) if c[0] == "1"]
    assert all(style is not None and style.reverse for _, style in label_cells)


def test_luld_band_drawn_when_near_and_left_out_when_far() -> None:
    bars = [B(T0 + 60_000 * i, 100.0, 101.0, 99.0, 100.5) for i in range(10)]
    near = render_candles(bars, 60, 20, STYLE, band=(98.5, 101.5))
    text = "\n".join(s.text for s in near)
    assert text.count("┈") > 10 and "98.50" in text and "101.50" in text
    far = render_candles(bars, 60, 20, STYLE, band=(50.0, 150.0))
    assert "┈" not in "\n".join(s.text for s in far)


def test_volume_peak_fills_the_volume_rows_and_axis_shows_it() -> None:
    bars = [B(T0 + 60_000 * i, 100.0, 101.0, 99.0, 100.5, 1_000 * (i + 1)) for i in range(10)]
    width, height = 60, 24
    geo = layout(width, height, 10, axis_width_for(bars))
    strips = render_candles(bars, width, height, STYLE)
    col = column(strips, candle_x(width, bars, 9))
    volume = [ch for ch, _ in col[geo.price_rows : geo.price_rows + geo.volume_rows]]
    assert volume == ["█"] * geo.volume_rows
    assert "10.0K" in strips[geo.price_rows].text


def test_time_axis_labels_round_minutes_in_exchange_time() -> None:
    bars = [B(T0 + 60_000 * i, 100.0, 101.0, 99.0, 100.5) for i in range(20)]
    labels = time_label_positions(bars, "1m")
    assert labels == [(5, "09:35"), (10, "09:40"), (15, "09:45")]
    strips = render_candles(bars, 60, 12, STYLE)
    assert strips[-1].text.index("09:35") == candle_x(60, bars, 5)


def test_time_axis_marks_a_new_day_and_daily_bars_by_week() -> None:
    day = 86_400_000
    hourly = [B(T0 + 3_600_000 * i, 1, 1, 1, 1) for i in range(0, 30)]
    texts = [t for _, t in time_label_positions(hourly, "1h")]
    assert "01/16" in texts  # the day change reads as a date, not a time
    daily = [B(T0 - 14 * 3_600_000 + day * i, 1, 1, 1, 1) for i in range(21)]  # from Wed
    texts = [t for _, t in time_label_positions(daily, "1D")]
    assert texts == ["Jan 20", "Jan 27", "Feb 03"]  # Mondays


@pytest.mark.parametrize(
    ("span", "ticks", "step"), [(1.0, 4, 0.25), (20.0, 4, 5.0), (0.003, 3, 0.001), (7.0, 7, 1.0)]
)
def test_nice_step(span: float, ticks: int, step: float) -> None:
    assert nice_step(span, ticks) == pytest.approx(step)


def test_step_decimals() -> None:
    assert [step_decimals(s) for s in (50, 2.5, 1, 0.25, 0.05, 0.0001)] == [0, 1, 0, 2, 2, 4]


def test_plotext_output_for_the_bars_cli() -> None:
    bars = [B(T0 + 60_000 * i, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i) for i in range(30)]
    out = plot_bars_plotext(bars, 80, 20, title="AAPL 1m", color=False)
    lines = out.splitlines()
    assert "AAPL 1m" in out and "█" in out
    assert len(lines) == 20 and max(len(line) for line in lines) <= 80
    assert "\x1b[" in plot_bars_plotext(bars, 80, 20)  # coloured unless asked not to


def test_plotext_daily_bars_read_as_dates_with_a_plain_volume_axis() -> None:
    day = 86_400_000
    midnight = T0 - T0 % day + 5 * 3_600_000  # midnight in New York (EST)
    bars = [B(midnight + day * i, 100.0, 101.0, 99.0, 100.5, 57_000_000 + i) for i in range(12)]
    out = plot_bars_plotext(bars, 100, 24, title="AAPL 1D", color=False, tz="America/New_York")
    assert "00:00" not in out  # a day has no time of day
    assert "57.0M" in out and "e7" not in out


def test_ascii_glyphs_for_terminals_without_box_drawing() -> None:
    bars = [B(T0 + 60_000 * i, 100.0 + i % 3, 101.5 + i % 3, 99.0, 101.0) for i in range(30)]
    strips = render_candles(bars, 60, 20, STYLE, last_price=101.0, band=(99.5, 102.0), glyphs=ASCII)
    text = "\n".join(s.text for s in strips)
    assert text.isascii()
    assert "#" in text and "|" in text and "-" in text and "~" in text


@pytest.mark.parametrize(
    ("symbol", "dimmed"), [("AAPL", True), ("EUR/USD", False), ("BTC-USD", False)]
)
def test_stock_candlesoutside_regular_hours_are_dimmed(symbol: str, dimmed: bool) -> None:
    pre_up = Style(color="green", dim=True)
    style = STYLE._replace(extended_up=pre_up)
    bars = [B(T0 - 60_000, 10, 11, 9, 10.5), B(T0, 10, 11, 9, 10.5)]  # 09:29 and 09:30 ET
    strips = render_candles(bars, 40, 10, style, extended=outside_regular_hours(symbol, "1m"))

    def candle_styles(index: int) -> set[Style | None]:
        rows = layout(40, 10, len(bars), axis_width_for(bars, [])).price_rows
        col = column(strips[:rows], candle_x(40, bars, index))
        return {st for ch, st in col if ch.strip()}

    assert candle_styles(1) == {UP}, "the bell's first minute is regular"
    assert candle_styles(0) == ({pre_up} if dimmed else {UP})


def test_daily_candles_and_early_closes() -> None:
    assert outside_regular_hours("AAPL", "1D") is None, "a daily bar is the whole day"
    outside = outside_regular_hours("AAPL", "5m")
    assert outside is not None
    # Friday 2025-11-28, the day after Thanksgiving, closes at 13:00 ET (18:00 UTC).
    one_pm = 1_764_352_800_000
    assert not outside(one_pm - 60_000) and outside(one_pm)

"""ChartView: redraw throttling (injected clock) and what a user sees in a running app."""

from __future__ import annotations

from textual.pilot import Pilot

from ticktape.feed.events import Agg, LimitUpLimitDown, MinuteAgg, Trade
from ticktape.market import MarketState
from ticktape.ui.chart import ChartView, RedrawThrottle, chart_style_from_theme

from .conftest import Host


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_redraws_at_once_when_the_view_changes() -> None:
    clock = FakeClock()
    gate = RedrawThrottle(0.3, clock)
    assert gate.should_redraw(("AAPL", "1m"), 1)
    clock.now += 0.01
    assert gate.should_redraw(("MSFT", "1m"), 1)  # switching symbol never waits
    assert gate.should_redraw(("MSFT", "5m"), 1)  # nor does switching timeframe
    assert not gate.should_redraw(("MSFT", "5m"), 1)  # nothing changed


def test_throttle_holds_data_changes_to_the_interval() -> None:
    clock = FakeClock()
    gate = RedrawThrottle(0.3, clock)
    view = ("AAPL", "1m")
    assert gate.should_redraw(view, 1)
    redraws = 0
    for version in range(2, 32):  # a new trade every frame for 3 s at 10 Hz
        clock.now += 0.1
        redraws += gate.should_redraw(view, version)
    assert 9 <= redraws <= 10  # ~every 0.3 s, not 30 times
    clock.now += 0.1
    assert not gate.should_redraw(view, 31)  # the last change is already drawn


def test_throttle_draws_a_held_change_on_a_later_frame() -> None:
    clock = FakeClock()
    gate = RedrawThrottle(0.3, clock)
    assert gate.should_redraw("v", 1)
    clock.now += 0.1
    assert not gate.should_redraw("v", 2)  # held
    clock.now += 0.25
    assert gate.should_redraw("v", 2)  # same version, but not drawn yet


def test_throttle_invalidate_forces_the_next_redraw() -> None:
    gate = RedrawThrottle(0.3, FakeClock())
    assert gate.should_redraw("v", 1)
    gate.invalidate()
    assert gate.should_redraw("v", 1)


def test_style_prefers_ticktape_variables_then_textual_ones() -> None:
    themed = chart_style_from_theme(
        {"up": "#00ff00", "down": "#ff0000", "success": "#111111", "background": "#000000"}
    )
    assert themed.up.color is not None and themed.up.color.triplet is not None
    assert themed.up.color.triplet.hex == "#00ff00"
    plain = chart_style_from_theme({"success": "#4EBF71", "error": "#B93C5B"})
    assert plain.down.color is not None and plain.down.color.triplet is not None
    assert plain.down.color.triplet.hex == "#b93c5b"


# -- the widget in a running app ------------------------------------------------------------------

T0 = 1_736_951_400_000  # 2025-01-15 09:30 New York


def minute_bar(sym: str, i: int, close: float, volume: int = 10_000) -> MinuteAgg:
    """Minute ``i`` after 09:30: a bar that opened half a dollar below ``close``."""
    start = T0 + 60_000 * i
    return MinuteAgg(
        symbol=sym,
        open=close - 0.5,
        high=close + 0.25,
        low=close - 0.75,
        close=close,
        volume=volume,
        start=start,
        end=start + 60_000,
    )


def seeded(sym: str = "AAPL", n: int = 40) -> MarketState:
    state = MarketState()
    state.seed_bars(
        sym,
        [
            Agg(b.open, b.high, b.low, b.close, b.volume, b.start)
            for b in (minute_bar(sym, i, 100 + (i % 7)) for i in range(n))
        ],
    )
    return state


async def shown(
    pilot: Pilot[None], chart: ChartView, state: MarketState, sym: str | None, **kw: bool
) -> list[str]:
    chart.show(state, sym, **kw)
    await pilot.pause()
    return chart.text_lines


async def test_seeded_chart_shows_candles_axes_and_header() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        lines = await shown(pilot, chart, seeded(), "AAPL")
        assert lines[0].startswith("AAPL 1m") and "C 106.00" not in lines[0]
        assert "C 104.00" in lines[0]  # the newest bar (i = 39 → 100 + 4)
        body = "\n".join(lines[1:])
        assert "┃" in body and "█" in body  # candles and volume
        assert "09:45" in lines[-1] and "10:00" in lines[-1]  # exchange-time axis
        assert any(line.rstrip().endswith("104.00") for line in lines)  # last-price label


async def test_candles_capped_to_half_the_width() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(60, 20)) as pilot:
        lines = await shown(pilot, chart, seeded(n=200), "AAPL")
        width = 60 - 8  # the plot, left of the price axis ("104.00", a tick and a space)
        columns = {
            x for line in lines[1:-1] for x, ch in enumerate(line[:width]) if ch in "┃│╽╿╻╹╷╵"
        }
        assert 20 <= len(columns) <= width // 2


async def test_loading_and_empty_states() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(80, 16)) as pilot:
        state = MarketState()
        lines = await shown(pilot, chart, state, "NVDA", loading=True)
        assert any("loading NVDA history" in line for line in lines)
        lines = await shown(pilot, chart, state, "NVDA")
        assert any("no bars yet" in line for line in lines)
        lines = await shown(pilot, chart, state, None)
        assert any("no symbol selected" in line for line in lines)


async def test_forming_candle_follows_trades_at_most_every_interval() -> None:
    clock = FakeClock()
    chart = ChartView(interval=0.5, clock=clock)
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        state = seeded()
        await shown(pilot, chart, state, "AAPL")
        t = T0 + 40 * 60_000 + 1_000  # a new minute, after the seeded ones
        state.apply([Trade(symbol="AAPL", price=110.0, size=100, timestamp=t)], t)
        clock.now += 0.1
        lines = await shown(pilot, chart, state, "AAPL")
        assert "C 110.00" not in lines[0]  # held back by the throttle
        clock.now += 0.5
        lines = await shown(pilot, chart, state, "AAPL")
        assert "C 110.00" in lines[0]  # a new forming candle
        state.apply([Trade(symbol="AAPL", price=111.0, size=100, timestamp=t + 1)], t + 1)
        clock.now += 0.6
        lines = await shown(pilot, chart, state, "AAPL")
        assert "O 110.00" in lines[0] and "C 111.00" in lines[0]  # it moved with the trade
        assert ">111.00<" in app.export_screenshot()  # the changed rows were repainted


async def test_symbol_and_timeframe_switches_redraw_at_once() -> None:
    clock = FakeClock()
    chart = ChartView(interval=10.0, clock=clock)  # data redraws effectively off
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        state = seeded("AAPL")
        state.seed_bars("MSFT", [Agg(400, 401, 399, 400.5, 1000, T0)])
        await shown(pilot, chart, state, "AAPL")
        lines = await shown(pilot, chart, state, "MSFT")
        assert lines[0].startswith("MSFT 1m") and "C 400.50" in lines[0]
        chart.timeframe = "5m"
        await pilot.pause()
        assert chart.text_lines[0].startswith("MSFT 5m")
        chart.timeframe = "7m"  # not a timeframe: ignored
        assert chart.timeframe == "5m"


async def test_five_minute_candles_aggregate_the_minutes() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        chart.timeframe = "5m"
        lines = await shown(pilot, chart, seeded(n=10), "AAPL")
        # minutes 5..9 close at 105, 106, 100, 101, 102: O 104.50, H 106.25, L 99.25, C 102
        assert "O 104.50  H 106.25  L 99.25  C 102.00" in lines[0]


async def test_luld_band_lines_when_present() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        state = seeded()
        state.apply([LimitUpLimitDown(symbol="AAPL", high=108.0, low=98.0, timestamp=T0)], T0)
        lines = await shown(pilot, chart, state, "AAPL")
        assert "LULD 98.00–108.00" in lines[0]
        assert sum("┈" in line for line in lines) == 2


async def test_theme_change_recolours_the_candles() -> None:
    chart = ChartView()
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        await shown(pilot, chart, seeded(), "AAPL")
        before = chart.redraws
        app.theme = "textual-light"
        await pilot.pause()
        assert chart.redraws > before
        up = chart_style_from_theme(app.theme_variables).up
        styles = {seg.style for line in chart._lines for seg in line if "┃" in seg.text}
        assert up in styles


async def test_legible_at_small_and_large_terminals() -> None:
    for size in ((80, 24), (160, 48)):
        chart = ChartView()
        app = Host(chart)
        async with app.run_test(size=size) as pilot:
            lines = await shown(pilot, chart, seeded(n=300), "AAPL")
            assert len(lines) == size[1] and all(len(line) == size[0] for line in lines)
            labels = [line for line in lines if line.rstrip()[-6:].replace(".", "").isdigit()]
            assert len(labels) >= 3  # a readable price axis
            assert sum(ch == ":" for ch in lines[-1]) >= 3  # several time labels

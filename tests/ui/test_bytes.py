"""Bytes over SSH: a frame repaints only what changed, and the low-bandwidth profile.

What a frame costs on the wire starts with which lines Textual renders: a
line it does not render is not sent. These tests count the lines each pane is
asked to render in the screen update after a frame (the app's
``post_display_hook`` marks each update, headless too).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from ticktape.config import Settings, load_settings
from ticktape.feed.events import Trade
from ticktape.market import MarketState
from ticktape.ui.app import TicktapeApp
from ticktape.ui.bandwidth import LOW, OFFER, colour_system, over_ssh

from .conftest import NOW_MS, MakeApp, build_state, until

SIZE = (160, 48)


class Lines:
    """Which lines of ``widget`` were rendered since :meth:`clear`."""

    def __init__(self, widget: Widget) -> None:
        self.seen: list[int] = []
        original = widget.render_line

        def render_line(y: int):  # type: ignore[no-untyped-def]
            self.seen.append(y)
            return original(y)

        widget.render_line = render_line  # type: ignore[method-assign]

    def clear(self) -> None:
        self.seen.clear()


class Updates:
    """The app's frames and screen updates, so a test can wait for the update that shows
    what a frame took in (the frame refreshes, the next screen update renders)."""

    def __init__(self, app: TicktapeApp) -> None:
        self.frames = 0
        self.displays: list[int] = []  # the frame count at each screen update
        app.frames.listeners.append(self._frame)
        original = app.post_display_hook

        def hook() -> None:
            self.displays.append(self.frames)
            original()

        app.post_display_hook = hook  # type: ignore[method-assign]

    def _frame(self, _ms: float) -> None:
        self.frames += 1

    async def after_next_frame(self, pilot: Pilot[object]) -> None:
        """Wait for a screen update after the next frame (call before changing the state)."""
        target = self.frames + 1
        await until(pilot, lambda: any(f >= target for f in self.displays))


def trade(symbol: str, price: float, t: int = NOW_MS) -> Trade:
    return Trade(symbol=symbol, price=price, size=100, timestamp=t, exchange=4)


def last(state: MarketState, symbol: str) -> float:
    st = state.get(symbol)
    assert st is not None and st.last is not None
    return float(st.last)


async def test_a_one_cell_change_repaints_its_row_only(make_app: MakeApp) -> None:
    state = build_state()
    app = make_app(state=state)
    async with app.run_test(size=SIZE) as pilot:
        wl, tape, chart = app.main.watchlist, app.main.tape, app.main.chart
        await until(pilot, lambda: "NVDA" in wl.render_line(3).text)
        updates = Updates(app)
        rows, tape_rows, chart_rows = Lines(wl), Lines(tape), Lines(chart)
        state.apply([trade("NVDA", last(state, "NVDA") + 0.5)], NOW_MS)
        await updates.after_next_frame(pilot)
        # NVDA's row alone: MSFT above and AMZN below had no events
        assert set(rows.seen) == {3}, rows.seen
        # AAPL is selected: its tape and chart have nothing new and send nothing
        assert tape_rows.seen == [] and chart_rows.seen == []


async def test_a_paused_tape_sends_no_row_while_trades_arrive(make_app: MakeApp) -> None:
    state = build_state()
    app = make_app(state=state)
    async with app.run_test(size=SIZE) as pilot:
        tape = app.main.tape
        await until(pilot, lambda: tape.painted_symbol == "AAPL")
        await pilot.press("space")
        await until(pilot, lambda: "PAUSED" in tape.label)
        await pilot.pause()
        updates = Updates(app)
        refreshed: list[Region] = []
        original = tape.refresh

        def refresh(*regions: Region, **kwargs: bool) -> Widget:
            refreshed.extend(regions or [tape.region])
            return original(*regions, **kwargs)

        tape.refresh = refresh  # type: ignore[method-assign]
        rows = Lines(tape)
        for i in range(3):
            state.apply([trade("AAPL", last(state, "AAPL") + 0.01, NOW_MS + i)], NOW_MS + i)
            await updates.after_next_frame(pilot)
            assert f"{i + 1} new" in tape.label
        assert rows.seen == [], "no row of a paused tape is rendered again"
        # only the title on the top border (just above the rows) is repainted
        assert refreshed and all(r.y == -1 and r.height == 1 for r in refreshed)
        assert all(r.width < tape.outer_size.width for r in refreshed)


async def test_low_profile_batches_tape_rows_and_says_so(
    make_app: MakeApp, settings: Settings
) -> None:
    state = build_state()
    app = make_app(state=state, settings=settings.with_(bandwidth="low"))
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        tape, wl = main.tape, main.watchlist
        await until(pilot, lambda: tape.painted_symbol == "AAPL")
        assert "low bandwidth" in main.status.plain
        assert not wl.flashes and tape.interval == LOW.tape_interval_s
        now = [1000.0]
        tape.clock = lambda: now[0]
        price = last(state, "AAPL")
        state.apply([trade("AAPL", price + 0.11, NOW_MS + 1)], NOW_MS + 1)
        await until(pilot, lambda: f"{price + 0.11:,.2f}" in tape.visible_text[1])
        # within the interval new trades wait in the ring...
        state.apply([trade("AAPL", price + 0.22, NOW_MS + 2)], NOW_MS + 2)
        state.apply([trade("AAPL", price + 0.33, NOW_MS + 3)], NOW_MS + 3)
        await until(pilot, lambda: f"{price + 0.33:,.2f}" in wl.render_line(1).text)
        assert f"{price + 0.11:,.2f}" in tape.visible_text[1], "the tape waited"
        # ...and land together once it has passed
        now[0] += LOW.tape_interval_s
        await until(pilot, lambda: f"{price + 0.33:,.2f}" in tape.visible_text[1])
        assert f"{price + 0.22:,.2f}" in tape.visible_text[2]


@pytest.mark.parametrize(("bandwidth", "offered"), [("auto", True), ("normal", False)])
async def test_low_profile_is_offered_once_over_ssh(
    make_app: MakeApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    bandwidth: str,
    offered: bool,
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    app = make_app(settings=settings.with_(bandwidth=bandwidth))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.main.tape.painted_symbol == "AAPL")
        await pilot.pause()
        offers = [n for n in app._notifications if n.message == OFFER]
        assert len(offers) == (1 if offered else 0)
        assert "low bandwidth" not in app.main.status.plain  # offered, not chosen


def test_bandwidth_setting_from_each_source(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('bandwidth = "low"\n', encoding="utf-8")
    cli = {"config_path": str(config)}
    assert load_settings(cli, env={}, dotenv_path=None).bandwidth == "low"
    env = {"TICKTAPE_BANDWIDTH": "normal"}
    assert load_settings(cli, env=env, dotenv_path=None).bandwidth == "normal"
    with pytest.raises(ValueError, match="bandwidth"):
        Settings(bandwidth="tiny")


def test_low_profile_picks_256_colours_only_over_truecolor() -> None:
    truecolor = {"COLORTERM": "truecolor", "TERM": "xterm-256color"}
    assert colour_system("low", truecolor) == "256"
    assert colour_system("normal", truecolor) is None
    assert colour_system("low", {"TERM": "xterm"}) is None  # fewer colours: left alone
    assert colour_system("low", {**truecolor, "TEXTUAL_COLOR_SYSTEM": "truecolor"}) is None
    assert over_ssh({"SSH_CONNECTION": "1 2 3 4"}) and not over_ssh({})


async def test_ctrl_l_sends_the_whole_screen_again(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        frame = "\x1b[1;1H\x1b[1mAAPL\x1b[0m"
        app.screen_diff(frame)
        assert "AAPL" not in app.screen_diff(frame), "unchanged: not sent again"
        await pilot.press("ctrl+l")
        assert "AAPL" in app.screen_diff(frame)

"""What the user sees when space is short: switching at once, tape columns, toasts.

Checked on the real composited screen where the complaint was about the
screen (a badge hiding titles, a toast hiding the clock), not on one widget.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from textual.app import App
from textual.widgets._toast import Toast

from ticktape.config import Settings
from ticktape.feed.events import Quote, Trade
from ticktape.market import MarketState
from ticktape.ui.app import TicktapeApp
from ticktape.ui.tape import QUOTE_COLUMNS, TRADE_COLUMNS, TapeView, fit_columns

from .conftest import Host, MakeApp, until
from .test_startup import without_frame_timer

T0 = 1_736_951_400_000
QUOTE_TITLES = {c.title for c in QUOTE_COLUMNS} | {"×"}
TRADE_TITLES = {c.title for c in TRADE_COLUMNS} - {""}


def screen_lines(app: App[Any]) -> list[str]:
    """The composited screen as text (every layer but notifications)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_switching_repaints_chart_and_tape_without_waiting_for_a_frame(
    make_app: MakeApp,
) -> None:
    app = without_frame_timer(make_app())  # only the selection itself can repaint now
    async with app.run_test(size=(120, 36)) as pilot:
        chart, tape = app.main.chart, app.main.tape
        await until(pilot, lambda: chart.painted_symbol == tape.painted_symbol == "AAPL")
        await pilot.press("j")
        await until(pilot, lambda: chart.painted_symbol == tape.painted_symbol == "MSFT")
        assert chart.text_lines[0].startswith("MSFT") and "MSFT trades" in tape.label
        await pilot.press("j", "j")
        await until(pilot, lambda: chart.painted_symbol == tape.painted_symbol == "AMZN")


async def test_frame_listeners_hear_every_frame_with_its_duration(make_app: MakeApp) -> None:
    app: TicktapeApp = make_app()
    heard: list[float] = []
    worked: list[float] = []  # per frame: how long its watchlist repaint took, in ms
    async with app.run_test(size=(80, 24)) as pilot:
        watchlist = app.main.watchlist
        repaint = watchlist.show

        def slow_repaint(state: MarketState, now_ms: int) -> None:
            # Every frame repaints the watchlist once; this one takes at least 3 ms of work.
            started = time.perf_counter()
            repaint(state, now_ms)
            while time.perf_counter() - started < 0.003:
                pass
            worked.append((time.perf_counter() - started) * 1000.0)

        # both at once, between two frames: from here on each frame is seen by both
        watchlist.show = slow_repaint  # type: ignore[method-assign]
        app.frames.listeners.append(heard.append)
        await until(pilot, lambda: len(heard) >= 5)
        app.frames.listeners.remove(heard.append)
        watchlist.show = repaint  # type: ignore[method-assign]
    assert len(heard) == len(worked)  # every frame, once
    assert all(h >= w for h, w in zip(heard, worked, strict=True))  # the whole frame's time
    assert all(h < 1_000 for h in heard)  # milliseconds, not microseconds or seconds


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_paused_badge_hides_no_column_title(make_app: MakeApp, size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        tape = app.main.tape
        await pilot.press("t")
        await until(pilot, lambda: "AAPL quotes" in tape.label)
        header = tape.visible_text[0].split()
        await pilot.press("space")
        await until(pilot, lambda: "PAUSED" in tape.label)
        await pilot.pause()
        lines = screen_lines(app)
        assert any("PAUSED" in line and "AAPL quotes" in line for line in lines)
        assert tape.visible_text[0].split() == header  # the titles did not move or shrink
        assert {"Bid", "Ask", "BidSz", "AskSz"} <= set(header)


@pytest.mark.parametrize("width", range(24, 100, 3))
async def test_narrow_tapes_drop_whole_columns_and_keep_rows_aligned(width: int) -> None:
    state = MarketState(record_all_quotes=True)
    state.apply(
        [
            Quote(symbol="AAPL", bid=187.01, ask=187.04, bid_size=12, ask_size=3, timestamp=T0),
            Trade(symbol="AAPL", price=187.04, size=1_200, timestamp=T0 + 1, exchange=12),
        ],
        T0 + 5,
    )
    tape = TapeView()

    async with Host(tape).run_test(size=(width + 1, 8)) as pilot:  # + the scroll bar
        for mode, titles, value in (
            ("quotes", QUOTE_TITLES, "187.04"),
            ("trades", TRADE_TITLES, "1,200"),
        ):
            tape.mode = mode
            tape.show(state, "AAPL")
            await pilot.pause()
            header, row = tape.visible_text[:2]
            assert set(header.split()) <= titles, header  # whole titles only, none cut
            assert value in row  # the essential numbers survive every width
            if mode == "quotes" and "Spread" in header:
                assert "Time" in header and "BidSz" in header  # spread goes first
            if "AskSz" in header:  # sizes end under their titles
                edge = header.index("AskSz") + len("AskSz")
                assert row[edge - 1] == "3" and row[edge : edge + 1] in ("", " ")


def test_columns_leave_by_rank_sizes_as_a_pair() -> None:
    keys = [[c.key for c in fit_columns(QUOTE_COLUMNS, w)] for w in (61, 60, 51, 39, 23)]
    assert keys[0] == [c.key for c in QUOTE_COLUMNS]
    assert keys[1] == ["time", "bid_size", "bid", "times", "ask", "ask_size"]
    assert keys[2] == ["bid_size", "bid", "times", "ask", "ask_size"]
    assert keys[3] == keys[2]
    assert keys[4] == ["bid", "times", "ask"]
    trades = [c for c in TRADE_COLUMNS if c.key != "symbol"]
    assert [c.key for c in fit_columns(trades, 38)][-1] == "exchange"  # conditions went first


async def test_notifications_leave_the_status_bar_and_clock_visible(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.notify("a long notification that would cover the right end of the bar " * 2)
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        toast = app.screen.query_one(Toast)
        await until(pilot, lambda: toast.region.height > 0)
        bottom = app.main.query_one("#bottom").region  # the status bar and the Footer
        assert toast.region.bottom <= bottom.y, (toast.region, bottom)


async def test_a_watched_symbols_quotes_view_reaches_back_to_its_first_events_when_picked(
    settings: Settings,
) -> None:
    """The quotes view of a watched symbol is full the moment it is picked; others stay shallow."""
    app = TicktapeApp(settings.with_(watchlist="AAPL,MSFT"), connect=False)
    async with app.run_test(size=(120, 36)) as pilot:
        frames = [
            [
                Quote(symbol=s, bid=100.0, ask=100.02, bid_size=1, ask_size=2, timestamp=i)
                for s in ("AAPL", "MSFT", "ZZZZ")
            ]
            for i in range(1, 301)
        ]
        for frame in frames:
            app.state.apply(frame, 400)
        assert app.state.symbols["AAPL"].watched and app.state.symbols["MSFT"].watched
        assert not app.state.symbols["ZZZZ"].watched
        await pilot.press("a")  # add ZZZZ: from now on it is watched too
        await pilot.press(*"ZZZZ", "enter")
        await until(pilot, lambda: app.state.symbols["ZZZZ"].watched)
        await pilot.press("t", "k")  # from ZZZZ (just added) up to MSFT: its quotes view
        tape = app.main.tape
        await until(pilot, lambda: "MSFT quotes" in tape.label)

        def rows() -> list[str]:
            return [line for line in tape.visible_text[1:] if line.strip()]

        await until(pilot, lambda: "19:00:00.300" in rows()[0], seen=rows)  # the newest quote
        # Scrolled back to its end, the view reaches the 256th newest quote (ms 45 of 300),
        # not just what arrived since the pick: the deep ring, kept from the first event.
        await pilot.press("space")
        tape.scroll_end(animate=False, immediate=True)
        await until(pilot, lambda: "19:00:00.045" in rows()[-1], seen=rows)


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 30)])
async def test_the_chart_header_drops_whole_fields_never_half_a_number(
    make_app: MakeApp, size: tuple[int, int]
) -> None:
    # At 60 columns it used to end "L 2": a price cut short reads as a real one.
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        header = app.main.chart.text_lines[0].rstrip()
        assert header.startswith("AAPL 1m")
        fields = re.findall(r"\b([OHLCV]) (\S+)", header)
        assert ("C", "220.02") in fields  # the close is the last to go
        for label, value in fields:
            whole = r"[\d.]+[KMBT]?" if label == "V" else r"[\d,]+\.\d\d"  # fmt_volume's
            assert re.fullmatch(whole, value), (label, value)
        assert len(header) <= app.main.chart.size.width

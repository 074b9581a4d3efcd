"""The page title a browser tab shows under ``ticktape serve``: the selected symbol and its
last price, as OSC 2, when it changed and at most once a second."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import MakeApp, until
from ticktape.ui.app import TicktapeApp
from ticktape.ui.webtitle import WindowTitle, osc_title, title_for


def test_the_title_names_the_symbol_and_its_price_in_the_symbols_decimals() -> None:
    assert title_for("AAPL", 226.31) == "AAPL 226.31 · ticktape"
    assert title_for("EUR/USD", 1.083451) == "EUR/USD 1.08345 · ticktape"
    assert title_for("AAPL", None) == "AAPL · ticktape"  # before the first trade
    assert title_for(None, None) == "ticktape"  # an empty watchlist


def test_no_text_can_end_the_escape_or_start_another() -> None:
    assert osc_title("A\x1b]2;evil\x07B") == "\x1b]2;A]2;evilB\x07"
    assert "\x1b" not in title_for("A\x1bB", 1.0) and "\x07" not in title_for("A\x07", 1.0)


async def test_the_title_follows_the_selection_at_most_once_a_second(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: TicktapeApp = make_app()
    written: list[str] = []
    monkeypatch.setattr(app, "terminal_write", written.append)
    now = [100.0]
    title = WindowTitle(app, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        title(0.0)
        (first,) = written
        assert re.fullmatch(r"\x1b\]2;AAPL [\d,]+\.\d+ · ticktape\x07", first)
        title(0.0)
        assert written == [first]  # unchanged: nothing more is written
        await pilot.press("j")
        await until(pilot, lambda: app.main.watchlist.selected == "MSFT")
        now[0] += 0.5
        title(0.0)
        assert written == [first]  # too soon after the last one
        now[0] += 0.5
        title(0.0)
        assert len(written) == 2 and written[1].startswith("\x1b]2;MSFT ")

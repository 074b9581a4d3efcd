"""NOI imbalances of watched symbols become marked lines in their tape."""

from __future__ import annotations

from ticktape.feed.events import Imbalance
from ticktape.ui.app import TicktapeApp
from ticktape.ui.tape import MarkedLine

from .conftest import NOW_MS, MakeApp, build_state, until
from .test_snapshots import settled


def noi(app: TicktapeApp, symbol: str, shares: int) -> None:
    ev = Imbalance(symbol, NOW_MS * 1_000_000, 930, "O", 1, 10, shares, 5_000, 187.25)
    app.state.apply([ev], NOW_MS)


def marked(app: TicktapeApp) -> list[str]:
    return [r.text for r in app.main.tape._rows if isinstance(r, MarkedLine)]


async def test_an_imbalance_for_the_shown_symbol_is_a_marked_tape_line(make_app: MakeApp) -> None:
    app = make_app(state=build_state())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        assert app.main.watchlist.selected == "AAPL"
        noi(app, "ZZZZ", 1)  # not watched
        noi(app, "MSFT", 2)  # watched, not shown
        noi(app, "AAPL", 12_300)
        await until(pilot, lambda: bool(marked(app)), seen=lambda: marked(app))
        assert len(marked(app)) == 1
        line = marked(app)[0]
        assert "NOI AAPL O auction 0930: imbalance 12,300 paired 5,000 @ 187.25" in line
        await until(pilot, lambda: any("NOI AAPL" in t for t in app.main.tape.visible_text))
        await pilot.press("A")  # the tape of every symbol: every watched symbol's NOIs
        noi(app, "MSFT", 4_400)
        noi(app, "ZZZZ", 1)
        await until(pilot, lambda: any("NOI MSFT" in t for t in marked(app)))
        assert not any("ZZZZ" in t for t in marked(app))

"""Positions in the app: `p` adds and edits lots in positions.toml, the watchlist shows
P&L columns and totals, `P` hides them; snapshots of a P&L watchlist."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ticktape.config import Settings
from ticktape.market.positions import Lot, position
from ticktape.positionstore import load_lots
from ticktape.ui.positions import LotForm, fmt_money

from .conftest import SYMBOLS, MakeApp, until
from .test_snapshots import SnapCompare, settled

LOTS = """# lots for the snapshot
[[lots]]
symbol = "AAPL"
quantity = 10
price = 150
date = 2025-03-03

[[lots]]
symbol = "AAPL"
quantity = 5
price = 160
date = 2025-03-14
note = "bought today"

[[lots]]
symbol = "NVDA"
quantity = -20
price = 300

[[lots]]
symbol = "TSLA"
quantity = 2.5
price = 420
"""


def pnl_settings(tmp_path: Path, lots: str = LOTS) -> Settings:
    config = tmp_path / "config.toml"
    (tmp_path / "positions.toml").write_text(lots)
    return Settings(config_path=config, watchlist=SYMBOLS, theme="ticktape-dark")


async def test_p_adds_a_lot_that_lands_in_the_file_and_the_columns(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled()(pilot)
        wl = app.main.watchlist
        assert "day_pnl" not in wl.visible_columns  # no lots: no P&L columns
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, LotForm))
        form = app.screen
        assert isinstance(form, LotForm) and form.symbol == "AAPL"
        form.query_one("#lot-form-input").value = "10 @ 100 2025-03-03 first"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, LotForm))
        path = settings.config_path.parent / "positions.toml"
        assert [h.lot for h in load_lots(path).held] == [
            Lot("AAPL", 10, 100.0, date(2025, 3, 3), "first")
        ]
        await until(pilot, lambda: "day_pnl" in wl.visible_columns)
        st = app.state.get("AAPL")
        assert st is not None and st.last is not None
        lots = [h.lot for h in load_lots(path).held]
        want = position(lots, st.last, st.prev_close, app.positions.today())
        assert wl._rows["AAPL"].texts["total_pnl"] == fmt_money(want.total_pnl, signed=True)
        # edit it, then delete it
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, LotForm))
        app.screen.query_one("#lot-form-input").value = "#1 12 @ 100"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: app.positions.lots("AAPL") == [Lot("AAPL", 12, 100.0)])
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, LotForm))
        app.screen.query_one("#lot-form-input").value = "#1 delete"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: not app.positions.any)
        await until(pilot, lambda: "day_pnl" not in wl.visible_columns)


async def test_a_bad_phrase_is_named_in_the_form(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled("p")(pilot)
        await until(pilot, lambda: isinstance(app.screen, LotForm))
        app.screen.query_one("#lot-form-input").value = "ten @ 5"  # type: ignore[attr-defined]
        await pilot.press("enter")
        error = app.screen.query_one("#lot-form-error")
        await until(pilot, lambda: "quantity 'ten' is not a number" in str(error.render()))
        assert isinstance(app.screen, LotForm)


async def test_totals_row_and_capital_p_hides_the_columns(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(settings=pnl_settings(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled()(pilot)
        wl = app.main.watchlist
        await until(pilot, lambda: "day_pnl" in wl.visible_columns)
        rows = [wl._rows[s].values for s in ("AAPL", "NVDA", "TSLA")]
        total = sum(r["total_pnl"] or 0 for r in rows)
        totals_line = wl.render_line(len(SYMBOLS) + 1).text
        assert totals_line.lstrip().startswith("Total")
        assert fmt_money(total, signed=True) in totals_line
        await pilot.press("P")
        await until(pilot, lambda: "day_pnl" not in wl.visible_columns)
        await pilot.press("P")
        await until(pilot, lambda: "day_pnl" in wl.visible_columns)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_pnl_watchlist_snapshot(
    snap_compare: SnapCompare, make_app: MakeApp, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(settings=pnl_settings(tmp_path))
    assert snap_compare(app, terminal_size=size, run_before=settled())

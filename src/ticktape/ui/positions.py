"""Positions in the app: the `p` form for a symbol's lots and the watchlist's P&L cells.

Lots live in ``positions.toml`` beside the config file (:mod:`ticktape.positionstore`);
the figures are :mod:`ticktape.market.positions`. ``P`` shows or hides the P&L
columns. See docs/positions.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ticktape.config import ConfigFileError
from ticktape.market.positions import (
    LOT_USAGE,
    Lot,
    LotEdit,
    LotError,
    Pnl,
    lot_phrase,
    parse_lot_phrase,
    plain,
    position,
)
from ticktape.positionstore import (
    Held,
    add_lots,
    by_symbol,
    load_lots,
    positions_path,
    remove_lot,
    replace_lot,
)
from ticktape.timeutil import EXCHANGE_TZ, ms_to_zone
from ticktape.ui.format import fmt_pct

if TYPE_CHECKING:
    from ticktape.market import SymbolState

#: The watchlist's P&L column keys (see ui/watchlist.py COLUMNS).
PNL_KEYS: Final = ("position", "avg_cost", "market_value", "day_pnl", "total_pnl", "total_pct")


def fmt_money(x: float | None, *, signed: bool = False) -> str:
    """``12,345.67``; over 100k without cents, over 10M as ``12.3M`` (a 10-cell column)."""
    if x is None or x != x:
        return ""
    sign = "+" if signed and x > 0 else ""
    ax = abs(x)
    if ax >= 10_000_000:
        return f"{sign}{x / 1_000_000:,.1f}M"
    if ax >= 100_000:
        return f"{sign}{x:,.0f}"
    return f"{sign}{x:,.2f}"


def fmt_quantity(q: float | None) -> str:
    return "" if q is None else plain(q)


class Positions:
    """The lots by symbol, loaded from the file and changed through it (the file is the truth:
    every edit writes it and reads it back, so hand edits made meanwhile are seen)."""

    def __init__(self, config_path: Path, clock: Callable[[], int]) -> None:
        self.path = positions_path(config_path)
        self.clock = clock
        self.held: dict[str, list[Held]] = {}
        self.problems: list[str] = []
        self.version = 0  # goes up on every change (the watchlist redraws its cells)
        self.reload()

    def reload(self) -> None:
        try:
            loaded = load_lots(self.path)
        except ConfigFileError as err:
            self.problems = [f"positions not loaded — {err}"]
            self.held = {}
        else:
            self.problems = loaded.problems
            self.held = by_symbol(loaded.held)
        self.version += 1

    def lots(self, symbol: str) -> list[Lot]:
        return [h.lot for h in self.held.get(symbol, ())]

    def apply(self, symbol: str, edit: LotEdit) -> str:
        """Make the edit in the file; returns what was done, for a notice. Raises LotError
        (a lot number that is not there) or ConfigFileError/OSError (file not written)."""
        mine = self.held.get(symbol, [])
        if edit.index is not None and not 0 <= edit.index < len(mine):
            raise LotError(f"{symbol} has no lot #{edit.index + 1}")
        if edit.lot is None:
            assert edit.index is not None
            remove_lot(self.path, mine[edit.index].table)
            done = f"deleted {symbol} lot #{edit.index + 1}"
        elif edit.index is None:
            add_lots(self.path, [edit.lot])
            done = f"added {symbol} {lot_phrase(edit.lot)}"
        else:
            replace_lot(self.path, mine[edit.index].table, edit.lot)
            done = f"{symbol} lot #{edit.index + 1}: {lot_phrase(edit.lot)}"
        self.reload()
        return done

    @property
    def any(self) -> bool:
        return bool(self.held)

    def today(self) -> date:
        return ms_to_zone(self.clock(), EXCHANGE_TZ).date()

    def pnl(self, symbol: str, st: SymbolState | None) -> Pnl | None:
        lots = self.lots(symbol)
        if not lots:
            return None
        last = st.last if st is not None else None
        prev = st.prev_close if st is not None else None
        return position(lots, last, prev, self.today())

    def cells(self, symbol: str, st: SymbolState | None) -> dict[str, float | None]:
        """The watchlist's P&L values for a row (plus ``cost``, for the totals' percentage)."""
        p = self.pnl(symbol, st)
        if p is None:
            return dict.fromkeys((*PNL_KEYS, "cost"))
        return {
            "position": p.quantity,
            "avg_cost": p.avg_cost,
            "market_value": p.market_value,
            "day_pnl": p.day_pnl,
            "total_pnl": p.total_pnl,
            "total_pct": p.total_pct,
            "cost": abs(p.cost) if p.market_value is not None else None,
        }


class LotForm(ModalScreen[LotEdit | None]):
    """The symbol's lots, numbered, and one line to add, replace (#N …) or delete (#N delete)."""

    DEFAULT_CSS = """
    LotForm { align: center middle; }
    #lot-form {
        width: 76; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    #lot-form-title { text-style: bold; padding: 0 0 1 0; }
    #lot-form-lots { width: 100%; }
    #lot-form-error { color: $error; width: 100%; }
    #lot-form-hint { color: $text-muted; width: 100%; }
    """

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Cancel")
    ]

    def __init__(self, symbol: str, lots: list[Lot], value: str) -> None:
        super().__init__()
        self.symbol = symbol
        self.lots = lots
        self.value = value

    def compose(self) -> ComposeResult:
        listed = "\n".join(f"#{i + 1}  {lot_phrase(lot)}" for i, lot in enumerate(self.lots))
        with Vertical(id="lot-form"):
            yield Label(f"Lots of {self.symbol}", id="lot-form-title", markup=False)
            yield Label(listed or "no lots yet", id="lot-form-lots", markup=False)
            yield Input(
                value=self.value,
                placeholder="10 @ 187.50 2025-03-10 note",
                select_on_focus=False,
                id="lot-form-input",
            )
            yield Label("", id="lot-form-error", markup=False)
            yield Label(LOT_USAGE, id="lot-form-hint", markup=False)

    def _parse(self, value: str) -> LotEdit | str:
        try:
            edit = parse_lot_phrase(self.symbol, value)
        except LotError as err:
            return str(err)
        if edit.index is not None and edit.index >= len(self.lots):
            return f"{self.symbol} has no lot #{edit.index + 1}"
        return edit

    def on_input_changed(self, event: Input.Changed) -> None:
        got = self._parse(event.value) if event.value.strip() else ""
        self.query_one("#lot-form-error", Label).update(got if isinstance(got, str) else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        got = self._parse(event.value)
        if isinstance(got, str):
            self.query_one("#lot-form-error", Label).update(got)
            return
        self.dismiss(got)

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_lot_form(app: Any, positions: Positions, symbol: str | None, last: float | None) -> None:
    """`p`: the selected symbol's lots; the line starts as ``1 @ <last price>``."""
    if symbol is None:
        app.notify("no symbol selected — add one with a", timeout=3)
        return
    lots = positions.lots(symbol)
    value = f"1 @ {plain(last)}" if last is not None else ""

    def done(edit: LotEdit | None) -> None:
        if edit is None:
            return
        try:
            said = positions.apply(symbol, edit)
        except LotError as err:
            app.notice(str(err), "warning")
        except (ConfigFileError, OSError) as err:
            app.notice(f"positions not saved — {err}", "warning")
        else:
            app.notify(said, timeout=3, markup=False)
            app.pnl.changed()

    app.push_screen(LotForm(symbol, lots, value), done)


class PnlColumns:
    """The app's side of positions: ``p`` opens the selected symbol's lots, ``P`` hides or
    shows the watchlist's P&L columns (shown once there are lots)."""

    def __init__(self, app: Any, positions: Positions) -> None:
        """Args:
        app: the app whose watchlist shows the P&L cells.
        positions: the lots from positions.toml beside the config.
        """
        self.app = app
        self.positions = positions
        self.hidden = False  # `P` hid the P&L columns

    def lot_form(self) -> None:
        """``p``: add or edit a lot of the selected symbol."""
        symbol = self.app.main.watchlist.selected
        st = self.app.state.get(symbol) if symbol else None
        open_lot_form(self.app, self.positions, symbol, st.last if st is not None else None)

    def toggle(self) -> None:
        """``P``: show or hide the P&L columns and the totals row."""
        self.hidden = not self.hidden
        if self.hidden or self.positions.any:
            self.changed()
        else:
            self.app.notify("no positions yet — p adds a lot to the selected symbol", timeout=3)

    def changed(self) -> None:
        """Lots changed (or were loaded): the watchlist recomputes its P&L cells."""
        shown = self.positions.any and not self.hidden
        self.app.main.watchlist.set_pnl(self.positions.cells if shown else None)


#: P&L cells coloured by their sign.
PNL_SIGNED: Final = frozenset({"day_pnl", "total_pnl", "total_pct"})


def pnl_texts(values: dict[str, float | None]) -> dict[str, str]:
    """A row's P&L cells as shown (blank where there is no position)."""
    return {
        "position": fmt_quantity(values.get("position")),
        "avg_cost": fmt_money(values.get("avg_cost")),
        "market_value": fmt_money(values.get("market_value")),
        "day_pnl": fmt_money(values.get("day_pnl"), signed=True),
        "total_pnl": fmt_money(values.get("total_pnl"), signed=True),
        "total_pct": fmt_pct(values.get("total_pct")),
    }


def totals_texts(rows: list[dict[str, float | None]]) -> dict[str, str]:
    """The totals row: value, day and total P&L summed, total % of the summed cost."""

    def add(key: str) -> float | None:
        known = [v for r in rows if (v := r.get(key)) is not None]
        return sum(known) if known else None

    total, cost = add("total_pnl"), add("cost")
    pct = total / cost * 100.0 if total is not None and cost else None
    return {
        "market_value": fmt_money(add("market_value")),
        "day_pnl": fmt_money(add("day_pnl"), signed=True),
        "total_pnl": fmt_money(total, signed=True),
        "total_pct": fmt_pct(pct),
    }

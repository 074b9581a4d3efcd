"""The whole-market screen (``m``): movers, halts, imbalances and block trades in four boards.

See docs/market-view.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final, Literal

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from ticktape.feed.events import Event
from ticktape.market.marketview import MARKET_WIDE, MarketBoards, watched_only
from ticktape.market.wholemarket import RANKINGS, Ranking
from ticktape.timeutil import ms_to_zone
from ticktape.ui.format import (
    fmt_change,
    fmt_pct,
    fmt_price,
    fmt_volume,
    one_line,
    symbol_decimals,
)
from ticktape.ui.statusbar import StatusBar, describe_rest_error

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp

Align = Literal["<", ">"]
#: How many rows a board keeps ready (more than any terminal shows).
ROWS: Final = 60
_RANK_WORDS: Final[dict[Ranking, str]] = {
    "gainers": "gainers",
    "losers": "losers",
    "active": "most active",
    "dollar": "dollar volume",
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    width: int
    align: Align = ">"
    keep: int = 0  # 0 always shown; higher numbers are dropped first when the board is narrow


Cell = tuple[str, str]  # (text, component style name or "")


@dataclass(frozen=True, slots=True)
class Row:
    symbol: str
    cells: tuple[Cell, ...]


def _clock(ms: int, tz: str) -> str:
    return f"{ms_to_zone(ms, tz):%H:%M:%S}" if ms > 0 else ""


def _sym(symbol: str) -> str:
    return one_line(symbol)[:8]  # wire text: one line, no escapes, bounded


def _tone(x: float | None) -> str:
    return "" if x is None or x == 0 else "up" if x > 0 else "down"


def fmt_money(x: float) -> str:
    """``$1.2M``, ``$350K``: a notional or a dollar volume."""
    return "$" + fmt_volume(x)


class Board(Widget, can_focus=True):
    """A titled table of rows with a cursor; the focused board takes the keys."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "board--header",
        "board--cursor",
        "board--up",
        "board--down",
        "board--dark",
        "board--muted",
    }
    DEFAULT_CSS = """
    Board {
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    Board:focus {
        border: round $accent;
        border-title-color: $foreground;
    }
    .-ascii Board { border: ascii $panel-lighten-2; }
    .-ascii Board:focus { border: ascii $accent; }
    Board > .board--header { color: $text-muted; text-style: bold; }
    Board > .board--cursor { background: $block-cursor-blurred-background; }
    Board:focus > .board--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    Board > .board--up { color: $up; }
    Board > .board--down { color: $down; }
    Board > .board--dark { color: $text-muted; text-style: italic; }
    Board > .board--muted { color: $text-muted; }
    """

    def __init__(
        self,
        title: str,
        columns: Sequence[Column],
        empty: str,
        *,
        id: str,
        by_symbol: bool = False,
    ) -> None:
        """``by_symbol``: one row per symbol whose figures change (movers), so the cursor
        follows the symbol; otherwise rows are events and it follows the row itself."""
        super().__init__(id=id)
        self.by_symbol = by_symbol
        self.border_title = Text(title)  # a Text: never read as markup ("[/]" is a key)
        self.columns = tuple(columns)
        self.empty = empty
        self.rows: list[Row] = []
        self.cursor = 0
        self._top = 0

    @property
    def selected(self) -> str | None:
        return self.rows[self.cursor].symbol if self.rows else None

    def set_rows(self, rows: list[Row]) -> None:
        """New rows; the cursor stays on the row it was on (the same print, halt or mover)
        when that is still there, so rows arriving above it do not move the selection."""
        keep = self.rows[self.cursor] if self.rows else None
        key = self._key
        if keep is not None:
            wanted = key(keep)
            found = next((i for i, r in enumerate(rows) if key(r) == wanted), None)
            self.cursor = found if found is not None else min(self.cursor, len(rows) - 1)
        self.rows = rows
        self.cursor = max(0, self.cursor)
        self.refresh()

    def _key(self, row: Row) -> object:
        return row.symbol if self.by_symbol else row

    def move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
            self.refresh()

    def _fitted(self, width: int) -> list[Column]:
        cols = list(self.columns)
        while len(cols) > 1 and sum(c.width + 1 for c in cols) - 1 > width:
            drop = max(cols, key=lambda c: c.keep)
            if drop.keep == 0:
                break
            cols.remove(drop)
        return cols

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"board--{name}") if name else Style()

    def _line(self, cols: list[Column], cells: Sequence[Cell], base: Style | None) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        for i, col in enumerate(cols):
            text, style = cells[self.columns.index(col)]
            text = text[: col.width]
            cell = text.ljust(col.width) if col.align == "<" else text.rjust(col.width)
            line.append(cell, self._style(style))
            if i < len(cols) - 1:
                line.append(" ")
        if base is not None:
            line.stylize(base)
        line.truncate(self.content_size.width)  # a line never wraps into the next row
        return line

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        cols = self._fitted(width)
        out = Text(no_wrap=True, overflow="crop")
        header = tuple((c.name, "") for c in self.columns)
        out.append_text(self._line(cols, header, self._style("header")))
        room = max(0, height - 1)
        if not self.rows:
            out.append("\n")
            out.append(self.empty, self._style("muted"))
            return out
        if self.cursor < self._top:
            self._top = self.cursor
        elif self.cursor >= self._top + room:
            self._top = self.cursor - room + 1
        self._top = max(0, min(self._top, max(0, len(self.rows) - room)))
        for i in range(self._top, min(len(self.rows), self._top + room)):
            base = self._style("cursor") if i == self.cursor else None  # CSS: focused or not
            out.append("\n")
            line = self._line(cols, self.rows[i].cells, None)
            if base is not None:
                line.pad_right(max(0, width - line.cell_len))
                line.stylize(base)
            out.append_text(line)
        return out


MOVERS: Final = (
    Column("SYM", 6, "<"),
    Column("LAST", 9),
    Column("CHG", 8, keep=2),
    Column("CHG%", 8),
    Column("VOL", 7),
    Column("$VOL", 7, keep=1),
    Column("RVOL", 5, keep=3),
)
HALTS: Final = (
    Column("TIME", 8, "<"),
    Column("SYM", 6, "<"),
    Column("WHAT", 6, "<"),
    Column("BAND", 19, keep=1),
)
IMBALANCES: Final = (
    Column("SYM", 6, "<"),
    Column("SIDE", 4, "<"),
    Column("IMBAL", 7),
    Column("PAIRED", 7, keep=2),
    Column("REF", 9),
    Column("AUCTION", 13, "<", keep=1),
)
BLOCKS: Final = (
    Column("TIME", 8, "<"),
    Column("SYM", 6, "<"),
    Column("SIZE", 6),
    Column("PRICE", 8),
    Column("$", 7, keep=1),
    Column("", 4, "<"),
    Column("X", 3, keep=2),
    Column("COND", 11, "<", keep=3),
)


def mover_rows(boards: MarketBoards, ranking: Ranking, n: int = ROWS) -> list[Row]:
    rows = []
    for m in boards.movers.top(ranking, n):
        tone = _tone(m.change)
        rel = m.rel_volume
        places = symbol_decimals(m.symbol, m.last)  # the change in the price's own decimals
        rows.append(
            Row(
                m.symbol,
                (
                    (_sym(m.symbol), ""),
                    (fmt_price(m.last, places), ""),
                    (fmt_change(m.change, places), tone),
                    (fmt_pct(m.pct), tone),
                    (fmt_volume(m.volume), ""),
                    (fmt_money(m.dollar_volume), ""),
                    ("" if rel is None else f"{rel:.1f}x", ""),
                ),
            )
        )
    return rows


def halt_rows(boards: MarketBoards, tz: str, n: int = ROWS) -> list[Row]:
    rows = []
    for h in boards.halts.newest(n):
        tone = "down" if h.kind == "HALT" else "up" if h.kind == "RESUME" else ""
        band = f"{fmt_price(h.low)}-{fmt_price(h.high)}"
        cells = ((_clock(h.time_ms, tz), ""), (_sym(h.symbol), ""), (h.kind, tone), (band, "muted"))
        rows.append(Row(h.symbol, cells))
    return rows


def imbalance_rows(boards: MarketBoards, n: int = ROWS) -> list[Row]:
    rows = []
    for r in boards.imbalances.largest(n):
        tone = "up" if r.side == "buy" else "down" if r.side == "sell" else ""
        at = f"{r.auction_time // 100:02d}:{r.auction_time % 100:02d}" if r.auction_time else ""
        auction = one_line(f"{r.auction} {at}".strip())
        cells = (
            (_sym(r.symbol), ""),
            (r.side, tone),
            (fmt_volume(abs(r.imbalance)), tone),
            (fmt_volume(r.paired), ""),
            (fmt_price(r.price), ""),
            (auction, "muted"),
        )
        rows.append(Row(r.symbol, cells))
    return rows


_SIDE_WORDS: Final = {"B": ("ask", "up"), "S": ("bid", "down"), "M": ("mid", ""), "": ("", "")}


def block_rows(boards: MarketBoards, tz: str, n: int = ROWS) -> list[Row]:
    rows = []
    for b in boards.blocks.newest(n):
        side, tone = _SIDE_WORDS[b.side]
        mark = "dark" if b.dark else side
        style = "dark" if b.dark else tone
        conds = ",".join(str(c) for c in b.conditions[:4])
        cells = (
            (_clock(b.time_ms, tz), ""),
            (_sym(b.symbol), style),
            (f"{b.size:,}" if b.size < 100_000 else fmt_volume(b.size), style),
            (fmt_price(b.price), tone),
            (fmt_money(b.notional), ""),
            (mark, style),
            (str(b.exchange), "muted"),
            (conds, "muted"),
        )
        rows.append(Row(b.symbol, cells))
    return rows


class ConfirmAdd(ModalScreen[bool]):
    """Asks whether to add a symbol to the watchlist to chart it."""

    DEFAULT_CSS = """
    ConfirmAdd { align: center middle; }
    ConfirmAdd > Static {
        width: auto;
        max-width: 70;
        padding: 1 2;
        border: round $accent;
        background: $panel;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Add"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def __init__(self, symbol: str) -> None:
        super().__init__()
        self.symbol = symbol

    def compose(self) -> ComposeResult:
        text = Text(f"{_sym(self.symbol)} is not in the watchlist.\n")
        text.append("Add it and open its chart?  y / Enter: add · n / Esc: stay")
        yield Static(text)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class MarketScreen(Screen[str | None]):
    """Four boards over the whole market; dismissed with the symbol to chart, or None."""

    DEFAULT_CSS = """
    MarketScreen { layout: vertical; }
    MarketScreen > #boards { height: 1fr; }
    MarketScreen .board-row { height: 1fr; }
    MarketScreen > #market-bottom { height: auto; dock: bottom; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m,escape", "back", "Back"),
        Binding("enter", "open", "Chart"),
        Binding("r", "ranking", "Ranking"),
        Binding("plus,equals_sign", "shares(1)", "Block size", key_display="+/-"),
        Binding("minus", "shares(-1)", "Smaller blocks", show=False),
        Binding("right_square_bracket", "notional(1)", "Block $", key_display="]/["),
        Binding("left_square_bracket", "notional(-1)", "Smaller blocks ($)", show=False),
        Binding("j,down", "move(1)", "Down", show=False),
        Binding("k,up", "move(-1)", "Up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("right,l", "app.focus_next", "Next board", show=False),
        Binding("left,h", "app.focus_previous", "Previous board", show=False),
    ]

    def __init__(
        self,
        boards: MarketBoards,
        *,
        watched: Callable[[], tuple[str, ...]],
        tz: str = "America/New_York",
        feed_label: str = "LIVE",
        ascii_only: bool = False,
        ranking: Ranking = "gainers",
    ) -> None:
        super().__init__()
        self.boards = boards
        self.ranking: Ranking = ranking
        self._watched = watched
        self._tz = tz
        self._feed_label = feed_label
        self._ascii = ascii_only
        self._shown: tuple[int, Ranking] | None = None
        #: True once the boards exist: the app's frame timer may tick before that.
        self.ready = False
        if ascii_only:
            self.add_class("-ascii")

    def compose(self) -> ComposeResult:
        with Vertical(id="boards"):
            with Horizontal(classes="board-row"):
                yield Board(
                    "Movers", MOVERS, "waiting for the snapshot…", id="movers", by_symbol=True
                )
                yield Board("Halts (LULD)", HALTS, "no halts today", id="halts")
            with Horizontal(classes="board-row"):
                yield Board(
                    "Imbalances (NOI)", IMBALANCES, "no auction imbalances", id="imbalances"
                )
                yield Board("Blocks", BLOCKS, "no block trades yet", id="blocks")
        with Vertical(id="market-bottom"):
            yield StatusBar(
                feed_label=self._feed_label, tz=self._tz, ascii_only=self._ascii, id="market-status"
            )
            yield Footer(show_command_palette=not self._ascii)

    def on_mount(self) -> None:
        self.ready = True
        self.board("movers").focus()
        self.show(force=True)

    def on_unmount(self) -> None:
        self.ready = False

    def frame(self, paint_status: Callable[[StatusBar], None]) -> None:
        """One tick of the app's frame timer: the boards if they moved, and the status bar."""
        if not self.ready:
            return
        try:
            self.show()
            paint_status(self.status)
        except NoMatches:  # a tick while the screen is being taken down
            self.ready = False

    def board(self, name: str) -> Board:
        return self.query_one(f"#{name}", Board)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#market-status", StatusBar)

    def show(self, *, force: bool = False) -> None:
        """Repaint the boards if anything moved since the last time (the app's frame timer)."""
        key = (self.boards.version, self.ranking)
        if key == self._shown and not force:
            return
        self._shown = key
        b = self.boards
        movers = self.board("movers")
        movers.border_title = Text(f"Movers · {_RANK_WORDS[self.ranking]} (r)")
        movers.set_rows(mover_rows(b, self.ranking))
        self.board("halts").set_rows(halt_rows(b, self._tz))
        self.board("imbalances").set_rows(imbalance_rows(b))
        blocks = self.board("blocks")
        shares, notional = b.blocks.min_shares, b.blocks.min_notional
        blocks.border_title = Text(f"Blocks ≥ {shares:,} sh or {fmt_money(notional)}")
        blocks.set_rows(block_rows(b, self._tz))

    def _focused_board(self) -> Board:
        focused = self.focused
        return focused if isinstance(focused, Board) else self.board("movers")

    def action_move(self, delta: int) -> None:
        self._focused_board().move(delta)

    def action_ranking(self) -> None:
        self.ranking = RANKINGS[(RANKINGS.index(self.ranking) + 1) % len(RANKINGS)]
        self.show()

    def action_shares(self, direction: int) -> None:
        self.boards.step_shares(direction)
        self.show()

    def action_notional(self, direction: int) -> None:
        self.boards.step_notional(direction)
        self.show()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_open(self) -> None:
        symbol = self._focused_board().selected
        if symbol is None:
            return
        if symbol in self._watched():
            self.dismiss(symbol)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(symbol)

        self.app.push_screen(ConfirmAdd(symbol), answered)


#: Market snapshots seed the movers at most this often.
SNAPSHOT_EVERY_MS: Final = 300_000


class MarketViewLink:
    """The app's side of the whole-market view (``m``): its boards outlive the screen, its
    market-wide subscriptions do not. While it is shown, every event feeds the boards and
    only watched symbols reach the market state."""

    def __init__(self, app: TicktapeApp) -> None:
        """Args:
        app: the app that pushes the screen and owns the feed it subscribes through.
        """
        self.app = app
        self.boards: MarketBoards | None = None
        self.screen: MarketScreen | None = None
        self._wide: frozenset[str] | None = None  # the watched set, while it is shown
        #: The movers ranking last shown: the view reopens on it (for the run; view choices
        #: are not written to the config, as the block thresholds are not).
        self.ranking: Ranking = "gainers"
        self._snapshot_at: int | None = None

    def open(self) -> None:
        """Push the screen and subscribe to the market-wide channels while it is shown (on
        the stocks cluster, whatever the default market: its session opens if need be)."""
        app = self.app
        if self.screen is not None:
            return
        if self.boards is None:
            self.boards = MarketBoards(nbbo=self._nbbo)
        self.screen = MarketScreen(
            self.boards,
            watched=app.watched,
            tz=app.settings.tz,
            feed_label=app.feed_label,
            ascii_only=app.ascii_only,
            ranking=self.ranking,
        )
        app.push_screen(self.screen, self._closed)
        self._wide = frozenset(app.followed())
        app.feed.resubscribe()
        self.seed_movers()

    def _closed(self, symbol: str | None) -> None:
        """Back from the market view; Enter on a row brought ``symbol`` (added if new)."""
        app = self.app
        if self.screen is not None:
            self.ranking = self.screen.ranking
        self.screen = None
        self._wide = None
        app.feed.resubscribe()
        if symbol in app.watched():
            app.main.select_symbol(symbol)
        elif symbol:
            app.main.add_symbol(symbol)  # selects it; its history loads like any new symbol

    def params(self, watched: tuple[str, ...]) -> set[str]:
        """The market-wide subscriptions to add to the watchlist's (none unless shown)."""
        if self._wide is not None:
            self._wide = frozenset(watched)
        return set(MARKET_WIDE) if self._wide else set()

    def route(self, events: Sequence[Event]) -> Sequence[Event]:
        """While shown the whole market feeds the boards; only watched symbols become state."""
        if self._wide is None or self.boards is None:
            return events
        self.boards.feed(events)
        return watched_only(events, self._wide)

    def frame(self, show_bar: Callable[[StatusBar], None]) -> None:
        """Repaint the view, only while it is the screen shown."""
        screen = self.screen
        if screen is not None and self.app.screen is screen:
            screen.frame(show_bar)

    def _nbbo(self, symbol: str) -> tuple[float, float] | None:
        st = self.app.state.get(symbol)
        if st is None or not (st.bid_px > 0 and st.ask_px > 0):  # NaN: no quote yet
            return None
        return st.bid_px, st.ask_px

    def seed_movers(self) -> None:
        """Snapshots (gainers, losers, then every ticker) seed the movers, at most every 5 min."""
        if self.screen is None:
            return
        now = self.app.clock()
        if self.app.feed.rest is None or (
            self._snapshot_at is not None and now - self._snapshot_at < SNAPSHOT_EVERY_MS
        ):
            return
        self._snapshot_at = now
        self.app.run_worker(self._load_snapshots(), name="snapshots", group="rest")

    async def _load_snapshots(self) -> None:
        rest, boards = self.app.feed.rest, self.boards
        assert rest is not None and boards is not None
        try:
            for direction in ("gainers", "losers"):
                boards.seed(await rest.snapshot_direction(direction))
            boards.seed(await rest.snapshot_all())
        except Exception as err:  # the minute bars still fill the movers, only slower
            self._snapshot_at = None
            self.app.notice(*describe_rest_error(err, "market snapshot"))

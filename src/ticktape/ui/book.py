"""The order-book pane (`B`): a crypto pair's top levels a side as a ladder with size bars.

It shows :attr:`MarketState.books` (``XL2`` snapshots) for the selected pair, with
the spread and the book's imbalance, repainted on the app's frame timer only when
a new snapshot came; ``XL2`` is subscribed for that one pair only while the pane
shows. See docs/ui.md (the order book).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from rich.text import Text
from textual.widget import Widget

from ticktape.market.book import OrderBook
from ticktape.ui.format import fmt_price, is_crypto, size_decimals, symbol_decimals
from ticktape.ui.panes import StackedPane
from ticktape.ui.themes import theme_colour

if TYPE_CHECKING:
    from ticktape.market import MarketState

#: Levels a side the ladder shows (fewer if the pane is short).
LEVELS: Final = 10
#: Imbalance is taken over this many levels a side.
IMBALANCE_DEPTH: Final = 10
#: Polygon crypto exchange ids → names (the simulator uses the same ids).
EXCHANGES: Final = {1: "Coinbase", 2: "Bitfinex", 6: "Bitstamp", 23: "Kraken"}


def book_params(symbol: str | None) -> tuple[str, ...]:
    """What to subscribe for the pane: ``XL2`` of the selected pair, nothing otherwise."""
    return (f"XL2.{symbol}",) if symbol and is_crypto(symbol) else ()


def ladder_lines(
    book: OrderBook,
    width: int,
    rows: int,
    *,
    ascii_only: bool = False,
    colours: tuple[str, str] = ("green", "red"),
) -> list[Text]:
    """The ladder: one row per level, bids left (best at the top), asks right.

    Each side is ``size bar price``, mirrored, so the two best prices meet in the
    middle; bars are scaled to the largest size shown on either side.
    """
    bids, asks = book.bids[:rows], book.asks[:rows]
    shown = [s for _, s in bids] + [s for _, s in asks]
    biggest = max(shown, default=0.0) or 1.0
    ref = book.mid or (bids[0][0] if bids else asks[0][0] if asks else 1.0)
    pd = symbol_decimals(book.symbol, ref)
    sd = size_decimals(ref)
    prices = [fmt_price(p, pd) for p, _ in (*bids, *asks)]
    sizes = [f"{s:,.{sd}f}" for _, s in (*bids, *asks)]
    pw = max((len(p) for p in prices), default=1)
    sw = max((len(s) for s in sizes), default=1)
    half = (width - 3) // 2  # " │ " between the sides
    bar_w = max(0, half - pw - sw - 2)
    block = "#" if ascii_only else "█"
    sep = " | " if ascii_only else " │ "
    up, down = colours
    out = []
    for i in range(max(len(bids), len(asks))):
        line = Text(no_wrap=True, overflow="crop")
        if i < len(bids):
            p, s = bids[i]
            bar = block * max(1, round(bar_w * s / biggest)) if bar_w else ""
            line.append(f"{s:,.{sd}f}".rjust(sw) + " ", style="dim")
            line.append(bar.rjust(bar_w), style=up)
            line.append(" " + fmt_price(p, pd).rjust(pw), style=f"bold {up}")
        else:
            line.append(" " * half)
        line.append(sep, style="dim")
        if i < len(asks):
            p, s = asks[i]
            bar = block * max(1, round(bar_w * s / biggest)) if bar_w else ""
            line.append(fmt_price(p, pd).ljust(pw) + " ", style=f"bold {down}")
            line.append(bar.ljust(bar_w), style=down)
            line.append(" " + f"{s:,.{sd}f}".ljust(sw), style="dim")
        out.append(line)
    return out


def summary(book: OrderBook) -> str:
    """``spread 0.60 (0.9 bp) · imbalance +23% bids`` for the pane's bottom line."""
    parts = []
    spread, mid = book.spread, book.mid
    if spread is not None and mid:
        pd = symbol_decimals(book.symbol, mid)
        parts.append(f"spread {fmt_price(spread, pd)} ({spread / mid * 10_000:.1f} bp)")
    imb = book.imbalance(IMBALANCE_DEPTH)
    if imb is not None:
        leaning = "bids" if imb > 0 else "asks" if imb < 0 else "even"
        parts.append(f"imbalance {imb * 100:+.0f}% {leaning} (top {IMBALANCE_DEPTH})")
    return " · ".join(parts)


class BookPane(StackedPane):
    """The selected pair's ladder; :meth:`show` is called on every frame."""

    DEFAULT_CSS = """
    BookPane { max-height: 50%; }
    """

    def __init__(
        self,
        subscribe: Callable[[Iterable[str]], bool],
        *,
        market: str = "crypto",
        ascii_only: bool = False,
        **kwargs: Any,
    ) -> None:
        """``subscribe(params)`` makes those the extra subscriptions; False if it could not
        (no session yet), so the pane asks again on the next frame."""
        super().__init__(ascii_only=ascii_only, **kwargs)
        self.subscribe = subscribe
        self.market = market
        self.ascii_only = ascii_only
        self.symbol: str | None = None
        self.book: OrderBook | None = None
        self._shown: tuple[str | None, int] = (None, -1)
        self._subscribed: tuple[str, ...] | None = None
        self.border_title = "Book"

    def show(self, state: MarketState, symbol: str | None) -> None:
        params = book_params(symbol)
        if params != self._subscribed and self.subscribe(params):
            self._subscribed = params
        book = state.books.get(symbol) if symbol else None
        key = (symbol, book.version if book is not None else -1)
        if key != self._shown:
            self._shown = key
            self.symbol, self.book = symbol, book
            self.refresh(layout=True)

    def on_unmount(self) -> None:
        self.subscribe(())  # no XL2 while nobody looks

    def render(self) -> Text:
        symbol, book = self.symbol, self.book
        sep = " | " if self.ascii_only else " · "
        self.border_title = f"Book {symbol or ''}".rstrip()
        if symbol is None or not is_crypto(symbol):
            return Text(
                "order book: select a crypto pair (BTC-USD …)"
                if self.market == "crypto"
                else "order book: crypto pairs only (add one with a, e.g. BTC-USD)"
            )
        if book is None or not (book.bids or book.asks):
            return Text(f"waiting for {symbol}'s book (XL2)…")
        where = EXCHANGES.get(book.exchange, f"exchange {book.exchange}")
        self.border_title = f"Book {symbol}{sep}{where}"
        rows = self._rows()
        text = Text(no_wrap=True, overflow="crop")
        variables = self.app.theme_variables
        colours = (
            theme_colour(variables, "up", "success", default="green").hex,
            theme_colour(variables, "down", "error", default="red").hex,
        )
        lines = ladder_lines(
            book, self.size.width, rows, ascii_only=self.ascii_only, colours=colours
        )
        for line in lines:
            text.append_text(line)
            text.append("\n")
        text.append(summary(book).replace(" · ", sep), style="bold")
        return text

    def _rows(self) -> int:
        """Levels that fit: a third of the column, so the chart and the tape keep rows too."""
        room = self.parent.size.height if isinstance(self.parent, Widget) else 2 * LEVELS
        return max(1, min(LEVELS, room // 3 - 1))

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        book = self.book
        if book is None or not (book.bids or book.asks):
            return 1
        return min(self._rows(), max(len(book.bids), len(book.asks))) + 1


def toggle_book(app: Any) -> BookPane | None:
    """Show the pane under the chart (above the tape), or take it away (None)."""
    main = app.main
    found = main.query(BookPane)
    if found:
        found.remove()
        return None
    pane = BookPane(
        app.feed.set_book_params, market=main.market, ascii_only=main.has_class("-ascii"), id="book"
    )
    main.query_one("#right").mount(pane, before="#tape")
    pane.show(app.state, main.watchlist.selected)
    return pane

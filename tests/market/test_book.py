"""The crypto order book: XL2 snapshots applied through MarketState, and its figures."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ticktape.feed.events import CryptoL2, CryptoQuote
from ticktape.market import MarketState
from ticktape.market.book import OrderBook
from ticktape.sim.market import SimMarket

T0 = 1_760_000_000_000


def test_a_snapshot_replaces_the_book_best_first_and_the_row_is_not_touched() -> None:
    state = MarketState()
    state.apply([CryptoQuote("BTC-USD", 99.0, 101.0, T0, 1.0, 1.0, 1)], T0)
    row_version = state.symbols["BTC-USD"].version
    l2 = CryptoL2("BTC-USD", T0 + 1, ((99.0, 2.0), (100.0, 1.0)), ((102.0, 3.0), (101.0, 1.0)), 1)
    state.apply([l2], T0 + 1)
    book = state.books["BTC-USD"]
    assert book.bids == ((100.0, 1.0), (99.0, 2.0))
    assert book.asks == ((101.0, 1.0), (102.0, 3.0))
    assert (book.spread, book.mid) == (1.0, 100.5)
    assert book.version == state.version
    assert state.symbols["BTC-USD"].version == row_version
    state.apply([CryptoL2("BTC-USD", T0 + 2, ((98.0, 5.0),), (), 2)], T0 + 2)
    assert book.bids == ((98.0, 5.0),) and book.asks == () and book.spread is None


def test_bad_levels_are_dropped_and_a_bad_symbol_is_skipped() -> None:
    state = MarketState()
    nan = float("nan")
    state.apply(
        [CryptoL2("ETH-USD", T0, ((10.0, nan), (9.0, 0.0), (8.0, 1.0)), ((11.0, -1.0),), 1)], T0
    )
    assert state.books["ETH-USD"].bids == ((8.0, 1.0),)
    assert state.books["ETH-USD"].asks == ()
    state.apply([CryptoL2("\x1b[31mX", T0, ((1.0, 1.0),), (), 1)], T0)
    assert state.bad_events == 1 and "\x1b[31mX" not in state.books


def test_imbalance_over_the_top_levels() -> None:
    book = OrderBook("BTC-USD")
    book.replace([(100.0, 3.0), (99.0, 100.0)], [(101.0, 1.0), (102.0, 100.0)], T0, 1, 1)
    assert book.imbalance(1) == pytest.approx((3 - 1) / 4)
    assert book.imbalance(2) == pytest.approx((103 - 101) / 204)
    assert OrderBook("X").imbalance(10) is None


def test_the_simulated_book_sits_on_the_quote_and_moves_with_the_market() -> None:
    m = SimMarket("crypto", seed=3, symbols=["BTC-USD"], rate=200.0, start_ms=T0)
    books: list[CryptoL2] = []
    last_quote: CryptoQuote | None = None
    touch_matches = 0
    for w in range(1, 121):
        for e in m.advance(T0 + w * 1_000):
            if isinstance(e, CryptoQuote):
                last_quote = e
            elif isinstance(e, CryptoL2):
                books.append(e)
                if last_quote is not None:
                    touch_matches += (e.bids[0][0], e.asks[0][0]) == (
                        last_quote.bid,
                        last_quote.ask,
                    )
    assert len(books) >= 10
    # the touch is the quote of the moment, every time
    assert touch_matches == len(books) - (last_quote is None)
    # levels persist between snapshots (a kept book, not a redraw): deeper prices recur
    shared = [
        len({p for p, _ in a.bids[2:]} & {p for p, _ in b.bids[2:]}) for a, b in pairwise(books)
    ]
    assert sum(1 for n in shared if n > 0) > len(shared) // 2
    # and the book moves: the best bid is not one price all along
    assert len({b.bids[0][0] for b in books}) > 3

"""The order-book pane (`B`): the simulator's book in the ladder, XL2 subscribed only while
it shows, and snapshots of the pane."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ticktape.config import Settings
from ticktape.feed.events import CryptoL2, CryptoQuote, CryptoTrade, Event
from ticktape.feed.stats import FeedStats
from ticktape.market import MarketState
from ticktape.sim.market import SimMarket
from ticktape.ui.book import BookPane
from ticktape.ui.format import fmt_price, size_decimals, symbol_decimals

from .conftest import NOW_MS, START_MS, MakeApp, until
from .test_snapshots import SnapCompare, settled

PAIRS = ("BTC-USD", "ETH-USD", "SOL-USD")


def crypto_state() -> MarketState:
    """Hand-made quotes, trades and one book a pair (no simulator: snapshots stay put)."""
    rng = random.Random(11)
    state = MarketState()
    for pair, price in zip(PAIRS, (64_210.5, 3_125.25, 142.37), strict=True):
        frame: list[Event] = []
        t = START_MS
        for _ in range(20):
            t += 1_000
            price *= 1 + rng.gauss(0, 0.0005)
            bid, ask = round(price - 0.5, 2), round(price + 0.5, 2)
            frame.append(CryptoQuote(pair, bid, ask, t, 1.0, 1.0, 1))
            frame.append(CryptoTrade(pair, ask, round(rng.random(), 4), t + 1, (2,), 0, 1))
        bids = tuple(
            (round(bid - i * 1.5, 2), round(0.2 + rng.random() * (i + 1), 4)) for i in range(15)
        )
        asks = tuple(
            (round(ask + i * 1.5, 2), round(0.2 + rng.random() * (i + 1), 4)) for i in range(15)
        )
        frame.append(CryptoL2(pair, t + 2, bids, asks, 1))
        state.apply(frame, NOW_MS - 1_000)
    return state


def crypto_settings(tmp_path: Path) -> Settings:
    return Settings(
        config_path=tmp_path / "config.toml",
        watchlist=PAIRS,
        theme="ticktape-dark",
        market="crypto",
    )


class Subscriptions:
    """Stands in for the session: records the extra params the pane asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.stats = FeedStats()  # the status bar reads it

    def set_extra_params(self, params: Iterable[str]) -> None:
        self.calls.append(tuple(params))

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """The watchlist's share of this session: not what this stand-in records."""

    async def stop(self) -> None:
        """The app stops its session on the way out."""


def ladder_text(app: Any) -> str:
    pane = app.main.query_one(BookPane)
    return str(pane.render())


async def test_the_ladder_shows_the_simulators_book(make_app: MakeApp, tmp_path: Path) -> None:
    sim = SimMarket("crypto", seed=5, symbols=list(PAIRS), rate=100.0, start_ms=START_MS)
    state = MarketState()
    for w in range(1, 31):
        state.apply(sim.advance(START_MS + w * 1_000), START_MS + w * 1_000)
    book = state.books["ETH-USD"]
    assert book.bids and book.asks
    app = make_app(settings=crypto_settings(tmp_path), state=state, clock=lambda: START_MS + 30_000)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled()(pilot)
        app.main.select_symbol("ETH-USD")
        await pilot.press("B")
        await until(pilot, lambda: bool(app.main.query(BookPane)))
        pane = app.main.query_one(BookPane)
        await until(pilot, lambda: pane.book is book, seen=lambda: pane.symbol)
        text = str(pane.render())
        pd, sd = symbol_decimals("ETH-USD", book.mid or 1.0), size_decimals(book.mid or 1.0)
        lines = text.splitlines()
        # level by level: the best of each side on the first row, in the book's order
        for i, ((bp, bs), (ap, a_s)) in enumerate(zip(book.bids[:5], book.asks[:5], strict=True)):
            assert fmt_price(bp, pd) in lines[i] and f"{bs:,.{sd}f}" in lines[i]
            assert fmt_price(ap, pd) in lines[i] and f"{a_s:,.{sd}f}" in lines[i]
        assert "spread" in lines[-1] and "imbalance" in lines[-1]


async def test_xl2_is_subscribed_for_the_selected_pair_only_while_the_pane_shows(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(settings=crypto_settings(tmp_path), state=crypto_state())
    subs = Subscriptions()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        app.feed.session = subs  # type: ignore[assignment]
        await pilot.press("B")
        await until(pilot, lambda: subs.calls[-1:] == [("XL2.BTC-USD",)], seen=lambda: subs.calls)
        await pilot.press("j")
        await until(pilot, lambda: subs.calls[-1:] == [("XL2.ETH-USD",)], seen=lambda: subs.calls)
        await pilot.press("B")
        await until(pilot, lambda: not app.main.query(BookPane))
        await until(pilot, lambda: subs.calls[-1:] == [()], seen=lambda: subs.calls)


async def test_a_stock_market_pane_says_the_book_is_crypto_only(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled("B")(pilot)
        await until(pilot, lambda: bool(app.main.query(BookPane)))
        assert "crypto pairs only" in str(app.main.query_one(BookPane).render())


def book_shown() -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled("B")(pilot)
        await until(pilot, lambda: bool(pilot.app.main.query(BookPane)))
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_order_book_snapshot(
    snap_compare: SnapCompare, make_app: MakeApp, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(settings=crypto_settings(tmp_path), state=crypto_state())
    assert snap_compare(app, terminal_size=size, run_before=book_shown())

"""A whole simulated market (``--listed``): the asked names trade at once, thousands join."""

from __future__ import annotations

from collections import Counter

from ticktape.feed.events import Quote, Trade
from ticktape.sim.market import SimMarket
from ticktape.sim.symbols import DEFAULT_STOCKS, listed_names

START = 1_764_700_000_000  # a Tuesday, 13:26 New York


def test_a_listed_market_starts_with_the_asked_names_and_grows_to_its_size() -> None:
    sim = SimMarket(seed=1, symbols=["AAPL", "ZZZZ"], listed=1_000, rate=2000.0, start_ms=START)
    assert sim.symbols == ["AAPL", "ZZZZ"]  # nothing else to set up before the first tick
    seen: Counter[str] = Counter()
    for i in range(1, 200):
        for ev in sim.advance(START + i * 100):
            if isinstance(ev, Trade | Quote):
                seen[ev.symbol] += 1
    assert len(sim.symbols) == len(sim.universe) == 1_000
    assert sim.universe[:2] == ["AAPL", "ZZZZ"] and set(DEFAULT_STOCKS) <= set(sim.universe)
    assert len(seen) > 500  # the tail trades too, each name rarely
    tail = [s for s in sim.universe if s not in DEFAULT_STOCKS and s not in ("AAPL", "ZZZZ")]
    assert seen["AAPL"] > 10 * max(1, sum(seen[s] for s in tail) / len(tail))


def test_made_up_names_are_the_same_every_run_and_never_a_default() -> None:
    names = listed_names(500)
    assert names == listed_names(500) and len(set(names)) == 500
    assert not set(names) & set(DEFAULT_STOCKS)
    assert all(2 <= len(n) <= 4 and n.isalpha() and n.isupper() for n in names)

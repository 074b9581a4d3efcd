"""The whole-market narrow decode gives the block board exactly what the full decode does."""

from __future__ import annotations

import msgspec

from ticktape.feed.decode import Decoder
from ticktape.feed.events import MinuteAgg, Quote, Trade
from ticktape.feed.narrow import MarketDecoder, Print
from ticktape.market.wholemarket import BlockFilter
from ticktape.sim.market import SimMarket

START = 1_764_700_000_000  # a Tuesday, 13:26 New York


def frames() -> list[bytes]:
    sim = SimMarket(seed=5, rate=2000.0, start_ms=START)
    out = [msgspec.json.encode(sim.advance(START + i * 200)) for i in range(1, 300)]
    big = Trade(symbol="XYZ", price=50.0, size=25_000, timestamp=START, exchange=4, trf_id=3)
    out.append(msgspec.json.encode([big, Quote(symbol="XYZ", bid=1, ask=2, timestamp=START)]))
    return out


def test_narrow_blocks_equal_full_blocks_over_a_simulated_market() -> None:
    full, narrow = BlockFilter(min_shares=1_000), BlockFilter(min_shares=1_000)
    full_decode, narrow_decode = Decoder().decode, MarketDecoder().decode
    kinds: set[type] = set()
    for frame in frames():
        full.feed(full_decode(frame))
        events = narrow_decode(frame)
        kinds.update(type(ev) for ev in events)
        narrow.feed(events)
    assert len(full.blocks) > 10
    assert list(narrow.blocks) == list(full.blocks)  # dark marks and conditions included
    assert full.blocks[-1].dark and full.blocks[-1].symbol == "XYZ"
    # trades are narrow, the boards' other events whole, quotes and second bars stubs
    assert Print in kinds and MinuteAgg in kinds
    assert Trade not in kinds and Quote not in kinds


def test_bad_elements_are_counted_and_the_good_ones_kept() -> None:
    d = MarketDecoder()
    frame = b'[{"ev":"T","sym":"A","p":1.5,"s":100,"t":5},{"ev":"ZZ"},{"ev":"T","sym":"B"}]'
    assert d.decode(frame) == [Print("A", 1.5, 100, 5)]
    assert d.decode(b"not json") == []
    assert (d.stats.frames, d.stats.events, d.stats.error_total) == (2, 1, 3)

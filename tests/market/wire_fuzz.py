"""Real-shaped wire frames and the ways a hostile or broken server could bend them.

Shared by the fuzz test (hypothesis draws from these tables, so failures shrink to
one field) and the soak run (a seeded ``random.Random`` draws 100,000 frames).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Final

from ticktape.market import MarketState
from ticktape.timeutil import format_hms_ms, ms_to_zone

T0: Final = 1_764_700_000_000  # a Tuesday afternoon in December 2025, in ms

#: One plausible event per wire tag, with every field the decoder knows.
TEMPLATES: Final[dict[str, dict[str, Any]]] = {
    "T": {"sym": "AAPL", "p": 190.5, "s": 100, "t": T0, "x": 4, "i": "1", "z": 3, "c": [12, 37]},
    "Q": {"sym": "AAPL", "bp": 190.4, "ap": 190.6, "bs": 2, "as": 3, "t": T0, "c": 0, "i": [1]},
    "A": {
        "sym": "AAPL", "o": 190, "h": 191, "l": 189, "c": 190.5, "v": 1000, "s": T0,
        "e": T0 + 1000, "av": 50_000, "op": 188.0, "vw": 190.2, "a": 189.9, "z": 50,
    },
    "AM": {
        "sym": "AAPL", "o": 190, "h": 191, "l": 189, "c": 190.5, "v": 1000, "s": T0,
        "e": T0 + 60_000, "av": 50_000, "op": 188.0, "vw": 190.2, "a": 189.9, "z": 50,
    },
    "LULD": {"T": "AAPL", "h": 200.0, "l": 180.0, "t": T0 * 1000, "i": [17], "z": 3},
    "NOI": {
        "T": "AAPL", "t": T0 * 1_000_000, "at": 930, "a": "O", "i": 1, "x": 4, "o": 1000,
        "p": 500, "b": 190.0,
    },
    "C": {"p": "EUR/USD", "a": 1.1, "b": 1.09, "t": T0, "x": 48},
    "CA": {"pair": "EUR/USD", "o": 1.1, "h": 1.2, "l": 1.0, "c": 1.1, "v": 10, "s": T0,
           "e": T0 + 60_000, "vw": 1.1, "z": 1},
    "CAS": {"pair": "EUR/USD", "o": 1.1, "h": 1.2, "l": 1.0, "c": 1.1, "v": 10, "s": T0,
            "e": T0 + 1000},
    "XT": {"pair": "BTC-USD", "p": 90_000.0, "s": 0.1, "t": T0, "c": [1], "i": "a", "x": 1},
    "XQ": {"pair": "BTC-USD", "bp": 89_999.0, "ap": 90_001.0, "bs": 1.0, "as": 2.0, "t": T0},
    "XL2": {"pair": "BTC-USD", "t": T0, "b": [[1.0, 2.0]], "a": [[2.0, 3.0]], "x": 1},
    "XA": {"pair": "BTC-USD", "o": 1.1, "h": 1.2, "l": 1.0, "c": 1.1, "v": 10, "s": T0,
           "e": T0 + 60_000, "vw": 1.1, "z": 1},
    "XAS": {"pair": "BTC-USD", "o": 1.1, "h": 1.2, "l": 1.0, "c": 1.1, "v": 10, "s": T0,
            "e": T0 + 1000},
}  # fmt: skip

#: What a field may be replaced by: absurd numbers (JSON has no NaN or inf, and msgspec
#: refuses 1e400, but ints of any size and floats near the limits get through), wrong
#: types, markup and terminal escapes.
HOSTILE: Final[tuple[Any, ...]] = (
    0, -1, -(10**15), -62_135_596_800_001, 10**14, 10**16, 10**17, 10**20, 2**63 - 1, 2**63,
    2**64, -(2**63) - 1, 10**30, 253_402_300_800_000, 1e308, -1e308, 5e-324, 0.5, -0.0,
    "x", "", "[bold red]X[/]", "\x1b[2J\x1b[31m", "1e400", None, True, [], {}, [1, "a"],
    [2**64], [[1e308, -1]],
)  # fmt: skip

#: Keep this many leading bytes of a frame (None: all): truncation mid-number or mid-string.
TRUNCATE: Final = (None, None, None, 0, 1, 17, 40, 95)


def event(tag: str, changes: dict[str, Any], dropped: frozenset[str] = frozenset()) -> dict:
    """The template for ``tag`` with fields changed or dropped."""
    ev = {k: v for k, v in TEMPLATES[tag].items() if k not in dropped}
    ev.update(changes)
    return {"ev": tag, **ev}


def random_frame(rng: random.Random) -> list[dict[str, Any]]:
    """A frame of 1-8 events, each with a fair chance of 1-3 bent fields."""
    out = []
    for _ in range(rng.randint(1, 8)):
        tag = rng.choice(list(TEMPLATES))
        fields = list(TEMPLATES[tag])
        changes: dict[str, Any] = {}
        dropped: set[str] = set()
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                name = rng.choice(fields)
                if rng.random() < 0.1:
                    dropped.add(name)
                else:
                    changes[name] = rng.choice(HOSTILE)
        out.append(event(tag, changes, frozenset(dropped)))
    return out


def readings(state: MarketState) -> Iterator[object]:
    """Everything the UI reads of the state and turns into calendar dates or clock times."""
    for sym in list(state.symbols):
        s = state.symbols[sym]
        for ms in (s.last_ms, s.quote_ms):
            yield ms_to_zone(ms)
        for timeframe in ("1s", "1m", "5m", "1h", "1D"):
            for bar in state.bars(sym, timeframe):
                yield ms_to_zone(bar.start_ms)
        for trade in s.trades.newest(20):
            yield format_hms_ms(trade.time_ms)
        for quote in s.quotes.newest(20):
            yield format_hms_ms(quote.time_ms)
    for entry in state.tape.newest(50):
        yield format_hms_ms(entry.time_ms)
    for notice in state.events_tape.newest(50):
        yield format_hms_ms(notice.time_ms)

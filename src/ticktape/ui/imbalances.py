"""NOI imbalances in the tape: each new one for a watched symbol becomes a marked line.

Read from :attr:`MarketState.events_tape` once a frame (a handful a minute at most,
before the open and close auctions). See docs/ui.md (the tape).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from ticktape.timeutil import EXCHANGE_TZ, format_hms_ms
from ticktape.ui.format import one_line

if TYPE_CHECKING:
    from ticktape.market import MarketState


class ImbalanceLines:
    """What is new in the notices since the last call, as tape lines."""

    def __init__(self, tz: str = EXCHANGE_TZ) -> None:
        self.tz = tz
        self.seq = 0  # the notices ring's seq read up to

    def take(
        self, state: MarketState, watched: Collection[str], shown: str | None, all_symbols: bool
    ) -> list[str]:
        """Lines for new NOIs of watched symbols that the tape shows: the selected symbol's,
        or every watched symbol's when the tape shows all symbols. Oldest first."""
        ring = state.events_tape
        fresh = ring.newest(ring.since(self.seq))
        self.seq = ring.seq
        lines = []
        for e in reversed(fresh):
            if e.kind != "NOI" or e.symbol not in watched:
                continue
            if all_symbols or e.symbol == shown:
                # wire text (the detail carries the auction type): one safe line
                lines.append(
                    one_line(f"{format_hms_ms(e.time_ms, self.tz)}  NOI {e.symbol} {e.detail}")
                )
        return lines

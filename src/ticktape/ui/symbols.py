"""What counts as a watchlist symbol, with no Textual import (checked before start-up).

The rule itself is :mod:`ticktape.feed.clusters`: a list may mix stocks, forex and crypto,
and ``--market`` is only the default for bare words. See docs/protocol.md.
"""

from __future__ import annotations

from ticktape.feed.clusters import EXAMPLES, normalize


def normalize_symbol(text: str, market: str = "stocks") -> str | None:
    """The canonical symbol for what a user typed (``market`` reads bare words first), or
    ``None`` if no cluster takes it. Forgiving about case and the REST-style prefixes
    (``C:EURUSD``, ``X:BTCUSD``), strict about everything else."""
    return normalize(text, market)


def symbol_hint(market: str = "stocks") -> str:
    """Examples of valid symbols, for prompts and error messages (any market's go)."""
    return EXAMPLES

"""Symbol rules as the prompts and the command line apply them: a list may mix markets, and
the chosen market reads bare words first (the rule itself: tests/feed/test_clusters.py)."""

from __future__ import annotations

import pytest

from ticktape.ui.symbols import normalize_symbol


@pytest.mark.parametrize(
    ("text", "market", "expected"),
    [
        ("aapl", "stocks", "AAPL"),
        ("brk.b", "stocks", "BRK.B"),
        ("1AB", "stocks", None),
        ("TOOLONGNAME", "stocks", None),
        ("eurusd", "forex", "EUR/USD"),
        ("C:EURUSD", "forex", "EUR/USD"),
        ("AAPL", "forex", "AAPL"),  # not a pair: a stock, whatever the default market
        ("btc-usd", "crypto", "BTC-USD"),
        ("X:BTC-USD", "crypto", "BTC-USD"),
        ("BTCUSD", "crypto", "BTC-USD"),
        ("btc-usd", "stocks", "BTC-USD"),  # the spelling says crypto under any market
        ("eur/usd", "crypto", "EUR/USD"),
    ],
)
def test_symbol_rules(text: str, market: str, expected: str | None) -> None:
    assert normalize_symbol(text, market) == expected

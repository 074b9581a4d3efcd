"""Symbol rules: what each market accepts as a symbol, and its canonical spelling."""

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
        ("AAPL", "forex", None),
        ("btc-usd", "crypto", "BTC-USD"),
        ("X:BTC-USD", "crypto", "BTC-USD"),
        ("BTCUSD", "crypto", None),
    ],
)
def test_symbol_rules(text: str, market: str, expected: str | None) -> None:
    assert normalize_symbol(text, market) == expected

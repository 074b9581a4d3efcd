"""Per-symbol precision: forex in fractional pips, crypto sizes with fixed decimals."""

from __future__ import annotations

import pytest

from ticktape.ui.format import fmt_price, size_decimals, symbol_decimals


@pytest.mark.parametrize(
    ("symbol", "price", "shown"),
    [
        ("EUR/USD", 1.04975, "1.04975"),  # five decimals: a tenth of a pip
        ("USD/JPY", 151.3046, "151.305"),  # a JPY pip is 0.01: three decimals
        ("EUR/HUF", 410.1234, "410.123"),
        ("AAPL", 187.234, "187.23"),  # stocks keep cents
        ("SIRI", 0.41234, "0.4123"),  # sub-dollar stocks keep four
        ("BTC-USD", 64_444.031, "64,444.03"),
    ],
)
def test_price_precision_follows_the_market(symbol: str, price: float, shown: str) -> None:
    assert fmt_price(price, symbol_decimals(symbol, price)) == shown


def test_crypto_size_step_is_worth_a_dollar_at_most() -> None:
    assert [size_decimals(p) for p in (64_444.03, 3_100.0, 150.0, 0.15)] == [5, 4, 3, 0]

"""Number formats: prices, changes, volumes, rates and clocks; per-symbol precision
(forex in fractional pips, crypto sizes with fixed decimals)."""

from __future__ import annotations

import math

import pytest

from ticktape.ui.format import (
    fmt_change,
    fmt_clock,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_volume,
    size_decimals,
    symbol_decimals,
)

NOW = 1_741_962_600_000


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


def test_number_formats() -> None:
    assert fmt_price(187.234) == "187.23"
    assert fmt_price(0.51234) == "0.5123"
    assert fmt_price(None) == "" and fmt_price(math.nan) == ""
    assert fmt_change(0.96, 2) == "+0.96"
    assert fmt_pct(-1.234) == "-1.23%"
    assert fmt_volume(950) == "950" and fmt_volume(12_345) == "12.3K"
    assert fmt_volume(1_234_567) == "1.23M" and fmt_volume(123_456_789) == "123M"
    assert fmt_rate(12_400) == "12k/s" and fmt_rate(830) == "830/s"
    assert fmt_clock(NOW, "America/New_York") == "10:30:00 EDT"

"""What counts as a symbol in each market, with no Textual import (checked before start-up).

See docs/architecture.md (start-up order).
"""

from __future__ import annotations

import re
from typing import Final

_SYMBOL_RULES: Final = {
    "stocks": re.compile(r"[A-Z][A-Z0-9]{0,6}(\.[A-Z0-9]{1,3})?"),
    "forex": re.compile(r"[A-Z]{3}/[A-Z]{3}"),
    "crypto": re.compile(r"[A-Z0-9]{2,10}-[A-Z]{3,4}"),
}
_EXAMPLES: Final = {"stocks": "AAPL, BRK.B", "forex": "EUR/USD", "crypto": "BTC-USD"}


def normalize_symbol(text: str, market: str = "stocks") -> str | None:
    """The canonical symbol for what a user typed, or ``None`` if it is not valid there.

    Forgiving about case and the REST-style prefixes (``C:EURUSD``, ``X:BTCUSD``)
    and a missing slash in a currency pair, strict about everything else.
    """
    s = text.strip().upper()
    if market == "forex":
        s = s.removeprefix("C:")
        if len(s) == 6 and s.isalpha():
            s = f"{s[:3]}/{s[3:]}"
    elif market == "crypto":
        s = s.removeprefix("X:")
    rule = _SYMBOL_RULES.get(market, _SYMBOL_RULES["stocks"])
    return s if rule.fullmatch(s) else None


def symbol_hint(market: str) -> str:
    """Examples of valid symbols, for prompts and error messages."""
    return _EXAMPLES.get(market, _EXAMPLES["stocks"])

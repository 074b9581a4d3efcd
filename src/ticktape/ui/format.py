"""Number formatting for every pane, in one place; missing values are blank.

See docs/ui.md (panes).
"""

from __future__ import annotations

import math
from typing import Final

from ticktape.timeutil import ms_to_zone

_VOLUME_STEPS: Final = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def price_decimals(x: float) -> int:
    """Decimals a price needs: cents above $1, more for sub-dollar stocks, FX and crypto."""
    ax = abs(x)
    if ax >= 1:
        return 2
    if ax >= 0.01:
        return 4
    return 6


def is_forex(symbol: str) -> bool:
    """Currency pairs, and only they, are written with a slash (``EUR/USD``)."""
    return "/" in symbol


def is_crypto(symbol: str) -> bool:
    """Crypto pairs, and only they, are written with a dash (``BTC-USD``; stocks use ``BRK.B``)."""
    return "-" in symbol


def size_decimals(price: float) -> int:
    """Decimals for a crypto trade size: the smallest step shown is worth a dollar at most.

    BTC at 64,000 gets 5 (``0.04566``), ETH at 3,000 gets 4, a coin under $1 whole
    units. Fixed per symbol (the caller keeps the first answer) so sizes line up.
    """
    if price <= 1:
        return 0
    return min(8, math.ceil(math.log10(price)))


def symbol_decimals(symbol: str, price: float) -> int:
    """Decimals for every price-like cell of ``symbol`` (last, change, quote, spread, VWAP).

    Forex trades in fractional pips: five decimals (``1.04975``), or three where a
    pip is 0.01 — the pairs priced at 50 and above (``USD/JPY 151.302``, HUF). Two
    decimals would hide every move a currency makes in a day. Stocks and crypto
    keep :func:`price_decimals`.
    """
    if is_forex(symbol):
        return 3 if abs(price) >= 50 else 5
    return price_decimals(price)


def fmt_price(x: float | None, decimals: int | None = None) -> str:
    """``187.23``; sub-dollar prices keep four or six decimals."""
    if x is None or _missing(x):
        return ""
    d = price_decimals(x) if decimals is None else decimals
    return f"{x:,.{d}f}"


def fmt_change(x: float | None, decimals: int | None = None) -> str:
    """Signed change, ``+1.23`` / ``-0.45``; the sign carries the meaning without colour."""
    if x is None or _missing(x):
        return ""
    d = price_decimals(x) if decimals is None else decimals
    return f"{x:+,.{d}f}"


def fmt_pct(x: float | None) -> str:
    """Signed percent, ``+1.23%``; huge moves drop decimals to keep the column width."""
    if x is None or _missing(x):
        return ""
    if abs(x) >= 1000:
        return f"{x:+.0f}%"
    if abs(x) >= 100:
        return f"{x:+.1f}%"
    return f"{x:+.2f}%"


def fmt_volume(v: float | None) -> str:
    """``950``, ``12.3K``, ``1.23M``: three significant figures fit a 6-cell column."""
    if v is None or _missing(v):
        return ""
    av = abs(v)
    for step, suffix in _VOLUME_STEPS:
        if av >= step:
            q = v / step
            if abs(q) >= 100:
                return f"{q:.0f}{suffix}"
            if abs(q) >= 10:
                return f"{q:.1f}{suffix}"
            return f"{q:.2f}{suffix}"
    if v == int(v):
        return f"{int(v)}"
    return f"{v:.3g}"


def fmt_rate(per_s: float) -> str:
    """Events per second for the status bar: ``830/s``, ``12.4k/s``."""
    if per_s >= 10_000:
        return f"{per_s / 1000:.0f}k/s"
    if per_s >= 1_000:
        return f"{per_s / 1000:.1f}k/s"
    return f"{per_s:.0f}/s"


def fmt_ms(ms: float) -> str:
    """A latency: ``12 ms`` below a second, ``1.2 s`` above."""
    if ms >= 1_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"


def fmt_clock(ms: int, tz: str) -> str:
    """``09:31:05 EDT``: the wall clock in the exchange's zone with its abbreviation."""
    dt = ms_to_zone(ms, tz)
    return f"{dt:%H:%M:%S} {dt.tzname() or tz}"


#: Every C0 and C1 control character (ESC included) and DEL, mapped to a space.
_CONTROLS: Final = {c: " " for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def one_line(text: str) -> str:
    """Wire text made safe to draw: no control characters (so no terminal escapes), one line.

    Rich's ``strip_control_codes`` keeps ESC, which is what a terminal escape needs,
    so this maps every control character away instead. Markup is a separate matter:
    callers still pass the result as plain text (``markup=False`` / ``Text``).
    """
    return " ".join(text.translate(_CONTROLS).split())

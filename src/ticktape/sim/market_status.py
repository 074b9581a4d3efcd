"""The simulator's ``/v1/marketstatus/now`` and ``/upcoming``, from the real NYSE calendar.

Bodies are the wire Structs of ``feed/marketstatus.py``; see docs/market-clock.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec

from ticktape import markethours
from ticktape.feed.marketstatus import MarketDay, MarketStatusNow
from ticktape.markethours import Phase

NOW_PATH: Final = "/v1/marketstatus/now"
UPCOMING_PATH: Final = "/v1/marketstatus/upcoming"
_ET: Final = markethours.ET
_STOCK_WORD: Final = {
    "open": "open",
    "pre-market": "extended-hours",
    "after-hours": "extended-hours",
    "closed": "closed",
}


def now_body(ms: int) -> bytes:
    """The live API's answer at ``ms``: the stock phase, exchanges and currencies."""
    return _now(ms, markethours.reading("stocks", ms).phase, markethours.reading("forex", ms).phase)


def always_open_body(ms: int) -> bytes:
    """The answer of a simulator that plays an open market at every hour."""
    return _now(ms, "open", "open")


def _now(ms: int, stocks: Phase, fx: Phase) -> bytes:
    word = _STOCK_WORD[stocks]
    body = MarketStatusNow(
        market=word,
        early_hours=stocks == "pre-market",
        after_hours=stocks == "after-hours",
        server_time=datetime.fromtimestamp(ms / 1000, tz=_ET).isoformat(timespec="seconds"),
        exchanges={"nasdaq": word, "nyse": word, "otc": "closed" if stocks == "closed" else word},
        currencies={"fx": "open" if fx == "open" else "closed", "crypto": "open"},
    )
    return msgspec.json.encode(body)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def upcoming_body(ms: int, days: int = 366) -> bytes:
    """Closures and early closes of the coming year, one entry per exchange, as the API lists."""
    out: list[MarketDay] = []
    for d, name, hours in markethours.StockCalendar().upcoming(ms, days):
        for exchange in ("NYSE", "NASDAQ"):
            if hours is None:
                out.append(MarketDay(d.isoformat(), name, "closed", exchange))
            else:
                out.append(
                    MarketDay(
                        d.isoformat(),
                        name,
                        "early-close",
                        exchange,
                        open=_utc(hours.open_ms),
                        close=_utc(hours.close_ms),
                    )
                )
    return msgspec.json.encode(out)

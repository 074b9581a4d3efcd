"""Typed wire events of the Polygon / Massive WebSocket protocol, one msgspec Struct each.

The one schema: the client decodes and the simulator encodes with it. See docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
from msgspec import field

from ticktape.timeutil import normalize_ms

_OPTS: Final = {"gc": False, "omit_defaults": True, "tag_field": "ev"}


class _Event(msgspec.Struct, **_OPTS):
    """Base of every wire event; gives :attr:`time_ms`."""

    @property
    def time_ms(self) -> int:
        """Event time in Unix milliseconds (0 when the event carries none)."""
        t = getattr(self, "timestamp", 0)
        return normalize_ms(t) if t else 0

    @property
    def key(self) -> str:
        """The symbol or pair the event is about ('' for status events)."""
        return ""


class _StockEvent(_Event, **_OPTS):
    symbol: str = field(name="sym")

    @property
    def key(self) -> str:
        return self.symbol


class Trade(_StockEvent, tag="T", **_OPTS):
    """Stocks trade (``T``). ``conditions`` are SIP sale-condition codes."""

    price: float = field(name="p")
    size: int = field(name="s")
    timestamp: int = field(name="t")
    exchange: int = field(name="x", default=0)
    id: str = field(name="i", default="")
    tape: int = field(name="z", default=0)
    conditions: tuple[int, ...] = field(name="c", default=())
    sequence: int = field(name="q", default=0)
    trf_id: int | None = field(name="trfi", default=None)
    trf_timestamp: int | None = field(name="trft", default=None)
    ds: str | None = field(name="ds", default=None)


class Quote(_StockEvent, tag="Q", **_OPTS):
    """Stocks NBBO quote (``Q``)."""

    bid: float = field(name="bp")
    ask: float = field(name="ap")
    timestamp: int = field(name="t")
    bid_size: int = field(name="bs", default=0)
    ask_size: int = field(name="as", default=0)
    bid_exchange: int = field(name="bx", default=0)
    ask_exchange: int = field(name="ax", default=0)
    # None, not 0: 0 is a real condition (regular) the spec sends, and
    # omit_defaults would drop an explicit 0 when re-encoding.
    condition: int | None = field(name="c", default=None)
    indicators: tuple[int, ...] = field(name="i", default=())
    sequence: int = field(name="q", default=0)
    tape: int = field(name="z", default=0)


class _StockBar(_StockEvent, **_OPTS):
    """Fields shared by second (``A``) and minute (``AM``) stock bars."""

    open: float = field(name="o")
    high: float = field(name="h")
    low: float = field(name="l")
    close: float = field(name="c")
    volume: int = field(name="v")
    start: int = field(name="s")
    end: int = field(name="e", default=0)
    day_volume: int | None = field(name="av", default=None)
    day_open: float | None = field(name="op", default=None)
    vwap: float | None = field(name="vw", default=None)
    day_vwap: float | None = field(name="a", default=None)
    avg_size: int | None = field(name="z", default=None)
    otc: bool | None = field(name="otc", default=None)

    @property
    def time_ms(self) -> int:
        return self.start


class SecondAgg(_StockBar, tag="A", **_OPTS):
    """Stocks per-second bar (``A``)."""


class MinuteAgg(_StockBar, tag="AM", **_OPTS):
    """Stocks per-minute bar (``AM``); a re-sent bar replaces the earlier one."""


class LimitUpLimitDown(_Event, tag="LULD", **_OPTS):
    """LULD price band (``LULD``); wire ``t`` is microseconds in the spec."""

    symbol: str = field(name="T")
    high: float = field(name="h")
    low: float = field(name="l")
    timestamp: int = field(name="t")
    indicators: tuple[int, ...] = field(name="i", default=())
    tape: int = field(name="z", default=0)
    sequence: int = field(name="q", default=0)

    @property
    def key(self) -> str:
        return self.symbol


class Imbalance(_Event, tag="NOI", **_OPTS):
    """Net order imbalance (``NOI``); wire ``t`` is nanoseconds in the spec."""

    symbol: str = field(name="T")
    timestamp: int = field(name="t")
    auction_time: int = field(name="at", default=0)
    auction_type: str = field(name="a", default="")
    sequence: int = field(name="i", default=0)
    exchange: int = field(name="x", default=0)
    imbalance: int = field(name="o", default=0)
    paired: int = field(name="p", default=0)
    clearing_price: float = field(name="b", default=0.0)

    @property
    def key(self) -> str:
        return self.symbol


class ForexQuote(_Event, tag="C", **_OPTS):
    """Forex quote (``C``). The spec's example sends ``x`` as a string."""

    pair: str = field(name="p")
    ask: float = field(name="a")
    bid: float = field(name="b")
    timestamp: int = field(name="t")
    exchange: int | str = field(name="x", default=0)

    @property
    def key(self) -> str:
        return self.pair


class _PairBar(_Event, **_OPTS):
    """Fields shared by forex and crypto bars (keyed on ``pair``)."""

    pair: str = field(name="pair")
    open: float = field(name="o")
    high: float = field(name="h")
    low: float = field(name="l")
    close: float = field(name="c")
    volume: float = field(name="v")
    start: int = field(name="s")
    end: int = field(name="e", default=0)
    vwap: float | None = field(name="vw", default=None)
    avg_size: float | None = field(name="z", default=None)

    @property
    def key(self) -> str:
        return self.pair

    @property
    def time_ms(self) -> int:
        return self.start


class ForexMinuteAgg(_PairBar, tag="CA", **_OPTS):
    """Forex per-minute bar (``CA``)."""


class ForexSecondAgg(_PairBar, tag="CAS", **_OPTS):
    """Forex per-second bar (``CAS``)."""


class _CryptoEvent(_Event, **_OPTS):
    pair: str = field(name="pair")

    @property
    def key(self) -> str:
        return self.pair


class CryptoTrade(_CryptoEvent, tag="XT", **_OPTS):
    """Crypto trade (``XT``); ``conditions`` 1 = sell side, 2 = buy side."""

    price: float = field(name="p")
    size: float = field(name="s")
    timestamp: int = field(name="t")
    conditions: tuple[int, ...] = field(name="c", default=())
    id: int | str | None = field(name="i", default=None)
    exchange: int = field(name="x", default=0)
    received: int | None = field(name="r", default=None)


class CryptoQuote(_CryptoEvent, tag="XQ", **_OPTS):
    """Crypto best bid/offer on one exchange (``XQ``)."""

    bid: float = field(name="bp")
    ask: float = field(name="ap")
    timestamp: int = field(name="t")
    bid_size: float = field(name="bs", default=0.0)
    ask_size: float = field(name="as", default=0.0)
    exchange: int = field(name="x", default=0)
    received: int | None = field(name="r", default=None)


class CryptoL2(_CryptoEvent, tag="XL2", **_OPTS):
    """Crypto level-2 book snapshot (``XL2``): up to 100 ``[price, size]`` a side."""

    timestamp: int = field(name="t")
    bids: tuple[tuple[float, float], ...] = field(name="b", default=())
    asks: tuple[tuple[float, float], ...] = field(name="a", default=())
    exchange: int = field(name="x", default=0)
    received: int | None = field(name="r", default=None)


class CryptoMinuteAgg(_PairBar, tag="XA", **_OPTS):
    """Crypto per-minute bar (``XA``)."""


class CryptoSecondAgg(_PairBar, tag="XAS", **_OPTS):
    """Crypto per-second bar (``XAS``)."""


class Status(_Event, tag="status", **_OPTS):
    """Server status: connected, auth_success, auth_failed, max_connections, ..."""

    status: str
    message: str = ""


class Agg(msgspec.Struct, gc=False, omit_defaults=True):
    """One REST aggregate bar (an element of ``results`` in ``/v2/aggs``).

    Not a WebSocket event, but wire data all the same: the REST client decodes
    into it and the simulator encodes with it. ``t`` is the bar's start in
    Unix ms (midnight America/New_York for daily bars).
    """

    open: float = field(name="o")
    high: float = field(name="h")
    low: float = field(name="l")
    close: float = field(name="c")
    volume: float = field(name="v")
    timestamp: int = field(name="t")
    vwap: float | None = field(name="vw", default=None)
    transactions: int | None = field(name="n", default=None)
    otc: bool | None = field(name="otc", default=None)


class AggsResponse(msgspec.Struct, omit_defaults=True):
    """The ``/v2/aggs`` response body; ``results`` may be missing or ``null``."""

    status: str = "OK"
    ticker: str = ""
    adjusted: bool = True
    queryCount: int = 0
    resultsCount: int = 0
    request_id: str = ""
    results: list[Agg] | None = None
    next_url: str | None = None


Event = (
    Trade
    | Quote
    | SecondAgg
    | MinuteAgg
    | LimitUpLimitDown
    | Imbalance
    | ForexQuote
    | ForexMinuteAgg
    | ForexSecondAgg
    | CryptoTrade
    | CryptoQuote
    | CryptoL2
    | CryptoMinuteAgg
    | CryptoSecondAgg
    | Status
)
"""Every event the decoder can produce."""

EVENT_TYPES: Final[tuple[type[_Event], ...]] = (
    Trade,
    Quote,
    SecondAgg,
    MinuteAgg,
    LimitUpLimitDown,
    Imbalance,
    ForexQuote,
    ForexMinuteAgg,
    ForexSecondAgg,
    CryptoTrade,
    CryptoQuote,
    CryptoL2,
    CryptoMinuteAgg,
    CryptoSecondAgg,
    Status,
)

#: Wire tag (``ev``) → Struct type.
BY_TAG: Final[dict[str, type[_Event]]] = {
    t.__struct_config__.tag: t  # type: ignore[misc]
    for t in EVENT_TYPES
}

_encoder = msgspec.json.Encoder()


def encode(events: Sequence[_Event]) -> bytes:
    """Encode events as one wire frame (a JSON array).

    Takes any sequence of events (``Sequence`` is covariant, so a ``list[Trade]``
    is accepted as readily as a ``list[Event]``).
    """
    return _encoder.encode(events)


__all__ = [
    "BY_TAG",
    "EVENT_TYPES",
    "Agg",
    "AggsResponse",
    "CryptoL2",
    "CryptoMinuteAgg",
    "CryptoQuote",
    "CryptoSecondAgg",
    "CryptoTrade",
    "Event",
    "ForexMinuteAgg",
    "ForexQuote",
    "ForexSecondAgg",
    "Imbalance",
    "LimitUpLimitDown",
    "MinuteAgg",
    "Quote",
    "SecondAgg",
    "Status",
    "Trade",
    "encode",
]

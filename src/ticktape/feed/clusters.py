"""Which cluster a watchlist symbol lives on, its canonical (wire) spelling and REST ticker,
and which cluster a subscription param goes to: one rule for the app, its prompts and its
history. No I/O. See docs/protocol.md (mixed-market watchlists).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from ticktape.feed.wire import MONITOR_CHANNELS

CLUSTERS: Final = ("stocks", "forex", "crypto")

_RULES: Final = {
    "stocks": re.compile(r"[A-Z][A-Z0-9]{0,6}(\.[A-Z0-9]{1,3})?"),
    "forex": re.compile(r"[A-Z]{3}/[A-Z]{3}"),
    "crypto": re.compile(r"[A-Z0-9]{2,10}-[A-Z]{3,4}"),
}
#: Quote currencies read off the end of an unseparated crypto pair ("X:ETHUSDT"), longest first.
_CRYPTO_QUOTES: Final = ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "BTC", "ETH")
#: Each channel belongs to one cluster (the market-wide ``T.*`` and the book's ``XL2`` too).
CHANNEL_CLUSTER: Final[dict[str, str]] = {
    **{ch: cluster for cluster, chans in MONITOR_CHANNELS.items() for ch in chans},
    "A": "stocks",
    "CAS": "forex",
    "XAS": "crypto",
    "XL2": "crypto",
}
EXAMPLES: Final = "AAPL, BTC-USD, EUR/USD"


def cluster_of(symbol: str) -> str:
    """The cluster of a canonical symbol: the spelling says it (``EUR/USD`` forex,
    ``BTC-USD`` crypto, anything else a stock ticker)."""
    if "/" in symbol:
        return "forex"
    if "-" in symbol:
        return "crypto"
    return "stocks"


def _crypto_pair(body: str) -> str:
    """``BTCUSD`` → ``BTC-USD`` (by a known quote currency at the end), else ``""``."""
    quote = next((q for q in _CRYPTO_QUOTES if body.endswith(q) and len(body) > len(q) + 1), "")
    return f"{body[: -len(quote)]}-{quote}" if quote else ""


def _bare(s: str, default: str) -> str:
    """A symbol with no separator: read the default market's way first (``EURUSD`` is a pair
    under ``--market forex``), then as a stock ticker."""
    if default == "forex" and len(s) == 6 and s.isalpha():
        return f"{s[:3]}/{s[3:]}"
    if default == "crypto" and s.isalnum():
        pair = _crypto_pair(s)
        if pair:
            return pair
    return s


def normalize(text: str, default: str = "stocks") -> str | None:
    """The canonical symbol for what a user typed, or ``None`` if no cluster takes it.

    ``EUR/USD`` and ``C:EURUSD`` are forex, ``BTC-USD`` and ``X:BTCUSD`` crypto, whatever
    ``default`` is; a bare word goes to the ``default`` market when it reads as one of its
    symbols (``EURUSD`` under forex, ``BTCUSD`` under crypto), else it is a stock ticker.
    Forgiving about case and whitespace, strict about everything else.
    """
    s = text.strip().upper()
    if s.startswith("C:"):
        body = s[2:].replace("/", "").replace("-", "")
        s = f"{body[:3]}/{body[3:]}" if len(body) == 6 else ""
    elif s.startswith("X:"):
        body = s[2:]
        s = body if "-" in body else _crypto_pair(body)
    elif "/" not in s and "-" not in s:
        s = _bare(s, default)
    return s if _RULES[cluster_of(s)].fullmatch(s) else None


def rest_ticker(symbol: str) -> str:
    """The REST ticker for a canonical symbol: ``EUR/USD`` → ``C:EURUSD``, ``BTC-USD`` →
    ``X:BTCUSD``, a stock ticker as it is."""
    cluster = cluster_of(symbol)
    if cluster == "forex":
        return "C:" + symbol.replace("/", "")
    if cluster == "crypto":
        return "X:" + symbol.replace("-", "")
    return symbol


def param_cluster(param: str) -> str:
    """The cluster a subscription param (``T.AAPL``, ``XL2.BTC-USD``, ``T.*``) is sent on."""
    channel, _, symbol = param.partition(".")
    return CHANNEL_CLUSTER.get(channel) or cluster_of(symbol)


def by_cluster(symbols: Iterable[str]) -> dict[str, list[str]]:
    """``symbols`` grouped by cluster, each group in the order given."""
    out: dict[str, list[str]] = {}
    for s in symbols:
        out.setdefault(cluster_of(s), []).append(s)
    return out


def params_by_cluster(params: Iterable[str]) -> dict[str, set[str]]:
    """Subscription params grouped by the cluster each is sent on."""
    out: dict[str, set[str]] = {}
    for p in params:
        out.setdefault(param_cluster(p), set()).add(p)
    return out


def needed_clusters(symbols: Iterable[str], home: str) -> tuple[str, ...]:
    """The clusters a watchlist needs a session on, in :data:`CLUSTERS` order; the default
    market's (``home``) alone when the list is empty, so an empty list is still connected."""
    wanted = {cluster_of(s) for s in symbols} or {home}
    return tuple(c for c in CLUSTERS if c in wanted)

"""What the simulated market knows of a symbol from its name alone; prices in integer ticks.

See docs/simulator.md.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

from ticktape.feed.clusters import cluster_of, normalize

CLUSTERS: Final = ("stocks", "forex", "crypto")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: The default universe served for ``T.*``-style subscriptions, most traded first.
DEFAULT_STOCKS: Final = _words(
    "SPY AAPL NVDA TSLA MSFT AMZN META QQQ AMD GOOGL GOOG NFLX AVGO PLTR JPM BAC INTC COIN "
    "IWM F DIS BA UBER V MA WMT COST LLY XOM CVX KO PEP ORCL CRM ADBE CSCO MU QCOM TXN "
    "AMAT LRCX ABNB SHOP PYPL SQ SNOW PANW NOW IBM INTU UNH JNJ PFE MRK ABBV TMO ABT DHR "
    "AMGN GILD REGN VRTX ISRG MDT SYK CVS ELV HD LOW MCD SBUX NKE TJX BKNG GS MS C WFC "
    "SCHW BLK AXP SPGI CB MMC CAT DE GE HON LMT RTX UNP T VZ CMCSA NEE SO PM MO LIN GM DIA "
    "BRK.B"
)
DEFAULT_FOREX: Final = _words(
    "EUR/USD GBP/USD USD/JPY USD/CHF AUD/USD USD/CAD NZD/USD EUR/GBP EUR/JPY GBP/JPY "
    "USD/CNH USD/MXN EUR/CHF AUD/JPY USD/SEK USD/NOK USD/SGD USD/HKD USD/INR USD/ZAR"
)
DEFAULT_CRYPTO: Final = _words(
    "BTC-USD ETH-USD SOL-USD XRP-USD DOGE-USD ADA-USD AVAX-USD LINK-USD DOT-USD LTC-USD "
    "BCH-USD MATIC-USD SHIB-USD UNI-USD ATOM-USD XLM-USD ETH-BTC BTC-EUR BTC-USDT ETH-USDT"
)
DEFAULTS: Final = {"stocks": DEFAULT_STOCKS, "forex": DEFAULT_FOREX, "crypto": DEFAULT_CRYPTO}

# Rough real-world levels, so familiar names look familiar; everything else is hashed.
_STOCK_PRICES: Final = {
    "AAPL": 228.0, "MSFT": 415.0, "NVDA": 125.0, "AMZN": 185.0, "GOOGL": 165.0, "GOOG": 167.0,
    "META": 520.0, "TSLA": 240.0, "BRK.B": 450.0, "JPM": 215.0, "V": 280.0, "SPY": 560.0,
    "QQQ": 480.0, "IWM": 215.0, "DIA": 410.0, "AMD": 150.0, "NFLX": 680.0, "INTC": 22.0,
    "F": 11.0, "BAC": 40.0, "KO": 68.0, "DIS": 95.0, "WMT": 75.0, "COST": 880.0, "LLY": 900.0,
    "AVGO": 165.0, "XOM": 115.0, "PLTR": 30.0, "COIN": 200.0, "UBER": 72.0, "T": 19.0,
}  # fmt: skip
_NASDAQ: Final = frozenset(
    _words(
        "AAPL MSFT NVDA AMZN GOOGL GOOG META TSLA AVGO COST NFLX AMD ADBE CSCO INTC CMCSA PEP "
        "QCOM TXN AMGN INTU AMAT ISRG SBUX BKNG GILD REGN VRTX PANW MU LRCX PYPL ABNB COIN PLTR QQQ"
    )
)
_ARCA: Final = frozenset({"SPY", "IWM", "DIA"})
_CALM: Final = frozenset({"SPY", "QQQ", "IWM", "DIA", "KO", "PEP", "JNJ", "PG", "WMT", "T", "VZ"})
_WILD: Final = frozenset({"TSLA", "COIN", "PLTR", "AMD", "NVDA", "SHOP", "SQ", "SNOW"})

#: US-dollar value of one unit of each currency / coin (approximate levels).
_USD_VALUE: Final = {
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 1 / 150, "CHF": 1.13, "AUD": 0.66,
    "CAD": 1 / 1.36, "NZD": 0.61, "CNH": 1 / 7.25, "CNY": 1 / 7.23, "MXN": 1 / 17.1,
    "SEK": 1 / 10.5, "NOK": 1 / 10.7, "DKK": 1 / 6.9, "HKD": 1 / 7.8, "SGD": 1 / 1.34,
    "INR": 1 / 83.5, "ZAR": 1 / 18.5, "TRY": 1 / 32.0, "PLN": 1 / 3.95, "BRL": 1 / 5.0,
    "KRW": 1 / 1350, "USDT": 1.0, "USDC": 1.0, "BTC": 65000.0, "ETH": 3300.0, "SOL": 150.0,
    "XRP": 0.55, "DOGE": 0.14, "ADA": 0.45, "AVAX": 35.0, "LINK": 15.0, "DOT": 7.0,
    "LTC": 80.0, "BCH": 450.0, "MATIC": 0.7, "SHIB": 0.000022, "UNI": 9.0, "ATOM": 8.0,
    "XLM": 0.11, "ETC": 27.0, "FIL": 5.5, "AAVE": 120.0, "ALGO": 0.18, "NEAR": 5.0,
}  # fmt: skip
_FIAT: Final = frozenset(
    _words(
        "USD EUR GBP JPY CHF AUD CAD NZD CNH CNY MXN SEK NOK DKK HKD SGD INR ZAR TRY PLN BRL KRW"
    )
)
#: A REST ticker's prefix and the cluster it names.
_PREFIXES: Final = {"C:": "forex", "X:": "crypto"}


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that, unlike ``hash()``, is the same in every process and run."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def unit(*parts: object) -> float:
    """A uniform number in [0, 1) determined by ``parts``."""
    return (stable_hash(*parts) >> 11) / 9007199254740992.0


def _log_uniform(lo: float, hi: float, u: float) -> float:
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def split_ticker(ticker: str) -> tuple[str, str]:
    """REST ticker or wire symbol → ``(cluster, wire symbol)``.

    ``"C:EURUSD"`` → ``("forex", "EUR/USD")``, ``"X:BTCUSD"`` → ``("crypto", "BTC-USD")``;
    wire forms (``"EUR/USD"``, ``"BTC-USD"``) and stock tickers pass through.
    The client's rule (``feed.clusters.normalize``); a ticker it would refuse is served as
    given, in the cluster its prefix or spelling names.
    """
    t = ticker.strip().upper()
    symbol = normalize(t)
    if symbol is None:
        return _PREFIXES.get(t[:2], cluster_of(t)), t
    return cluster_of(symbol), symbol


def universe_for(cluster: str, symbols: list[str], listed: int = 0) -> list[str]:
    """The symbols of ``symbols`` that belong to ``cluster``, or its default universe if none do.

    One ``--symbols`` list can then serve all three clusters ("AAPL,EUR/USD,BTC-USD"). With
    ``listed`` the stock market is a whole one: those symbols, the defaults, then generated
    tickers (:func:`listed_names`) up to ``listed`` names.
    """
    mine = [s for c, s in (split_ticker(x) for x in symbols if x.strip()) if c == cluster]
    if listed and cluster == "stocks":
        names = dict.fromkeys([*mine, *DEFAULT_STOCKS])
        for name in listed_names(max(0, listed - len(names))):
            names[name] = None
        return list(names)
    return list(dict.fromkeys(mine)) or list(DEFAULTS[cluster])


_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def listed_names(n: int) -> list[str]:
    """``n`` made-up tickers of two to four letters, the same in every run, none a default."""
    out: list[str] = []
    seen = set(DEFAULT_STOCKS)
    k = 0
    while len(out) < n:
        h = stable_hash("listed", k)
        k += 1
        size = 2 + h % 3
        name = "".join(_LETTERS[(h >> (8 + 5 * i)) % 26] for i in range(size))
        if name not in seen:
            seen.add(name)
            out.append(name)
    _LISTED.update(out)
    return out


#: Every generated ticker so far: the long tail of a market trades rarely (see ``profile``).
_LISTED: Final[set[str]] = set()


@dataclass(frozen=True, slots=True)
class Profile:
    """Fixed traits of one symbol; ``price`` is its price when the simulation starts."""

    symbol: str
    cluster: str
    scale: int  # 10**decimals: a price is ticks / scale
    price_ticks: int  # starting price in ticks
    daily_vol: float  # standard deviation of a full day's log return
    daily_volume: float  # typical volume of a full session (shares, coins or quote ticks)
    trade_size: float  # typical trade size
    tape: int  # stocks: 1 NYSE, 2 AMEX/Arca, 3 Nasdaq; 0 otherwise
    weight: float  # relative share of the event rate
    drift: float  # daily log drift

    @property
    def decimals(self) -> int:
        return len(str(self.scale)) - 1

    @property
    def price(self) -> float:
        return self.price_ticks / self.scale


def _pair_value(symbol: str, sep: str, lo: float, hi: float) -> tuple[str, str, float]:
    base, _, quote = symbol.partition(sep)
    vb = _USD_VALUE.get(base) or _log_uniform(lo, hi, unit("ccy", base))
    vq = _USD_VALUE.get(quote) or _log_uniform(lo, hi, unit("ccy", quote))
    return base, quote, vb / vq


def _crypto_decimals(price: float) -> int:
    if price >= 10:
        return 2
    if price >= 0.1:
        return 4
    return 6 if price >= 0.001 else 8


def profile(cluster: str, symbol: str, seed: int = 0) -> Profile:
    """Derive ``symbol``'s traits; the seed nudges the starting price by up to ±3 %."""
    jitter = math.exp(0.03 * (2 * unit("jitter", seed, symbol) - 1))
    u = [unit(cluster, symbol, k) for k in range(5)]
    rank = DEFAULTS[cluster].index(symbol) if symbol in DEFAULTS[cluster] else None
    weight = 1.0 / (1.0 + rank / 12.0) if rank is not None else 0.1 + 0.3 * u[4]
    if rank is None and symbol in _LISTED:  # the tail: together about as busy as the defaults
        weight = _log_uniform(0.002, 0.03, u[4])
    if cluster == "stocks":
        price = _STOCK_PRICES.get(symbol) or _log_uniform(5.0, 900.0, u[0])
        price *= jitter
        scale = 100 if price >= 1.0 else 10_000
        vol = _log_uniform(0.01, 0.025, u[1])
        vol = 0.008 if symbol in _CALM else 0.032 if symbol in _WILD else vol
        tape = 3 if symbol in _NASDAQ else 2 if symbol in _ARCA else 1 + 2 * (u[2] < 0.5)
        volume = _log_uniform(3e5, 3e6, u[3]) * (1 + 25 * weight**2)
        size = 60.0 + 140.0 * u[2]
    elif cluster == "forex":
        base, quote, price = _pair_value(symbol, "/", 1 / 200, 2.0)
        price *= jitter
        scale = 1000 if quote == "JPY" or price >= 20 else 100_000
        em = not (base in _FIAT and quote in _FIAT) or "TRY" in symbol or "ZAR" in symbol
        vol = (0.004 + 0.004 * u[1]) * (2.0 if em else 1.0)
        tape, volume, size = 0, 80_000.0 * (0.3 + weight), 1.0
    else:
        _, _, price = _pair_value(symbol, "-", 0.01, 50.0)
        price *= jitter
        scale = 10 ** _crypto_decimals(price)
        vol = 0.02 + 0.025 * u[1]
        tape = 0
        volume = _log_uniform(2e7, 2e9, u[3]) * weight / price
        size = volume / _log_uniform(2e4, 2e5, u[2])
    return Profile(
        symbol=symbol,
        cluster=cluster,
        scale=scale,
        price_ticks=max(1, round(price * scale)),
        daily_vol=vol,
        daily_volume=volume,
        trade_size=size,
        tape=tape,
        weight=weight,
        drift=(unit(cluster, symbol, "drift") - 0.5) * vol * 0.1,
    )

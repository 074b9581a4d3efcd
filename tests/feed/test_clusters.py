"""The one rule that sends each watchlist symbol to its cluster (a list may mix markets):
its canonical spelling, its cluster, its REST ticker, and where each param is sent."""

from __future__ import annotations

import pytest

from ticktape.feed.clusters import (
    by_cluster,
    cluster_of,
    needed_clusters,
    normalize,
    param_cluster,
    params_by_cluster,
    rest_ticker,
)


@pytest.mark.parametrize(
    ("typed", "default", "symbol", "cluster"),
    [
        # the spelling decides, whatever the default market
        ("AAPL", "stocks", "AAPL", "stocks"),
        ("brk.b", "crypto", "BRK.B", "stocks"),
        ("BTC-USD", "stocks", "BTC-USD", "crypto"),
        ("eur/usd", "stocks", "EUR/USD", "forex"),
        ("shib-usdt", "forex", "SHIB-USDT", "crypto"),
        # the REST API's prefixes
        ("X:BTCUSD", "stocks", "BTC-USD", "crypto"),
        ("x:ethusdt", "stocks", "ETH-USDT", "crypto"),
        ("X:ETH-BTC", "forex", "ETH-BTC", "crypto"),
        ("C:EURUSD", "stocks", "EUR/USD", "forex"),
        ("C:EUR/USD", "crypto", "EUR/USD", "forex"),
        # a bare word: the default market reads it first, else it is a stock ticker
        ("EURUSD", "forex", "EUR/USD", "forex"),
        ("EURUSD", "stocks", "EURUSD", "stocks"),
        ("BTCUSD", "crypto", "BTC-USD", "crypto"),
        ("AAPL", "crypto", "AAPL", "stocks"),
        ("AAPL", "forex", "AAPL", "stocks"),
        ("  tsla ", "stocks", "TSLA", "stocks"),
    ],
)
def test_each_symbol_goes_to_its_cluster(
    typed: str, default: str, symbol: str, cluster: str
) -> None:
    assert normalize(typed, default) == symbol
    assert cluster_of(symbol) == cluster


@pytest.mark.parametrize(
    "typed", ["", "1AB", "TOOLONGNAME", "EUR/US", "EURO/USD", "B-USD", "X:USD", "C:EURO", "A/B/C"]
)
def test_what_no_cluster_takes_is_refused(typed: str) -> None:
    for default in ("stocks", "forex", "crypto"):
        assert normalize(typed, default) is None


def test_rest_tickers_follow_the_cluster() -> None:
    assert [rest_ticker(s) for s in ("AAPL", "BRK.B", "EUR/USD", "BTC-USD", "ETH-USDT")] == [
        "AAPL",
        "BRK.B",
        "C:EURUSD",
        "X:BTCUSD",
        "X:ETHUSDT",
    ]


def test_params_go_to_their_own_cluster_wildcards_and_the_book_included() -> None:
    assert param_cluster("T.AAPL") == "stocks"
    assert param_cluster("T.*") == "stocks"
    assert param_cluster("C.EUR/USD") == "forex"
    assert param_cluster("CA.*") == "forex"
    assert param_cluster("XL2.BTC-USD") == "crypto"
    assert params_by_cluster(["T.AAPL", "XT.BTC-USD", "XQ.BTC-USD", "C.EUR/USD"]) == {
        "stocks": {"T.AAPL"},
        "crypto": {"XT.BTC-USD", "XQ.BTC-USD"},
        "forex": {"C.EUR/USD"},
    }


def test_a_list_needs_the_clusters_of_its_symbols_and_an_empty_one_the_default() -> None:
    mixed = ("BTC-USD", "AAPL", "EUR/USD", "ETH-USD")
    assert by_cluster(mixed) == {
        "crypto": ["BTC-USD", "ETH-USD"],
        "stocks": ["AAPL"],
        "forex": ["EUR/USD"],
    }
    assert needed_clusters(mixed, "stocks") == ("stocks", "forex", "crypto")
    assert needed_clusters(("BTC-USD",), "stocks") == ("crypto",)
    assert needed_clusters((), "forex") == ("forex",)

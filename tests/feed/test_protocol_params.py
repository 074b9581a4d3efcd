"""Exact subscriptions (``set_params``): the market view's ``T.*`` beside the watchlist's."""

from __future__ import annotations

from .test_protocol import InMemoryServer, connect, converse, live_client, params, sends


def test_exact_params_replace_channels_times_symbols_and_send_only_the_difference() -> None:
    client = live_client(["AAPL", "MSFT"])
    server = InMemoryServer()
    server.subs.topics.update(client.subscribed)
    assert client.set_params(params(["AAPL", "MSFT"]) | {"T.*", "NOI.*"})
    out = converse(client, server)
    assert [(a.action, a.params) for a in sends(out)] == [("subscribe", "NOI.*,T.*")]
    assert client.subscribed == params(["AAPL", "MSFT"]) | {"T.*", "NOI.*"}
    assert not client.set_params(client.subscribed) and client.outputs() == []
    assert client.set_params(params(["AAPL", "MSFT"]))  # the view closes
    assert [(a.action, a.params) for a in sends(converse(client, server))] == [
        ("unsubscribe", "NOI.*,T.*")
    ]


def test_exact_params_are_subscribed_again_after_a_reconnect() -> None:
    client = live_client(["AAPL"])
    client.set_params({"T.AAPL", "T.*"})
    converse(client, InMemoryServer())
    client.connection_lost()
    out = connect(client, InMemoryServer())
    assert [(a.action, a.params) for a in sends(out) if a.action == "subscribe"] == [
        ("subscribe", "T.*,T.AAPL")
    ]

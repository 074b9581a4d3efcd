"""The client's protocol rules without sockets: frames in, outputs out.

The server side is the simulator's own rules (sim/protocol.py) run in memory, so
the two sides are tested as one protocol; scripted frames cover what the
simulator never says (older wordings, echoed keys).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ticktape.feed import wire
from ticktape.feed.events import Quote, Status, Trade
from ticktape.feed.protocol import (
    MAX_PARAMS_CHARS,
    ClientProtocol,
    ConnState,
    Ended,
    Output,
    Phase,
    Progress,
    Refused,
    Send,
    ServerSaid,
    chunks,
)
from ticktape.sim import protocol as sim

KEY = "k3y-s3cret-value"


def status(kind: str, message: str = "") -> bytes:
    return wire.frame(Status(status=kind, message=message))


class InMemoryServer:
    """The simulator's side of the protocol, answering each client message in memory."""

    def __init__(self, refused: Iterable[str] = ()) -> None:
        self.subs = sim.Subscriptions()
        self.refused = tuple(refused)
        self.received: list[wire.Action] = []

    def answer(self, text: str) -> bytes:
        action = wire.parse_action(text)
        assert action is not None, text
        self.received.append(action)
        if action.action == wire.AUTH:
            return wire.frame(sim.AUTH_SUCCESS if action.params == KEY else sim.AUTH_FAILED)
        replies, _ = sim.apply_action(action, self.subs, "stocks", self.refused)
        return wire.frame(*replies)


def converse(client: ClientProtocol, server: InMemoryServer) -> list[Output]:
    """Carry out the client's outputs against the server until neither has more to say."""
    seen: list[Output] = []
    while out := client.outputs():
        seen.extend(out)
        for o in out:
            if isinstance(o, Send):
                client.receive_frame(server.answer(o.text))
    return seen


def connect(client: ClientProtocol, server: InMemoryServer) -> list[Output]:
    """A new connection: the server greets, then both talk until the client is done."""
    client.connection_made()
    client.receive_frame(wire.frame(sim.CONNECTED))
    return converse(client, server)


def sends(outputs: Iterable[Output]) -> list[wire.Action]:
    actions = [wire.parse_action(o.text) for o in outputs if isinstance(o, Send)]
    assert all(a is not None for a in actions)
    return [a for a in actions if a is not None]


def progress(outputs: Iterable[Output]) -> list[ConnState]:
    return [o.state for o in outputs if isinstance(o, Progress)]


def said(outputs: Iterable[Output]) -> list[str]:
    return [o.status.message for o in outputs if isinstance(o, ServerSaid)]


def params(symbols: Iterable[str], channels: Iterable[str] = ("T", "Q")) -> set[str]:
    return {f"{ch}.{s}" for s in symbols for ch in channels}


def live_client(symbols: Iterable[str] = ("AAPL", "MSFT")) -> ClientProtocol:
    client = ClientProtocol(KEY, ("T", "Q"), symbols)
    connect(client, InMemoryServer())
    assert client.live
    return client


# -- the handshake -----------------------------------------------------------------------


def test_auth_success_leads_to_one_subscribe_for_the_desired_set_then_live() -> None:
    client = ClientProtocol(KEY, ("T", "Q"), ["AAPL", " MSFT ", ""])
    server = InMemoryServer()
    out = connect(client, server)
    assert progress(out) == [ConnState.AUTHENTICATING, ConnState.SUBSCRIBING, ConnState.LIVE]
    assert [(a.action, a.params) for a in server.received] == [
        ("auth", KEY),
        ("subscribe", "Q.AAPL,Q.MSFT,T.AAPL,T.MSFT"),
    ]
    assert said(out)[:2] == ["Connected Successfully", "authenticated"]
    assert sorted(said(out)[2:]) == sorted(f"subscribed to: {p}" for p in params(["AAPL", "MSFT"]))
    assert client.subscribed == params(["AAPL", "MSFT"]) == server.subs.topics
    assert not any(isinstance(o, Ended | Refused) for o in out)


def test_the_key_is_sent_once_and_only_after_connected() -> None:
    client = ClientProtocol(KEY, ("T",), ["AAPL"])
    client.connection_made()
    client.receive_frame(status("success", "something else first"))
    assert sends(client.outputs()) == []
    client.receive_frame(status(wire.CONNECTED))
    client.receive_frame(status(wire.CONNECTED))  # a repeated greeting sends no second auth
    assert [a.action for a in sends(client.outputs())] == ["auth"]
    assert KEY not in repr(client)


@pytest.mark.parametrize(
    ("kind", "message"),
    [("auth_failed", "authentication failed"), ("error", "authentication failed")],
)
def test_auth_failure_ends_as_auth_failed_and_subscribes_nothing(kind: str, message: str) -> None:
    client = ClientProtocol(KEY, ("T",), ["AAPL"])
    client.connection_made()
    client.receive_frame(status(wire.CONNECTED))
    client.outputs()
    client.receive_frame(status(kind, message))
    out = client.outputs()
    assert out[-1] == Ended(ConnState.AUTH_FAILED, f"the server rejected the API key: {message}")
    assert sends(out) == [] and client.subscribed == set()
    assert client.phase is Phase.ENDED


def test_a_wrong_key_against_the_simulator_rules_ends_as_auth_failed() -> None:
    client = ClientProtocol("a-wrong-key", ("T",), ["AAPL"])
    out = connect(client, InMemoryServer())
    assert isinstance(out[-1], Ended) and out[-1].state is ConnState.AUTH_FAILED
    assert not client.live


# -- endings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "state", "reason"),
    [
        (sim.MAX_CONNECTIONS, ConnState.KICKED, "another session is using this API key's"),
        (sim.SLOW_CONSUMER, ConnState.SLOW_CONSUMER, "dropped us for reading too slowly"),
        (sim.AUTH_TIMEOUT, ConnState.RECONNECTING, "timed out waiting for authentication"),
        (
            Status(status="force_disconnect", message="maintenance"),
            ConnState.RECONNECTING,
            "the server forced a disconnect: maintenance",
        ),
    ],
)
def test_server_endings_end_the_connection_in_their_state(
    ending: Status, state: ConnState, reason: str
) -> None:
    client = live_client()
    data = client.receive_frame(
        wire.frame(ending).replace(b"[", b'[{"ev":"T","sym":"AAPL","p":1,"s":1,"t":5},', 1)
    )
    out = client.outputs()
    assert [type(e) for e in data] == [Trade]  # the frame's data is still delivered
    assert isinstance(out[0], ServerSaid) and out[0].status.status == ending.status
    assert isinstance(out[-1], Ended) and out[-1].state is state and reason in out[-1].reason
    assert client.phase is Phase.ENDED


def test_after_an_ending_nothing_more_is_acted_on() -> None:
    client = live_client()
    client.receive_frame(wire.frame(sim.MAX_CONNECTIONS, sim.CONNECTED))
    out = client.outputs()
    assert [type(o) for o in out] == [ServerSaid, ServerSaid, Ended]
    client.receive_frame(status(wire.SLOW_CONSUMER))
    assert [type(o) for o in client.outputs()] == [ServerSaid]  # heard, but no second end


# -- subscriptions -----------------------------------------------------------------------


def test_refused_channel_is_reported_and_the_rest_of_the_subscription_stands() -> None:
    client = ClientProtocol(KEY, ("T", "Q"), ["AAPL", "TSLA"])
    out = connect(client, InMemoryServer(refused=["Q"]))
    refused = [o.params for o in out if isinstance(o, Refused)]
    assert sorted(refused) == [("Q.AAPL",), ("Q.TSLA",)]
    assert client.live and not any(isinstance(o, Ended) for o in out)
    assert ConnState.LIVE in progress(out)


def test_a_change_while_live_sends_only_the_difference() -> None:
    client = live_client(["AAPL", "MSFT"])
    server = InMemoryServer()
    server.subs.topics.update(client.subscribed)
    assert client.set_symbols(["AAPL", "NVDA"])
    out = converse(client, server)
    assert [(a.action, a.params) for a in sends(out)] == [
        ("unsubscribe", "Q.MSFT,T.MSFT"),
        ("subscribe", "Q.NVDA,T.NVDA"),
    ]
    assert sorted(said(out)) == [
        "subscribed to: Q.NVDA",
        "subscribed to: T.NVDA",
        "unsubscribed to: Q.MSFT",
        "unsubscribed to: T.MSFT",
    ]
    assert client.subscribed == params(["AAPL", "NVDA"]) == server.subs.topics
    assert not client.set_symbols(["NVDA", "AAPL"]) and client.outputs() == []


def test_extra_params_are_subscribed_beside_the_symbols_and_dropped_when_unwanted() -> None:
    client = live_client(["AAPL"])
    assert client.set_extra_params(["XL2.BTC-USD"])
    assert [(a.action, a.params) for a in sends(client.outputs())] == [("subscribe", "XL2.BTC-USD")]
    assert client.set_extra_params([])
    assert [(a.action, a.params) for a in sends(client.outputs())] == [
        ("unsubscribe", "XL2.BTC-USD")
    ]
    assert client.subscribed == params(["AAPL"])
    assert not client.set_extra_params([])


def test_changes_before_live_wait_for_the_first_subscribe() -> None:
    client = ClientProtocol(KEY, ("T",), ["AAPL"])
    client.set_symbols(["MSFT"])  # no connection yet
    client.connection_made()
    client.receive_frame(status(wire.CONNECTED))
    client.set_symbols(["MSFT", "NVDA"])  # while authenticating
    assert [a.action for a in sends(client.outputs())] == ["auth"]
    client.receive_frame(status(wire.AUTH_SUCCESS))
    assert [(a.action, a.params) for a in sends(client.outputs())] == [
        ("subscribe", "T.MSFT,T.NVDA")
    ]


def test_a_new_connection_subscribes_to_the_whole_desired_set_again_in_chunks() -> None:
    symbols = [f"S{i:04d}" for i in range(3000)]
    client = ClientProtocol(KEY, ("T", "Q", "AM"), symbols[:10])
    server = InMemoryServer()
    connect(client, server)
    client.connection_lost()
    assert client.subscribed == set() and not client.live
    client.set_symbols(symbols)  # changed while away: no sends until the next connection
    assert client.outputs() == []
    server = InMemoryServer()
    out = connect(client, server)
    subscribes = [a.params for a in sends(out) if a.action == "subscribe"]
    assert len(subscribes) > 1
    assert all(len(p) <= MAX_PARAMS_CHARS for p in subscribes)
    sent = [p for chunk in subscribes for p in chunk.split(",")]
    assert sorted(sent) == sorted(params(symbols, ("T", "Q", "AM")))  # each once, none lost
    assert client.subscribed == server.subs.topics == set(sent)
    assert progress(out)[-1] is ConnState.LIVE


# -- frames ------------------------------------------------------------------------------


def test_data_events_pass_through_and_statuses_are_taken_out() -> None:
    client = live_client()
    frame = (
        b'[{"ev":"T","sym":"AAPL","p":1.5,"s":100,"t":1700000000000},'
        b'{"ev":"status","status":"success","message":"subscribed to: T.AAPL"},'
        b'{"ev":"Q","sym":"AAPL","bp":1.4,"ap":1.6,"t":1700000000001}]'
    )
    events = client.receive_frame(frame)
    assert [type(e) for e in events] == [Trade, Quote]
    assert said(client.outputs()) == ["subscribed to: T.AAPL"]


def test_a_server_that_echoes_the_key_gets_it_masked() -> None:
    client = live_client()
    client.receive_frame(status("force_disconnect", f"bad session {KEY}"))
    out = client.outputs()
    assert said(out) == ["bad session ****"]
    assert out[-1] == Ended(
        ConnState.RECONNECTING, "the server forced a disconnect: bad session ****"
    )


def test_a_new_key_is_used_from_the_next_connection_on() -> None:
    client = ClientProtocol("a-wrong-key", ("T",), ["AAPL"])
    connect(client, InMemoryServer())
    client.connection_lost()
    client.key_changed(KEY)
    assert connect(client, InMemoryServer()) and client.live


def test_long_subscription_lists_are_chunked() -> None:
    many = [f"T.SYM{i:04d}" for i in range(3000)]
    parts = list(chunks(many, 8000))
    assert len(parts) > 1
    assert all(len(",".join(c)) <= 8000 for c in parts)
    assert [p for c in parts for p in c] == many


def test_refused_params_reads_the_plan_refusal_and_nothing_else() -> None:
    assert wire.refused_params(wire.refusal_message("Q.TSLA")) == ("Q.TSLA",)
    assert wire.refused_params("not authorized to subscribe to: Q.A, LULD.*") == ("Q.A", "LULD.*")
    assert wire.refused_params("subscribed to: Q.TSLA") == ()
    assert wire.refused_params("authentication failed") == ()

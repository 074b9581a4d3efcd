"""What the origin puts on the bus for a frame, by what edges hold (no server needed)."""

from __future__ import annotations

import json

import msgspec

from ticktape.feed.events import Quote, Trade, encode
from ticktape.link.connect import NatsOptions
from ticktape.link.origin import OriginLink


def trade(sym: str, p: float = 1.0) -> Trade:
    return Trade(symbol=sym, price=p, size=1, timestamp=1_700_000_000_000)


def quote(sym: str) -> Quote:
    return Quote(symbol=sym, bid=1.0, ask=1.1, timestamp=1_700_000_000_000)


def origin(*params: str) -> OriginLink:
    link = OriginLink(NatsOptions("nats://127.0.0.1:1"), on_interest=lambda *_: None)
    link.nats.up = True  # as if connected: publish() only queues, the publisher task sends
    link._set_edge("e", {"stocks": set(params)}, expires=1e18)
    return link


def queued(link: OriginLink) -> list[tuple[str, list[dict[str, object]]]]:
    return [(subject, json.loads(data)) for subject, data in link._out]


async def test_a_channel_batch_for_wildcards_and_a_symbol_batch_for_topics() -> None:
    link = origin("T.*", "Q.BRK.B")
    frame = [trade("AAPL"), quote("BRK.B"), trade("BRK.B"), quote("MSFT"), quote("BRK.B")]
    link.publish("stocks", frame)
    out = queued(link)
    subjects = [s for s, _ in out if not s.startswith("ticktape.status")]
    assert subjects == ["ticktape.md.stocks.T", "ticktape.md.stocks.Q.BRK%2EB"]
    batches = dict(out)
    assert [e["sym"] for e in batches["ticktape.md.stocks.T"]] == ["AAPL", "BRK.B"]
    assert [e["ev"] for e in batches["ticktape.md.stocks.Q.BRK%2EB"]] == ["Q", "Q"]


async def test_a_single_channel_frame_goes_out_as_the_upstream_bytes() -> None:
    link = origin("T.*")
    frame = [trade("AAPL"), trade("MSFT")]
    # Spaced as a server might: the bytes go on as they came, not re-encoded.
    raw = (
        b'[{"ev":"T","sym":"AAPL","p":1.0,"s":1,"t":1},  '
        b'{"ev":"T","sym":"MSFT","p":1.0,"s":1,"t":1}]'
    )
    link._out.clear()
    link.publish("stocks", frame, raw)
    assert list(link._out) == [("ticktape.md.stocks.T", raw)]


async def test_a_batch_over_the_bus_limit_is_split_and_nothing_is_lost() -> None:
    link = origin("T.*")
    link._out.clear()
    frame = [trade(f"S{i}", float(i)) for i in range(400)]
    assert len(encode(frame)) > 20_000
    link._max_payload = lambda: 4_000  # type: ignore[method-assign]
    link.publish("stocks", frame)
    pieces = [data for _, data in link._out]
    assert len(pieces) > 1 and all(len(p) <= 4_000 for p in pieces)
    got = [e for p in pieces for e in msgspec.json.decode(p)]
    assert [e["sym"] for e in got] == [f"S{i}" for i in range(400)]


async def test_nothing_is_published_that_no_edge_holds() -> None:
    link = origin("T.AAPL")
    link._out.clear()
    link.publish("stocks", [trade("MSFT"), quote("AAPL")])
    assert list(link._out) == []

"""Every example payload in the protocol's documentation, verbatim.

Each must decode to the right typed values and encode back to equal JSON
(the simulator encodes with the same Structs, so a lossy round trip would
make it send something a real server never would).
"""

from __future__ import annotations

import json
from typing import Any, get_args, get_origin

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticktape.feed.decode import Decoder
from ticktape.feed.events import (
    BY_TAG,
    EVENT_TYPES,
    CryptoL2,
    CryptoMinuteAgg,
    CryptoQuote,
    CryptoTrade,
    Event,
    ForexMinuteAgg,
    ForexQuote,
    Imbalance,
    LimitUpLimitDown,
    MinuteAgg,
    Quote,
    SecondAgg,
    Status,
    Trade,
    encode,
)

# --- copied verbatim from the protocol's documentation -------------------------------

CONNECTED = """[{
    "ev":"status",
    "status":"connected",
    "message": "Connected Successfully"
}]"""

AUTH_SUCCESS = """[{
    "ev":"status",
    "status":"auth_success",
    "message": "authenticated"
}]"""

ONE_TRADE_FRAME = """[
    {"ev":"T","sym":"MSFT","i":"50578","x":4,"p":215.9721,"s":100,"t":1611082428813,"z":3}
]"""

TWO_TRADE_FRAME = """[
    {"ev":"T","sym":"MSFT","i":"50578","x":4,"p":215.9721,"s":100,"t":1611082428813,"z":3}, 
    {"ev":"T","sym":"MSFT","i":"12856","x":4,"p":215.989,"s":1,"c":[37],"t":1611082428814,"z":3}
]"""  # noqa: W291 - the trailing space is in the seed

TRADE = """{
 "ev": "T",
 "sym": "MSFT",
 "x": 4,
 "i": "12345",
 "z": 3,
 "p": 114.125,
 "s": 100,
 "c": [
  0,
  12
 ],
 "t": 1536036818784
}"""

QUOTE = """{
 "ev": "Q",
 "sym": "MSFT",
 "bx": 4,
 "bp": 114.125,
 "bs": 100,
 "ax": 7,
 "ap": 114.128,
 "as": 160,
 "c": 0,
 "t": 1536036818784
}"""

SECOND_AGG = """{
 "ev": "A",
 "sym": "SPCE",
 "v": 200,
 "av": 8642007,
 "op": 25.66,
 "vw": 25.3981,
 "o": 25.39,
 "c": 25.39,
 "h": 25.39,
 "l": 25.39,
 "a": 25.3714,
 "z": 50,
 "s": 1610144868000,
 "e": 1610144869000
}"""

MINUTE_AGG = """{
 "ev": "AM",
 "sym": "GTE",
 "v": 4110,
 "av": 9470157,
 "op": 0.4372,
 "vw": 0.4488,
 "o": 0.4488,
 "c": 0.4486,
 "h": 0.4489,
 "l": 0.4486,
 "a": 0.4352,
 "z": 685,
 "s": 1610144640000,
 "e": 1610144700000
}"""

LULD = """{
 "ev": "LULD",
 "T": "MSFT",
 "h": 218.96,
 "l": 198.11,
 "i": [
  21
 ],
 "z": 3,
 "t": 1601316752683746,
 "q": 290317
}"""

NOI = """{
 "ev": "NOI",
 "T": "NTEST.Q",
 "t": 1601318039223013600,
 "at": 930,
 "a": "M",
 "i": 44,
 "x": 10,
 "o": 480,
 "p": 440,
 "b": 25.03
}"""

FOREX_QUOTE = """{
 "ev": "C",
 "p": "USD/CNH",
 "x": "44",
 "a": 6.83366,
 "b": 6.83363,
 "t": 1536036818784
}"""

FOREX_MINUTE_AGG = """{
 "ev": "CA",
 "pair": "USD/EUR",
 "o": 0.8687,
 "c": 0.86889,
 "h": 0.86889,
 "l": 0.8686,
 "v": 20,
 "s": 1539145740000
}"""

CRYPTO_TRADE = """{
 "ev": "XT",
 "pair": "BTC-USD",
 "p": 33021.9,
 "t": 1610462007425,
 "s": 0.01616617,
 "c": [
  2
 ],
 "i": 14272084,
 "x": 3,
 "r": 1610462007576
}"""

CRYPTO_QUOTE = """{
 "ev": "XQ",
 "pair": "BTC-USD",
 "bp": 33052.79,
 "bs": 0.48,
 "ap": 33073.19,
 "as": 0.601,
 "t": 1610462411115,
 "x": 1,
 "r": 1610462411128
}"""

CRYPTO_L2 = """{
 "ev": "XL2",
 "pair": "BTC-USD",
 "t": 1610462411115,
 "r": 1610462411128,
 "x": 1,
 "b": [
  [
   33712.71,
   0.18635
  ],
  [
   33712.7,
   0.134
  ]
 ],
 "a": [
  [
   33718.23,
   3.5527483
  ],
  [
   33718.24,
   0.1
  ]
 ]
}"""

CRYPTO_MINUTE_AGG = """{
 "ev": "XA",
 "pair": "BCD-USD",
 "v": 951.6112,
 "vw": 0.7756,
 "z": 73.33,
 "o": 0.772,
 "c": 0.784,
 "h": 0.784,
 "l": 0.771,
 "s": 1610463240000,
 "e": 1610463300000
}"""

# --- expected typed values ------------------------------------------------------------------

EXPECTED: list[tuple[str, Event]] = [
    (
        TRADE,
        Trade(
            symbol="MSFT",
            exchange=4,
            id="12345",
            tape=3,
            price=114.125,
            size=100,
            conditions=(0, 12),
            timestamp=1536036818784,
        ),
    ),
    (
        QUOTE,
        Quote(
            symbol="MSFT",
            bid_exchange=4,
            bid=114.125,
            bid_size=100,
            ask_exchange=7,
            ask=114.128,
            ask_size=160,
            condition=0,
            timestamp=1536036818784,
        ),
    ),
    (
        SECOND_AGG,
        SecondAgg(
            symbol="SPCE",
            volume=200,
            day_volume=8642007,
            day_open=25.66,
            vwap=25.3981,
            open=25.39,
            close=25.39,
            high=25.39,
            low=25.39,
            day_vwap=25.3714,
            avg_size=50,
            start=1610144868000,
            end=1610144869000,
        ),
    ),
    (
        MINUTE_AGG,
        MinuteAgg(
            symbol="GTE",
            volume=4110,
            day_volume=9470157,
            day_open=0.4372,
            vwap=0.4488,
            open=0.4488,
            close=0.4486,
            high=0.4489,
            low=0.4486,
            day_vwap=0.4352,
            avg_size=685,
            start=1610144640000,
            end=1610144700000,
        ),
    ),
    (
        LULD,
        LimitUpLimitDown(
            symbol="MSFT",
            high=218.96,
            low=198.11,
            indicators=(21,),
            tape=3,
            timestamp=1601316752683746,
            sequence=290317,
        ),
    ),
    (
        NOI,
        Imbalance(
            symbol="NTEST.Q",
            timestamp=1601318039223013600,
            auction_time=930,
            auction_type="M",
            sequence=44,
            exchange=10,
            imbalance=480,
            paired=440,
            clearing_price=25.03,
        ),
    ),
    (
        FOREX_QUOTE,
        ForexQuote(
            pair="USD/CNH", exchange="44", ask=6.83366, bid=6.83363, timestamp=1536036818784
        ),
    ),
    (
        FOREX_MINUTE_AGG,
        ForexMinuteAgg(
            pair="USD/EUR",
            open=0.8687,
            close=0.86889,
            high=0.86889,
            low=0.8686,
            volume=20,
            start=1539145740000,
        ),
    ),
    (
        CRYPTO_TRADE,
        CryptoTrade(
            pair="BTC-USD",
            price=33021.9,
            timestamp=1610462007425,
            size=0.01616617,
            conditions=(2,),
            id=14272084,
            exchange=3,
            received=1610462007576,
        ),
    ),
    (
        CRYPTO_QUOTE,
        CryptoQuote(
            pair="BTC-USD",
            bid=33052.79,
            bid_size=0.48,
            ask=33073.19,
            ask_size=0.601,
            timestamp=1610462411115,
            exchange=1,
            received=1610462411128,
        ),
    ),
    (
        CRYPTO_L2,
        CryptoL2(
            pair="BTC-USD",
            timestamp=1610462411115,
            received=1610462411128,
            exchange=1,
            bids=((33712.71, 0.18635), (33712.7, 0.134)),
            asks=((33718.23, 3.5527483), (33718.24, 0.1)),
        ),
    ),
    (
        CRYPTO_MINUTE_AGG,
        CryptoMinuteAgg(
            pair="BCD-USD",
            volume=951.6112,
            vwap=0.7756,
            avg_size=73.33,
            open=0.772,
            close=0.784,
            high=0.784,
            low=0.771,
            start=1610463240000,
            end=1610463300000,
        ),
    ),
]

FRAMES: list[tuple[str, list[Event]]] = [
    (CONNECTED, [Status(status="connected", message="Connected Successfully")]),
    (AUTH_SUCCESS, [Status(status="auth_success", message="authenticated")]),
    (
        ONE_TRADE_FRAME,
        [Trade("MSFT", 215.9721, 100, 1611082428813, exchange=4, id="50578", tape=3)],
    ),
    (
        TWO_TRADE_FRAME,
        [
            Trade("MSFT", 215.9721, 100, 1611082428813, exchange=4, id="50578", tape=3),
            Trade("MSFT", 215.989, 1, 1611082428814, 4, "12856", 3, conditions=(37,)),
        ],
    ),
]


def _ids(cases: list[tuple[str, Any]]) -> list[str]:
    return [json.loads(text)["ev"] if text.lstrip()[0] == "{" else "frame" for text, _ in cases]


@pytest.mark.parametrize(("text", "expected"), EXPECTED, ids=_ids(EXPECTED))
def test_seed_event_decodes_to_typed_values_and_round_trips(text: str, expected: Event) -> None:
    decoder = Decoder()
    frame = f"[{text}]"
    events = decoder.decode(frame.encode())
    assert events == [expected]
    assert type(events[0]) is BY_TAG[json.loads(text)["ev"]]
    assert decoder.stats.errors == {}
    assert json.loads(encode(events)) == [json.loads(text)]


@pytest.mark.parametrize(("text", "expected"), FRAMES, ids=_ids(FRAMES))
def test_seed_frames_decode_and_round_trip(text: str, expected: list[Event]) -> None:
    events = Decoder().decode(text)
    assert events == expected
    assert json.loads(encode(events)) == json.loads(text)


def test_all_seed_events_in_one_batched_frame_keep_their_order() -> None:
    frame = "[" + ",".join(text for text, _ in EXPECTED) + "]"
    assert Decoder().decode(frame) == [ev for _, ev in EXPECTED]


def test_luld_and_noi_keep_wire_units_but_expose_unix_ms() -> None:
    luld = msgspec.json.decode(LULD, type=LimitUpLimitDown)
    noi = msgspec.json.decode(NOI, type=Imbalance)
    assert luld.timestamp == 1601316752683746  # µs on the wire, kept for re-encoding
    assert luld.time_ms == 1601316752683
    assert noi.timestamp == 1601318039223013600  # ns on the wire
    assert noi.time_ms == 1601318039223


@pytest.mark.parametrize(
    ("text", "time_ms", "key"),
    [
        (TRADE, 1536036818784, "MSFT"),
        (QUOTE, 1536036818784, "MSFT"),
        (SECOND_AGG, 1610144868000, "SPCE"),  # bars are timed by their start
        (MINUTE_AGG, 1610144640000, "GTE"),
        (FOREX_QUOTE, 1536036818784, "USD/CNH"),
        (FOREX_MINUTE_AGG, 1539145740000, "USD/EUR"),
        (CRYPTO_TRADE, 1610462007425, "BTC-USD"),
        (CRYPTO_L2, 1610462411115, "BTC-USD"),
        (CRYPTO_MINUTE_AGG, 1610463240000, "BCD-USD"),
    ],
)
def test_time_ms_and_key_are_uniform_across_events(text: str, time_ms: int, key: str) -> None:
    (event,) = Decoder().decode(f"[{text}]")
    assert event.time_ms == time_ms
    assert event.key == key


def test_status_has_no_time_or_key() -> None:
    (status,) = Decoder().decode(CONNECTED)
    assert (status.time_ms, status.key) == (0, "")


def test_optional_fields_absent_on_the_wire_stay_absent_when_encoded() -> None:
    bare = Trade(symbol="AAPL", price=1.5, size=10, timestamp=1)
    assert json.loads(encode([bare])) == [{"ev": "T", "sym": "AAPL", "p": 1.5, "s": 10, "t": 1}]


# --- property: every Struct round-trips, so the simulator's frames decode to what it meant ---


def _values(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type as JSON can carry them (finite floats, 64-bit ints)."""
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is int:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if tp is str:
        return st.text(max_size=6)
    if tp is bool:
        return st.booleans()
    if tp is type(None):
        return st.none()
    args = get_args(tp)
    if get_origin(tp) is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_values(args[0]), max_size=3).map(tuple)
        return st.tuples(*(_values(a) for a in args))
    return st.one_of([_values(a) for a in args])  # a union


def _events(t: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    fields = msgspec.structs.fields(t)
    return st.builds(t, **{f.name: _values(f.type) for f in fields})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of([_events(t) for t in EVENT_TYPES]), max_size=4))
def test_any_events_round_trip_through_a_frame(events: list[Event]) -> None:
    decoder = Decoder()
    assert decoder.decode(encode(events)) == events
    assert decoder.stats.errors == {}

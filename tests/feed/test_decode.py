"""The decoder keeps every good event, counts every bad one by kind, and never raises."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticktape.feed.decode import (
    BAD_TYPE,
    MISSING_FIELD,
    NOT_ARRAY,
    NOT_JSON,
    NOT_OBJECT,
    UNKNOWN_EV,
    Decoder,
    decode_frame,
)
from ticktape.feed.events import BY_TAG, EVENT_TYPES, MinuteAgg, Status, Trade

T1 = '{"ev":"T","sym":"MSFT","i":"50578","x":4,"p":215.9721,"s":100,"t":1611082428813,"z":3}'
AM = (
    '{"ev":"AM","sym":"GTE","v":4110,"o":0.4488,"c":0.4486,"h":0.4489,"l":0.4486,'
    '"s":1610144640000,"e":1610144700000}'
)
STATUS = '{"ev":"status","status":"success","message":"subscribed to: T.MSFT"}'
UNKNOWN = '{"ev":"FMV","sym":"MSFT","fmv":215.97,"t":1611082428813}'
MISSING = '{"ev":"Q","sym":"MSFT","bp":114.125,"t":1536036818784}'  # no "ap"
STRING_NUMBER = '{"ev":"T","sym":"MSFT","p":"215.98","s":100,"t":1611082428814}'


def test_mixed_frame_yields_exactly_the_valid_events_in_order_and_counts_the_rest() -> None:
    decoder = Decoder()
    frame = f"[{T1},{UNKNOWN},{STATUS},{MISSING},{STRING_NUMBER},{AM}]"
    events = decoder.decode(frame.encode())
    assert [type(e) for e in events] == [Trade, Status, MinuteAgg]
    assert events[0] == Trade("MSFT", 215.9721, 100, 1611082428813, 4, "50578", 3)
    assert events[1] == Status("success", "subscribed to: T.MSFT")
    assert events[2] == MinuteAgg(
        "GTE", 0.4488, 0.4489, 0.4486, 0.4486, 4110, 1610144640000, 1610144700000
    )
    assert decoder.decode(b'[{"ev":"T","sym":"MS') == []  # a non-JSON (truncated) frame
    assert decoder.stats.errors == {UNKNOWN_EV: 1, MISSING_FIELD: 1, BAD_TYPE: 1, NOT_JSON: 1}
    assert (decoder.stats.frames, decoder.stats.events, decoder.stats.error_total) == (2, 3, 4)


def test_clean_frames_count_frames_and_events_but_no_errors() -> None:
    decoder = Decoder()
    assert len(decoder.decode(f"[{T1},{T1}]")) == 2
    assert decoder.decode(b"[]") == []
    assert (decoder.stats.frames, decoder.stats.events, decoder.stats.errors) == (2, 2, {})


def test_element_without_ev_counts_as_unknown_and_non_objects_as_not_object() -> None:
    decoder = Decoder()
    events = decoder.decode(f'[{{"sym":"MSFT","p":1}},42,"T",null,{T1}]')
    assert [type(e) for e in events] == [Trade]
    assert decoder.stats.errors == {UNKNOWN_EV: 1, NOT_OBJECT: 3}


def test_a_lone_event_object_is_accepted_and_other_json_is_not_an_array() -> None:
    decoder = Decoder()
    assert [type(e) for e in decoder.decode(T1)] == [Trade]
    assert decoder.decode('"hello"') == []
    assert decoder.decode(b"17") == []
    assert decoder.decode(b"") == []
    assert decoder.stats.errors == {NOT_ARRAY: 2, NOT_JSON: 1}


def test_extra_unknown_fields_are_ignored() -> None:
    # Servers add fields over time; an old client must keep working.
    (trade,) = decode_frame('[{"ev":"T","sym":"A","p":1.0,"s":1,"t":5,"new_field":{"x":[1]}}]')
    assert trade == Trade("A", 1.0, 1, 5)


def test_counts_belong_to_each_decoder() -> None:
    a, b = Decoder(), Decoder()
    a.decode(b"not json")
    assert a.stats.errors == {NOT_JSON: 1}
    assert b.stats.errors == {}
    assert "not_json" in repr(a.stats)


# --- property tests: nothing the wire sends makes the decoder raise ------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=25,
)

# Objects that look like events (a known tag, wire keys) reach the deep validation paths.
WIRE_KEYS = sorted({f.encode_name for t in EVENT_TYPES for f in msgspec.structs.fields(t)})
event_like = st.builds(
    lambda tag, body: {**body, "ev": tag},
    st.sampled_from(sorted(BY_TAG)),
    st.dictionaries(
        st.sampled_from(WIRE_KEYS), scalars | st.lists(scalars, max_size=3), max_size=10
    ),
)
frames = st.lists(event_like | scalars, max_size=6)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(decoder: Decoder, frame: bytes, elements: int) -> None:
    before = decoder.stats.error_total
    events = decoder.decode(frame)
    assert isinstance(events, list)
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    # Every element is either an event or a counted failure: nothing vanishes silently.
    assert len(events) + decoder.stats.error_total - before == elements


@PROPERTY
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(frame: bytes) -> None:
    decoder = Decoder()
    events = decoder.decode(frame)
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    assert decoder.stats.frames == 1


@PROPERTY
@given(json_values)
def test_arbitrary_json_never_raises(value: Any) -> None:
    elements = len(value) if isinstance(value, list) else 1
    _check(Decoder(), json.dumps(value).encode(), elements)


@PROPERTY
@given(frames)
def test_event_like_frames_never_raise_and_account_for_every_element(value: list[Any]) -> None:
    _check(Decoder(), json.dumps(value).encode(), len(value))

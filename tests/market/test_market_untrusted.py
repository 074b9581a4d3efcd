"""Wire values are untrusted: a bent event is skipped and counted in ``bad_events``, never
aborts the rest of its frame, and never leaves a time in the state that cannot be shown."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.market.wire_fuzz import HOSTILE, T0, TEMPLATES, TRUNCATE, event, random_frame, readings

from ticktape.feed.decode import Decoder
from ticktape.market import MarketState
from ticktape.timeutil import MS_END, normalize_ms

_encode = msgspec.json.Encoder().encode
GOOD_TRADE: dict[str, Any] = {"ev": "T", "sym": "MSFT", "p": 400.0, "s": 10, "t": T0 + 5}


def apply_json(state: MarketState, events: list[dict[str, Any]], cut: int | None = None) -> None:
    frame = _encode(events)
    state.apply(Decoder().decode(frame[:cut]), T0)


def test_a_minute_bar_with_an_absurd_start_skips_only_itself() -> None:
    state = MarketState()
    apply_json(state, [event("AM", {"s": 10**20}), GOOD_TRADE])
    msft = state.get("MSFT")
    assert msft is not None and msft.last == 400.0
    assert state.bad_events == 1


#: Every field that becomes a time the UI shows or a day boundary, per event.
TIME_FIELDS = [
    ("T", "t"), ("Q", "t"), ("A", "s"), ("A", "e"), ("AM", "s"), ("AM", "e"), ("LULD", "t"),
    ("NOI", "t"), ("C", "t"), ("CA", "s"), ("CA", "e"), ("CAS", "s"), ("XT", "t"), ("XQ", "t"),
    ("XA", "s"), ("XA", "e"), ("XAS", "s"),
]  # fmt: skip
ABSURD_TIMES = [-1, -62_135_596_800_001, 10**16, 2**63 - 1, 10**20, 2**70]
#: LULD and NOI times come in µs and ns, so some "absurd" ms values are fine dates for them.
CASES = [
    (tag, name, when)
    for tag, name in TIME_FIELDS
    for when in ABSURD_TIMES
    if not (tag in ("LULD", "NOI") and 0 <= normalize_ms(when) < MS_END)
]


@pytest.mark.parametrize(("tag", "name", "when"), CASES)
def test_an_absurd_time_skips_the_event_and_the_state_stays_showable(
    tag: str, name: str, when: int
) -> None:
    state = MarketState()
    state.watch(["AAPL", "EUR/USD", "BTC-USD"])  # deep stores: quotes and seconds kept too
    apply_json(state, [event(tag, {name: when}), GOOD_TRADE])
    assert state.bad_events == 1
    msft = state.get("MSFT")
    assert msft is not None and msft.last == 400.0
    list(readings(state))  # no time in the state is out of the calendar's range


# -- fuzz ---------------------------------------------------------------------------------

hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


@st.composite
def bent_events(draw: st.DrawFn, tag: str) -> dict[str, Any]:
    fields = sorted(TEMPLATES[tag])
    changes = draw(st.dictionaries(st.sampled_from(fields), hostile, max_size=3))
    dropped = draw(st.frozensets(st.sampled_from(fields), max_size=1))
    return event(tag, changes, dropped)


@pytest.mark.parametrize("tag", sorted(TEMPLATES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_no_bent_event_raises_out_of_apply(tag: str, data: st.DataObject) -> None:
    """Each event type, bent in up to three fields, among good events; maybe truncated."""
    state = MarketState()
    state.watch(["AAPL"])
    bent = data.draw(st.lists(bent_events(tag), min_size=1, max_size=3))
    cut = data.draw(st.sampled_from(TRUNCATE))
    frame = [event(tag, {}), *bent, GOOD_TRADE]
    apply_json(state, frame, cut)
    if cut is None:
        msft = state.get("MSFT")
        assert msft is not None and msft.last == 400.0  # the bent events cost nothing after
    list(readings(state))


@pytest.mark.soak
def test_soak_100k_mutated_frames_through_decode_and_apply() -> None:
    rng = random.Random(20_251_202)
    state = MarketState()
    state.watch(["AAPL", "EUR/USD", "BTC-USD"])
    decoder = Decoder()
    for n in range(100_000):
        frame = _encode(random_frame(rng))
        cut = rng.randrange(len(frame)) if rng.random() < 0.1 else None  # one in ten truncated
        state.apply(decoder.decode(frame[:cut]), T0 + n)
        if n % 1000 == 0:
            list(readings(state))
    list(readings(state))
    assert state.bad_events > 0 and decoder.stats.error_total > 0  # the run did bend things


@pytest.mark.parametrize("bent", [{"v": 10**400}, {"v": 10**300, "z": 1}, {"av": 10**400}])
def test_a_minute_bar_that_cannot_be_stored_moves_no_day_figure(bent: dict[str, Any]) -> None:
    state = MarketState()
    apply_json(state, [event("AM", {})])
    aapl = state.get("AAPL")
    assert aapl is not None
    before = (aapl.high, aapl.low, aapl.volume, aapl.last)
    apply_json(state, [event("AM", {"h": 10_000.0, "l": 1.0, "c": 5_000.0, **bent})])
    assert state.bad_events == 1
    assert (aapl.high, aapl.low, aapl.volume, aapl.last) == before

"""Backoff: waits stay within bounds, stop growing at the cap, and start over after a reset."""

from __future__ import annotations

import random

import pytest

from ticktape.feed.backoff import Backoff


def test_full_jitter_waits_lie_between_zero_and_a_doubling_ceiling() -> None:
    rng = random.Random(7)
    b = Backoff(base=0.5, cap=30.0, random_fn=rng.random)
    for k in range(12):
        ceiling = min(30.0, 0.5 * 2**k)
        delay = b.next_delay()
        assert 0.0 <= delay <= ceiling
        assert b.attempt == k + 1


def test_extremes_of_the_random_draw_give_the_ceiling_and_its_jitter_floor() -> None:
    top = Backoff(base=1.0, cap=8.0, jitter=0.25, random_fn=lambda: 0.0)
    bottom = Backoff(base=1.0, cap=8.0, jitter=0.25, random_fn=lambda: 1.0)
    assert [top.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert [bottom.next_delay() for _ in range(5)] == [0.75, 1.5, 3.0, 6.0, 6.0]


def test_cap_holds_after_days_of_failures() -> None:
    b = Backoff(base=0.5, cap=30.0, random_fn=lambda: 0.0)
    b.attempt = 100_000  # a long outage must not overflow the exponent
    assert b.next_delay() == 30.0


def test_reset_and_stable_period() -> None:
    b = Backoff(base=1.0, cap=60.0, reset_after=60.0, random_fn=lambda: 0.0)
    for _ in range(4):
        b.next_delay()
    assert not b.stable(59.0)  # a flapping connection keeps the wait growing
    assert b.next_delay() == 16.0
    assert b.stable(60.0)
    assert b.attempt == 0
    assert b.next_delay() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"base": 0.0}, {"base": 5.0, "cap": 1.0}, {"factor": 0.5}, {"jitter": 1.5}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]

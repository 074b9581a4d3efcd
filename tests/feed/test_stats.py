"""FeedStats: rates over a sliding window, lag/apply percentiles, and the falling-behind warning."""

from __future__ import annotations

import pytest

from ticktape.feed.events import MinuteAgg, Quote, Status, Trade
from ticktape.feed.stats import FeedStats, lag_sample, percentile


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_rates_cover_the_window_and_forget_older_seconds() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(window_s=5, clock=clock)
    for second in range(10):
        for _ in range(20):  # 20 frames of 10 events each, every second
            stats.record_frame(10, None, 0.0001, now=1000.0 + second + 0.5)
    clock.t = 1010.0  # the window is 1006..1010: four whole seconds
    assert stats.frames_per_s == pytest.approx(20.0)
    assert stats.events_per_s == pytest.approx(200.0)
    clock.t = 1100.0
    assert stats.frames_per_s == 0.0


def test_rates_right_after_start_divide_by_the_time_elapsed() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(window_s=5, clock=clock)
    for _ in range(50):
        stats.record_frame(2, None, 0.0, now=1000.2)
    clock.t = 1000.5
    assert stats.frames_per_s == pytest.approx(100.0)
    assert stats.events_per_s == pytest.approx(200.0)


def test_lag_and_apply_percentiles() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(window_s=5, clock=clock)
    for i in range(100):
        stats.record_frame(1, float(i + 1), (i + 1) / 1e4, now=1000.0 + i / 100)
    clock.t = 1001.0
    assert stats.lag_p50_ms == 50.0
    assert stats.lag_p99_ms == 99.0
    assert stats.apply_ms_p99 == pytest.approx(9.9)


def test_sampling_stays_bounded_and_unbiased_under_a_firehose() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(samples_per_s=64, clock=clock)
    n = 100_000
    for i in range(n):  # lag rises evenly through the second
        stats.record_frame(1, float(i), 0.0, now=1000.0 + i / n)
    clock.t = 1001.0
    kept = stats._cur.lag
    assert len(kept) < 64
    assert stats.lag_p50_ms == pytest.approx(n / 2, rel=0.1)
    assert stats.frames_per_s == pytest.approx(n, rel=0.01)


def test_no_samples_means_no_figures() -> None:
    stats = FeedStats(clock=Clock())
    assert stats.lag_p50_ms is None
    assert stats.apply_ms_p99 is None
    assert not stats.warning


def _feed(stats: FeedStats, start: float, seconds: int, lag: float, apply_s: float) -> None:
    for s in range(seconds):
        for k in range(10):
            stats.record_frame(1, lag + s * 100.0, apply_s, now=start + s + k / 10)


def test_warning_when_lag_keeps_growing_but_not_when_it_is_steady() -> None:
    clock = Clock(1000.0)
    rising = FeedStats(trend_s=9, lag_growth_ms=500.0, clock=clock)
    _feed(rising, 1000.0, 9, lag=50.0, apply_s=0.0001)  # +100 ms every second
    steady = FeedStats(trend_s=9, lag_growth_ms=500.0, clock=clock)
    for s in range(9):
        for k in range(10):
            steady.record_frame(1, 900_000.0, 0.0001, now=1000.0 + s + k / 10)  # a delayed feed
    clock.t = 1008.99
    assert rising.warning
    assert "lag keeps growing" in rising.warning_reason
    assert not steady.warning


def test_warning_when_frame_time_keeps_growing() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(trend_s=9, apply_growth_ms=5.0, clock=clock)
    for s in range(9):
        for k in range(10):
            stats.record_frame(1, 10.0, 0.001 * (s + 1), now=1000.0 + s + k / 10)
    clock.t = 1008.99
    assert "frame time keeps growing" in stats.warning_reason


def test_warning_when_handling_frames_takes_most_of_the_time() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(window_s=5, busy_warn=0.8, clock=clock)
    for s in range(5):
        for k in range(10):
            stats.record_frame(1, 10.0, 0.09, now=1000.0 + s + k / 10)  # 90 % busy
    clock.t = 1004.99
    snap = stats.snapshot()
    assert snap.busy == pytest.approx(0.9, rel=0.05)
    assert snap.warning
    assert "90%" in snap.warning_reason


def test_lag_sample_uses_the_first_trade_or_quote_only() -> None:
    trade = Trade(symbol="AAPL", price=1.0, size=1, timestamp=1_000)
    quote = Quote(symbol="AAPL", bid=1.0, ask=1.1, timestamp=1_500)
    bar = MinuteAgg(symbol="AAPL", open=1, high=1, low=1, close=1, volume=1, start=0)
    assert lag_sample([bar, quote, trade], 2_000) == 500.0
    assert lag_sample([bar, Status(status="success")], 2_000) is None
    assert lag_sample([], 2_000) is None


def test_silence_is_the_time_since_the_last_frame() -> None:
    clock = Clock(1000.0)
    stats = FeedStats(clock=clock)
    assert stats.snapshot().silent_s is None  # nothing yet: no claim either way
    stats.record_frame(3, None, 0.0001, now=1001.0)
    clock.t = 1013.5
    assert stats.snapshot().silent_s == pytest.approx(12.5)

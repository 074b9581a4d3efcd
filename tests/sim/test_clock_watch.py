"""The status bar's market words, from the simulator's status endpoints and from the calendar.

Each case runs three ways: against the simulator (its clock injected), with no REST at all,
and with a REST client whose server is gone — the words must be the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from ticktape.feed.clockwatch import BOUNDARY_LAG_MS, POLL_MS, RETRY_MS, ClockWatch
from ticktape.feed.marketstatus import MarketDay, MarketStatusNow
from ticktape.feed.rest import RestClient
from ticktape.sim.server import Simulator
from ticktape.timeutil import zone

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


CASES = [
    # a regular day: Wednesday 2026-12-02
    ("2026-12-02 03:10", "closed · opens 04:00", True),
    ("2026-12-02 08:18", "pre-market · opens in 1h12m", False),
    ("2026-12-02 13:55", "open · closes in 2h05m", False),
    ("2026-12-02 17:30", "after-hours · ends in 2h30m", False),
    ("2026-12-02 21:00", "closed · opens Thu 04:00", True),
    # the early close after Thanksgiving: the bell at 13:00, after-hours until 17:00
    ("2026-11-27 08:00", "pre-market · opens in 1h30m (early close 13:00)", False),
    ("2026-11-27 11:00", "open · closes in 2h00m", False),
    ("2026-11-27 16:00", "after-hours · ends in 1h00m", False),
    # a holiday, and the short day after it
    ("2026-11-26 12:00", "closed — Thanksgiving Day · opens Fri 04:00 (early close 13:00)", True),
    # a weekend
    ("2026-12-05 11:00", "closed — weekend · opens Mon 04:00", True),
]


@pytest.fixture(params=["simulator", "no-rest", "rest-down"])
async def mode(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    yield str(request.param)


async def watch_at(mode: str, at: int) -> ClockWatch:
    """A watch that has polled once at ``at`` in the given mode."""
    if mode == "simulator":
        async with (
            Simulator(api_key="k", market_clock=lambda: at) as sim,
            RestClient(sim.rest_url, "k") as rest,
        ):
            watch = ClockWatch("stocks", rest, clock=lambda: at)
            assert await watch.poll_once()
            assert watch.clock.from_server
        return watch
    if mode == "rest-down":
        async with Simulator(api_key="k") as sim:
            url = sim.rest_url  # nothing listens there once the block ends
        async with RestClient(url, "k", max_retries=0) as rest:
            watch = ClockWatch("stocks", rest, clock=lambda: at)
            assert not await watch.poll_once()
            assert watch.last_error and "cannot reach" in watch.last_error
        return watch
    watch = ClockWatch("stocks", None, clock=lambda: at)
    assert not await watch.poll_once()
    return watch


@pytest.mark.parametrize(("at", "words", "closed"), CASES)
async def test_phase_words_and_countdowns(mode: str, at: str, words: str, closed: bool) -> None:
    watch = await watch_at(mode, et(at))
    line = watch.line()
    assert (line.text, line.closed) == (words, closed)


class Script:
    """A status source that answers what the test tells it to, and counts the questions."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.now_calls = 0
        self.upcoming_calls = 0
        self.fail = False

    async def market_status(self) -> MarketStatusNow:
        self.now_calls += 1
        if self.fail:
            raise OSError("down")
        return MarketStatusNow(market=self.market)

    async def upcoming_market_days(self) -> list[MarketDay]:
        self.upcoming_calls += 1
        return []


async def test_polls_gently_and_just_after_each_boundary() -> None:
    now = [et("2026-12-02 11:00")]
    watch = ClockWatch("stocks", Script("open"), clock=lambda: now[0])
    assert watch.next_poll_ms(now[0]) == now[0] + POLL_MS
    near = et("2026-12-02 15:58")
    assert watch.next_poll_ms(near) == et("2026-12-02 16:00") + BOUNDARY_LAG_MS
    assert watch.next_poll_ms(now[0], ok=False) == now[0] + RETRY_MS


async def test_run_asks_again_at_the_boundary_and_the_holidays_rarely() -> None:
    now = [et("2026-12-02 15:57")]
    script = Script("open")
    watch = ClockWatch("stocks", script, clock=lambda: now[0])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += int(seconds * 1000)
        if len(waits) == 3:
            raise TimeoutError  # ends the endless loop

    with pytest.raises(TimeoutError):
        await watch.run(sleep)
    assert waits == [(3 * 60_000 + BOUNDARY_LAG_MS) / 1000, POLL_MS / 1000, POLL_MS / 1000]
    assert script.now_calls == 3 and script.upcoming_calls == 1


async def test_an_unscheduled_closure_from_the_server_is_shown_and_silence_expected() -> None:
    at = et("2026-12-02 11:00")
    watch = ClockWatch("stocks", Script("closed"), clock=lambda: at)
    await watch.poll_once()
    line = watch.line()
    assert (line.text, line.closed) == ("closed — said by the server", True)


async def test_the_simulator_running_off_hours_says_which_session_it_simulates() -> None:
    at = et("2026-12-05 02:00")  # a Saturday night, and the simulator trades
    watch = ClockWatch("stocks", Script("open"), clock=lambda: at, simulated=True)
    await watch.poll_once()
    assert watch.line().text == "open session"
    assert not watch.line().closed

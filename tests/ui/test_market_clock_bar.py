"""The status bar carries the market's phase; silence while closed is not an alarm."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from ticktape.feed.clockwatch import ClockWatch
from ticktape.timeutil import zone
from ticktape.ui.statusbar import CLOSED_QUIET

from .conftest import STATS, MakeApp, until

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


@pytest.mark.parametrize(
    ("at", "phase", "quiet"),
    [
        ("2026-12-02 13:55", "open · closes in 2h05m", "connected — no data for 40 s"),
        ("2026-12-05 11:00", "closed — weekend · opens Mon 04:00", CLOSED_QUIET),
        ("2026-11-26 12:00", "closed — Thanksgiving Day · opens Fri 04:00", CLOSED_QUIET),
    ],
)
async def test_the_bar_says_the_phase_and_silence_differs_open_vs_closed(
    make_app: MakeApp, at: str, phase: str, quiet: str
) -> None:
    now = et(at)
    watch = ClockWatch("stocks", None, clock=lambda: now)
    app = make_app(clock=lambda: now, clock_watch=watch, stats=replace(STATS, silent_s=40.0))
    async with app.run_test(size=(160, 30)) as pilot:
        await until(
            pilot, lambda: phase in app.main.status.plain, seen=lambda: app.main.status.plain
        )
        text = app.main.status.plain
        assert quiet in text
        other = CLOSED_QUIET if quiet != CLOSED_QUIET else "no data for"
        assert other not in text


async def test_the_countdown_moves_with_the_clock(make_app: MakeApp) -> None:
    now = [et("2026-12-02 08:18")]
    watch = ClockWatch("stocks", None, clock=lambda: now[0])
    app = make_app(clock=lambda: now[0], clock_watch=watch)
    async with app.run_test(size=(160, 30)) as pilot:
        status = app.main.status
        await until(pilot, lambda: "pre-market · opens in 1h12m" in status.plain)
        now[0] += 62 * 60_000
        await until(pilot, lambda: "pre-market · opens in 10m" in status.plain)
        assert "no data" not in status.plain  # the feed talks: nothing to say about silence

"""Soak: a session that must stay up for days, compressed into minutes.

Run by ``make soak`` (not in CI). The simulator streams a 100-symbol market
at a high rate and drops every connection every few seconds; the session must
recover every time with the same subscriptions, the market state must keep
moving, and the process's memory must level off (bounded rings, no leak per
reconnect). ``TICKTAPE_SOAK_S`` sets the length (default 120 s).
"""

from __future__ import annotations

import asyncio
import os
import time

import psutil
import pytest

from ticktape.feed.backoff import Backoff
from ticktape.feed.session import ConnState, Session, SessionStatus
from ticktape.market import MarketState
from ticktape.sim.server import Simulator

pytestmark = pytest.mark.soak

SOAK_S = float(os.environ.get("TICKTAPE_SOAK_S", "120"))
SYMBOLS = [f"S{i:03d}" for i in range(100)]


@pytest.mark.timeout(SOAK_S + 120)
async def test_session_survives_repeated_drops_with_flat_memory() -> None:
    proc = psutil.Process()
    state = MarketState()
    state.watch(SYMBOLS[:10])
    lives: list[float] = []
    live = asyncio.Event()

    def on_status(st: SessionStatus) -> None:
        if st.state is ConnState.LIVE:
            lives.append(time.monotonic())
            live.set()

    async with Simulator(seed=3, symbols=SYMBOLS, rate=20_000, speed=10.0) as sim:
        sim.faults.drop_after(5.0)
        session = Session(
            f"{sim.ws_url}/stocks",
            "soak-key",
            on_events=state.apply,
            on_status=on_status,
            symbols=SYMBOLS,
            backoff=Backoff(base=0.05, cap=0.5),
        )
        task = asyncio.create_task(session.run())
        try:
            await asyncio.wait_for(live.wait(), 30)
            start = time.monotonic()
            rss: list[tuple[float, int]] = []
            versions: list[int] = []
            while time.monotonic() - start < SOAK_S:
                await asyncio.sleep(1.0)  # a sampling period, not synchronisation
                rss.append((time.monotonic() - start, proc.memory_info().rss))
                versions.append(state.version)
            # Recovered from every drop, with the whole watchlist subscribed each time.
            assert len(lives) >= SOAK_S / 6
            assert session.status.state in (ConnState.LIVE, ConnState.RECONNECTING)
            assert session.stats.reconnects >= len(lives) - 2
            # The state kept moving: no minute-long stretch without a change.
            assert all(b > a for a, b in zip(versions[::30], versions[30::30], strict=False))
            # Memory levels off: the second half grows less than 10 % over the first.
            half = [r for t, r in rss if t >= SOAK_S / 2]
            assert max(half) <= 1.10 * half[0], (half[0], max(half))
        finally:
            await session.stop()
            await task

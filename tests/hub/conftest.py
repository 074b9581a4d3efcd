"""A hub in front of an in-process simulator, all on 127.0.0.1.

The simulator plays the real service: it checks the real key and counts the
connections it sees. Clients of the hub use the hub's token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ticktape.feed.backoff import Backoff
from ticktape.hub.relay import Hub
from ticktape.sim.server import Simulator

REAL_KEY = "REAL-key-7f3a9c-never-downstream"
TOKEN = "hub-token-1"


def fast_sessions() -> dict[str, Any]:
    """Upstream sessions that retry in tens of milliseconds, so tests wait little."""
    return {
        "backoff": Backoff(base=0.05, cap=0.2, jitter=0.0),
        "kicked_backoff": Backoff(base=0.05, cap=0.2, jitter=0.0),
    }


@asynccontextmanager
async def hub_on_sim(
    *, sim: dict[str, Any] | None = None, **hub_kw: Any
) -> AsyncIterator[tuple[Simulator, Hub]]:
    sim_kw = {"rate": 4000, "speed": 600, "api_key": REAL_KEY, **(sim or {})}
    async with Simulator(**sim_kw) as upstream:
        hub_kw.setdefault("session_options", fast_sessions())
        async with Hub(
            upstream_url=upstream.ws_url, api_key=REAL_KEY, token=TOKEN, **hub_kw
        ) as hub:
            yield upstream, hub

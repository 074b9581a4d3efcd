"""Helpers for simulator tests: a small protocol-aware client and condition waits.

Everything talks to a real server on 127.0.0.1. Waits are on conditions with a
deadline (never bare sleeps), generous enough for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Status
from ticktape.sim.server import Simulator

DEADLINE = 15.0  # seconds; only ever reached when something is wrong


async def wait_for(predicate: Callable[[], bool], within: float = DEADLINE) -> None:
    """Poll ``predicate`` until true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


class WireClient:
    """A plain websockets client that decodes frames with the app's own decoder."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.decoder = Decoder()
        self.frames = 0

    async def send(self, action: str, params: str) -> None:
        await self.ws.send(json.dumps({"action": action, "params": params}))

    async def frame(self, within: float = DEADLINE) -> list[Event]:
        """The next frame, decoded."""
        data = await asyncio.wait_for(self.ws.recv(), within)
        self.frames += 1
        return self.decoder.decode(data)

    async def statuses(self, count: int, within: float = DEADLINE) -> list[Status]:
        """Read frames until ``count`` statuses have arrived; market events are skipped."""
        found: list[Status] = []
        deadline = time.monotonic() + within
        while len(found) < count:
            events = await self.frame(max(0.01, deadline - time.monotonic()))
            found.extend(e for e in events if isinstance(e, Status))
        return found

    async def events(
        self, want: Callable[[list[Event]], bool], within: float = DEADLINE
    ) -> list[Event]:
        """Collect market events until ``want(collected)`` is true."""
        got: list[Event] = []
        deadline = time.monotonic() + within
        while not want(got):
            frame = await self.frame(max(0.01, deadline - time.monotonic()))
            got.extend(e for e in frame if not isinstance(e, Status))
        return got


@asynccontextmanager
async def client(
    sim: Simulator, cluster: str = "stocks", key: str | None = "test-key", **kw: Any
) -> AsyncIterator[WireClient]:
    """Connect (and, with a key, authenticate: the handshake is asserted)."""
    async with connect(f"{sim.ws_url}/{cluster}", max_size=None, **kw) as ws:
        c = WireClient(ws)
        [hello] = await c.frame()
        assert hello == Status(status="connected", message="Connected Successfully")
        if key is not None:
            await c.send("auth", key)
            [reply] = await c.frame()
            assert reply == Status(status="auth_success", message="authenticated")
        yield c


async def subscribe(c: WireClient, params: str) -> list[Status]:
    """Subscribe and return the one status per param."""
    await c.send("subscribe", params)
    return await c.statuses(len(params.split(",")))

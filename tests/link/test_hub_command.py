"""``ticktape hub --nats`` and ``--from`` as a user runs them: three hub processes (one
origin, two edges, each with its own runtime dir, as on three machines), a real
``nats-server``, the simulator as the live service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from massive import WebSocketClient
from massive.websocket.models import EquityTrade
from websockets.asyncio.client import connect

from tests.commands.test_hub import apps_started, found, hub_env, start_hub, stop
from tests.hub.conftest import REAL_KEY
from tests.sim.conftest import DEADLINE
from tests.sim.test_official_client import run_until
from ticktape.commands import run
from ticktape.hub import discovery
from ticktape.link.natsserver import NatsServer
from ticktape.sim.server import Simulator

SEED = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-01/2024-03-05?limit=500"


@asynccontextmanager
async def three_hubs(
    tmp_path: Path, sim: Simulator, nats: NatsServer, token_file: Path
) -> AsyncIterator[tuple[discovery.HubAddress, discovery.HubAddress]]:
    link = ["--nats-token-file", str(token_file)]
    boxes = [tmp_path / name for name in ("origin", "edge1", "edge2")]
    for box in boxes:
        box.mkdir()
    origin = await start_hub(
        boxes[0], "--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--nats", nats.url, *link
    )
    edges = [await start_hub(b, "--from", nats.url, *link, key=False) for b in boxes[1:]]
    procs = [origin, *edges]
    try:
        await found(boxes[0])
        yield await found(boxes[1]), await found(boxes[2])
    finally:
        for proc in procs:
            await stop(proc)
        said = b""
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            said += await proc.stdout.read() + await proc.stderr.read()
        assert REAL_KEY.encode() not in said


async def raw_events(address: discovery.HubAddress, params: str, enough: Any) -> list[Any]:
    got: list[Any] = []
    async with connect(address.ws_url + "/stocks") as ws:
        await ws.send(json.dumps({"action": "auth", "params": address.token}))
        await ws.send(json.dumps({"action": "subscribe", "params": params}))
        async with asyncio.timeout(DEADLINE):
            while not enough(got):
                data = await ws.recv(decode=False)
                assert REAL_KEY.encode() not in data
                got.extend(json.loads(data))
    return got


async def test_an_origin_and_two_edges_from_the_command_line(
    tmp_path: Path, nats_server: NatsServer, nats_token: Path
) -> None:
    async with (
        Simulator(rate=2000, speed=60, api_key=REAL_KEY) as sim,
        three_hubs(tmp_path, sim, nats_server, nats_token) as (edge1, edge2),
    ):
        official = WebSocketClient(
            api_key=edge1.token,
            feed=edge1.ws_url.removeprefix("ws://"),
            market="stocks",
            secure=False,
            subscriptions=["T.AAPL"],
        )

        def symbols(got: list[Any]) -> set[str]:
            return {e["sym"] for e in got if e["ev"] == "T"}

        msgs, raw = await asyncio.gather(
            run_until(official, lambda m: sum(isinstance(x, EquityTrade) for x in m) >= 3),
            raw_events(edge2, "T.*", lambda got: len(symbols(got)) >= 5),
        )
        assert {m.symbol for m in msgs if isinstance(m, EquityTrade)} == {"AAPL"}
        assert len(symbols(raw)) >= 5
        assert sim.stats.accepted == 1  # the live service saw one connection, the origin's

        async with httpx.AsyncClient() as http:
            via = await http.get(
                edge1.rest_url + SEED, headers={"Authorization": f"Bearer {edge1.token}"}
            )
            direct = await http.get(
                sim.rest_url + SEED, headers={"Authorization": f"Bearer {REAL_KEY}"}
            )
        assert via.status_code == 200, via.text
        assert via.json()["results"] == direct.json()["results"]
        assert via.json()["next_url"].startswith(edge1.rest_url)
        assert REAL_KEY not in via.text

        # NATS goes away: an edge's client is told, and data comes back with NATS.
        async with connect(edge2.ws_url + "/stocks") as ws:
            await ws.send(json.dumps({"action": "auth", "params": edge2.token}))
            await ws.send(json.dumps({"action": "subscribe", "params": "T.*"}))
            nats_server.stop()
            said = await _until(ws, lambda e: e.get("status") == "upstream_offline")
            assert "origin unreachable" in said["message"]
            nats_server.start()
            await _until(ws, lambda e: e["ev"] == "T", within=30)


async def _until(ws: Any, want: Any, within: float = DEADLINE) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            for e in json.loads(await ws.recv()):
                if want(e):
                    return dict(e)


async def test_nats_flags_without_a_role_are_refused_in_one_line(
    tmp_path: Path, nats_token: Path
) -> None:
    proc = await start_hub(tmp_path, "--nats-token-file", str(nats_token))
    _, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    assert proc.returncode == 2
    assert err.decode().strip() == (
        "ticktape hub: the --nats-* options need --nats URL or --from URL"
    )


async def test_an_app_on_an_edge_box_without_a_key_finds_the_edge_hub(
    tmp_path: Path,
    nats_server: NatsServer,
    nats_token: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edge = await start_hub(
        tmp_path, "--from", nats_server.url, "--nats-token-file", str(nats_token), key=False
    )
    try:
        address = await found(tmp_path)
        env = hub_env(tmp_path)
        env.pop("POLYGON_API_KEY")
        env.pop("TICKTAPE_HUB", None)
        for name in ("POLYGON_API_KEY", "MASSIVE_API_KEY", "TICKTAPE_HUB"):  # auto
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        seen = apps_started(monkeypatch)
        assert run.main(["--config", str(tmp_path / "c.toml")]) == 0
        [(settings, label)] = seen
        assert (settings.ws_base, settings.api_key.reveal()) == (address.ws_url, address.token)
        assert label == "LIVE via hub"  # not the built-in simulator
    finally:
        await stop(edge)

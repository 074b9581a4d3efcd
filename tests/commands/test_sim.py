"""``ticktape sim`` as a process: URL lines, signals, key handling, dying with its parent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.sim.conftest import DEADLINE
from ticktape.commands.sim import main
from ticktape.sim.process import SimProcess


def handshake(url: str, key: str) -> str:
    """Connect to a cluster URL, authenticate, return the auth status."""
    with connect(url, open_timeout=DEADLINE) as ws:
        assert json.loads(ws.recv(DEADLINE))[0]["status"] == "connected"
        ws.send(json.dumps({"action": "auth", "params": key}))
        return str(json.loads(ws.recv(DEADLINE))[0]["status"])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0) until reaped; it has stopped all the same.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")


def test_prints_urls_serves_them_and_exits_0_on_sigterm() -> None:
    with SimProcess("--seed", "3", "--rate", "200", "--rest-errors", "500:1") as sim:
        port = sim.rest_url.rsplit(":", 1)[1]
        assert sim.urls == [
            f"ws://127.0.0.1:{port}/stocks",
            f"ws://127.0.0.1:{port}/forex",
            f"ws://127.0.0.1:{port}/crypto",
            f"http://127.0.0.1:{port}",
        ]
        assert sim.ws_url == f"ws://127.0.0.1:{port}"
        assert handshake(sim.urls[0], "any") == "auth_success"
        url = f"{sim.rest_url}/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05"
        auth = {"Authorization": "Bearer any"}
        assert httpx.get(url, headers=auth, timeout=DEADLINE).status_code == 500  # the fault flag
        r = httpx.get(url, headers=auth, timeout=DEADLINE)
        assert r.status_code == 200 and r.json()["resultsCount"] > 0
        assert sim.close() == 0


def test_sigint_also_exits_0() -> None:
    sim = SimProcess("--rate", "100")
    os.kill(sim.pid, signal.SIGINT)
    deadline = time.monotonic() + DEADLINE
    while sim.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.close() == 0


def test_key_travels_by_environment_not_argv() -> None:
    with SimProcess("--rate", "100", api_key="s3cret-key") as sim:
        assert b"s3cret-key" not in Path(f"/proc/{sim.pid}/cmdline").read_bytes()
        assert handshake(sim.urls[0], "wrong") == "auth_failed"
        assert handshake(sim.urls[0], "s3cret-key") == "auth_success"


def test_child_exits_when_its_parent_dies() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ticktape.sim.process import SimProcess\n"
            "import time\n"
            "s = SimProcess('--rate', '50')\n"
            "print(s.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + DEADLINE
    while not gone(child):
        assert time.monotonic() < deadline, "the simulator outlived its parent"
        time.sleep(0.02)


def test_taken_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with SimProcess("--rate", "50") as sim:
        port = sim.rest_url.rsplit(":", 1)[1]
        assert main(["--port", port]) == 1
    assert "ticktape sim:" in capsys.readouterr().err


def test_bad_fault_flag_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--rest-errors", "404:1"])
    assert exc.value.code == 2


async def test_exited_wakes_when_the_simulator_dies() -> None:
    with SimProcess("--rate", "100") as sim:
        os.kill(sim.pid, signal.SIGKILL)
        assert await asyncio.wait_for(sim.exited(), DEADLINE) == -signal.SIGKILL

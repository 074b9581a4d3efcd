"""``ticktape hub`` as a user runs it: discovery files, one hub per user, status, idle exit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import ticktape.ui.app as app_module
from tests.hub.conftest import REAL_KEY
from tests.sim.conftest import DEADLINE, client, wait_for
from ticktape.commands import run
from ticktape.config import Settings
from ticktape.feed.record import RecordSwitch
from ticktape.hub import discovery
from ticktape.sim.server import Simulator


def hub_env(runtime: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MASSIVE_API_KEY", "TICKTAPE_CONFIG")}
    env.update(
        POLYGON_API_KEY=REAL_KEY,
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CACHE_HOME=str(runtime / "cache"),
        XDG_CONFIG_HOME=str(runtime / "config"),
    )
    return env


async def start_hub(runtime: Path, *args: str, key: bool = True) -> asyncio.subprocess.Process:
    """``ticktape hub ARGS`` with its state under ``runtime``; ``key=False``: no API key at all
    in its environment (an edge box)."""
    env = hub_env(runtime)
    if not key:
        env.pop("POLYGON_API_KEY")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ticktape",
        "hub",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=runtime,  # no .env from the repository
    )


async def found(runtime: Path) -> discovery.HubAddress:
    directory = runtime / "ticktape"
    await wait_for(lambda: discovery.find_hub(directory) is not None, DEADLINE)
    address = discovery.find_hub(directory)
    assert address is not None
    return address


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.terminate()
    return await asyncio.wait_for(proc.wait(), DEADLINE)


@asynccontextmanager
async def upstream() -> AsyncIterator[Simulator]:
    async with Simulator(rate=2000, speed=60, api_key=REAL_KEY) as sim:
        yield sim


def check_private_files(directory: Path) -> Path:
    """hub.json and the token file: the owner's only, and without the key. Returns the
    token file's path."""
    info = json.loads((directory / "hub.json").read_text())
    token_file = Path(info["token_file"])
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "hub.json").stat().st_mode) == 0o600
    assert REAL_KEY not in (directory / "hub.json").read_text()
    assert REAL_KEY not in token_file.read_text()
    return token_file


async def test_two_starts_make_one_hub_and_its_files_hold_no_secret(tmp_path: Path) -> None:
    async with upstream() as sim:
        procs = await asyncio.gather(
            start_hub(tmp_path, "--ws-url", sim.ws_url),
            start_hub(tmp_path, "--ws-url", sim.ws_url),
        )
        address = await found(tmp_path)
        # The loser says so and exits cleanly; the winner is the one in hub.json.
        loser = next(p for p in procs if p.pid != address.pid)
        assert await asyncio.wait_for(loser.wait(), DEADLINE) == 0
        assert loser.stderr is not None
        assert b"a hub is already running" in await loser.stderr.read()
        winner = next(p for p in procs if p.pid == address.pid)
        assert winner.returncode is None
        directory = tmp_path / "ticktape"
        token_file = check_private_files(directory)
        assert await stop(winner) == 0
        assert not any(p.exists() for p in (directory / "hub.json", token_file))  # removed
        assert winner.stdout is not None and winner.stderr is not None
        said = await winner.stdout.read() + await winner.stderr.read()
        assert REAL_KEY.encode() not in said


async def test_status_lists_clients_and_the_upstream(tmp_path: Path) -> None:
    async with upstream() as sim:
        hub = await start_hub(tmp_path, "--ws-url", sim.ws_url)
        try:
            address = await found(tmp_path)

            class At:
                ws_url = address.ws_url

            # An unbounded queue: a client that reads nothing still takes the close quickly.
            async with client(At, key=address.token, max_queue=None) as c:
                await c.send("subscribe", "T.AAPL,Q.MSFT")
                await wait_for(lambda: sim.connections == 1)
                status = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "ticktape",
                    "hub",
                    "status",
                    stdout=asyncio.subprocess.PIPE,
                    env=hub_env(tmp_path),
                    cwd=tmp_path,
                )
                out, _ = await asyncio.wait_for(status.communicate(), DEADLINE)
            text = out.decode()
            assert status.returncode == 0
            assert "clients: 1" in text
            assert "Q.MSFT,T.AAPL" in text
            assert "stocks: upstream connected [Q.MSFT,T.AAPL]" in text
            assert "REST: 0 requests, 0 sent upstream" in text
            assert f"token file: {tmp_path / 'ticktape' / 'hub.token'}" in text
            assert REAL_KEY not in text
        finally:
            await stop(hub)


async def test_an_idle_hub_exits_after_its_last_client_leaves(tmp_path: Path) -> None:
    async with upstream() as sim:
        hub = await start_hub(tmp_path, "--ws-url", sim.ws_url, "--idle-exit", "0.5")
        address = await found(tmp_path)

        class At:
            ws_url = address.ws_url

        async with client(At, key=address.token) as c:
            await c.send("subscribe", "T.AAPL")
            await c.frame()
        assert await asyncio.wait_for(hub.wait(), DEADLINE) == 0
        assert discovery.find_hub(tmp_path / "ticktape") is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
async def test_binding_off_loopback_needs_an_explicit_token(tmp_path: Path, host: str) -> None:
    hub = await start_hub(tmp_path, "--host", host)
    _, err = await asyncio.wait_for(hub.communicate(), DEADLINE)
    assert hub.returncode == 2
    assert f"binding {host} (not loopback) needs --token-file" in err.decode()


def apps_started(
    monkeypatch: pytest.MonkeyPatch, notices: list[str] | None = None
) -> list[tuple[Settings, str]]:
    """Stand in for the app: ``ticktape`` runs through its start-up, and each app it would
    open is recorded as (settings, feed label) instead of drawing a screen; what it would
    be told on screen goes to ``notices``."""
    seen: list[tuple[Settings, str]] = []

    class FakeApp:
        return_code = 0

        def __init__(self, settings: Settings, *, feed_label: str, **kwargs: Any) -> None:
            seen.append((settings, feed_label))
            self.recorder = RecordSwitch()

        def notice(self, text: str, *args: Any, **kwargs: Any) -> None:
            if notices is not None:
                notices.append(text)

        def run(self) -> None:
            pass

    monkeypatch.setattr(app_module, "TicktapeApp", FakeApp)
    return seen


async def test_two_apps_started_together_start_one_hub_and_connect_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hub_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    seen = apps_started(monkeypatch)
    async with upstream() as sim:
        argv = ["--hub", "auto", "--ws-url", sim.ws_url, "--config", str(tmp_path / "c.toml")]
        codes = await asyncio.gather(
            asyncio.to_thread(run.main, argv), asyncio.to_thread(run.main, argv)
        )
        assert codes == [0, 0]
        address = discovery.find_hub(tmp_path / "ticktape")
        assert address is not None
        try:
            assert [(s.ws_base, s.api_key.reveal(), label) for s, label in seen] == [
                (address.ws_url, address.token, "LIVE via hub")
            ] * 2
            assert all(s.rest_url == address.rest_url for s, _ in seen)
        finally:
            os.kill(address.pid, signal.SIGTERM)
        await wait_for(lambda: not (tmp_path / "ticktape" / "hub.json").exists())


async def test_a_running_hub_of_another_server_is_passed_by_with_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hub_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    notices: list[str] = []
    seen = apps_started(monkeypatch, notices)
    config = ["--hub", "auto", "--config", str(tmp_path / "c.toml")]
    async with upstream() as sim, upstream() as other:
        hub = await start_hub(tmp_path, "--ws-url", sim.ws_url, "--rest-url", sim.rest_url)
        try:
            address = await found(tmp_path)
            for server in (other, sim):
                argv = ["--ws-url", server.ws_url, "--rest-url", server.rest_url, *config]
                assert await asyncio.to_thread(run.main, argv) == 0
        finally:
            await stop(hub)
    # LIVE over the hub's server would be the wrong server's data: the app goes direct.
    assert [(s.ws_base, label) for s, label in seen] == [
        (other.ws_url, "LIVE"),
        (address.ws_url, "LIVE via hub"),
    ]
    assert notices == [
        f"the running hub relays {sim.ws_url}, not {other.ws_url}; connecting directly"
    ]


@pytest.mark.parametrize(
    ("given", "ws", "rest"),
    [
        ("ws://127.0.0.1:7001", "ws://127.0.0.1:7001", "http://127.0.0.1:7001"),
        ("http://127.0.0.1:7001/", "ws://127.0.0.1:7001", "http://127.0.0.1:7001"),
        ("wss://hub.example:443", "wss://hub.example:443", "https://hub.example:443"),
        ("https://hub.example", "wss://hub.example", "https://hub.example"),
    ],
)
def test_a_named_hub_is_the_same_whatever_scheme_names_it(given: str, ws: str, rest: str) -> None:
    # The app and `ticktape bars` take the same --hub URL: its WebSocket and REST share a port.
    named = discovery.named_hub(given, "tok")
    assert named is not None and (named.ws_url, named.rest_url, named.token) == (ws, rest, "tok")


@pytest.mark.parametrize("given", ["127.0.0.1:7001", "ftp://h:1", "ws://", "auto-ish"])
def test_a_hub_url_that_names_no_hub_is_refused_in_one_line(
    given: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(discovery.TOKEN_ENV, "tok")
    with pytest.raises(SystemExit) as stop:
        run.main(["--hub", given, "--config", "/nonexistent/c.toml"])
    assert str(stop.value) == f"ticktape: --hub must be auto, off or a hub's URL, not {given!r}"

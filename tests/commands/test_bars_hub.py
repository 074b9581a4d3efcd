"""``ticktape bars`` through a hub whose upstream is the simulator, all on 127.0.0.1: the
second run is answered from the hub's cache, the key never leaves the hub, the rate limit
is said on stderr, and no hub is started by bars."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.commands.test_bars import read_csv, served
from tests.hub.conftest import REAL_KEY, TOKEN
from ticktape.commands import bars
from ticktape.hub import discovery
from ticktape.hub.relay import Hub
from ticktape.hub.rest import RestRelay
from ticktape.sim.server import Simulator

RANGE = ("AAPL", "--from", "2024-01-02", "--to", "2024-01-03", "--limit", "300")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user with the real key and a runtime dir of this test's own (no other hub.json)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLYGON_API_KEY", REAL_KEY)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("TICKTAPE_HUB", raising=False)  # the default: auto
    return runtime / "ticktape"


@asynccontextmanager
async def hub_on_sim(tmp_path: Path, **relay: Any) -> AsyncIterator[tuple[Simulator, Hub]]:
    async with (
        Simulator(api_key=REAL_KEY, seed=7) as upstream,
        Hub(upstream_url=upstream.ws_url, api_key=REAL_KEY, token=TOKEN) as hub,
    ):
        cache = tmp_path / "rest.sqlite3"
        hub.rest = rest = RestRelay(upstream.rest_url, REAL_KEY, hub.rest_url, cache, **relay)
        try:
            yield upstream, hub
        finally:
            await rest.aclose()


@asynccontextmanager
async def recording_proxy(target: str) -> AsyncIterator[tuple[int, bytearray]]:
    """A TCP relay in front of ``target`` that keeps every byte its clients send."""
    where = urlsplit(target)
    sent = bytearray()

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, keep: bool) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                if keep:
                    sent.extend(data)
                dst.write(data)
                await dst.drain()
        dst.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(where.hostname, where.port)
        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], sent


def announce(directory: Path, port: int, upstream_rest: str) -> None:
    """hub.json and its token file, as ``ticktape hub`` writes them."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    token_file = directory / discovery.TOKEN_NAME
    discovery.write_private(token_file, TOKEN + "\n")
    info = discovery.HubInfo(
        "127.0.0.1", port, os.getpid(), str(token_file), rest=True, upstream_rest=upstream_rest
    )
    discovery.write_info(directory, info)


async def run_bars(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = await asyncio.to_thread(bars.main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_second_identical_run_is_answered_by_the_hubs_cache_and_the_key_stays_home(
    tmp_path: Path, _env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with hub_on_sim(tmp_path) as (upstream, hub), recording_proxy(hub.rest_url) as proxy:
        port, sent = proxy
        announce(_env, port, upstream.rest_url)
        args = (*RANGE, "--rest-url", upstream.rest_url)
        code, first, _ = await run_bars(*args, capsys=capsys)
        assert code == 0
        pages = upstream.rest_requests
        assert pages >= 3  # 2 days of minute bars in pages of 300
        code, second, _ = await run_bars(*args, capsys=capsys)
        assert code == 0 and second == first
        assert upstream.rest_requests == pages  # not one more request upstream
    assert len(read_csv(first)) == len(served(upstream, "AAPL", "2024-01-02", "2024-01-03"))
    assert f"Bearer {TOKEN}".encode() in sent
    assert REAL_KEY.encode() not in sent


async def test_the_hubs_wait_for_the_rate_limit_is_said_on_stderr(
    tmp_path: Path, _env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # max_hold=0: the hub passes its wait on at once (429, Retry-After: 1) instead of holding.
    async with hub_on_sim(tmp_path, max_hold=0.0) as (upstream, hub):
        announce(_env, hub.server.port, upstream.rest_url)
        upstream.faults.rest_errors(429, 1, retry_after=1.0)
        code, out, err = await run_bars(*RANGE, "--rest-url", upstream.rest_url, capsys=capsys)
    assert code == 0 and read_csv(out)
    assert "ticktape bars: waiting for the rate limit, retrying in 1 s" in err.splitlines()


async def test_a_request_the_hub_holds_for_the_rate_limit_is_said_once_on_stderr(
    tmp_path: Path, _env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hub holds the request (2.5 s is under its max_hold): to bars it is only a slow
    # answer, so bars asks the hub why and says it.
    async with hub_on_sim(tmp_path) as (upstream, hub):
        announce(_env, hub.server.port, upstream.rest_url)
        upstream.faults.rest_errors(429, 1, retry_after=2.5)
        code, out, err = await run_bars(*RANGE, "--rest-url", upstream.rest_url, capsys=capsys)
        assert hub.rest is not None and hub.rest.stats()["rate_limited_replies"] == 0
    assert code == 0 and read_csv(out)
    said = [line for line in err.splitlines() if "waiting for the rate limit" in line]
    assert said == ["ticktape bars: the hub is waiting for the rate limit"]


async def test_a_hub_relaying_another_server_is_not_used(
    tmp_path: Path, _env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with hub_on_sim(tmp_path) as (upstream, hub), Simulator(api_key=REAL_KEY) as other:
        announce(_env, hub.server.port, upstream.rest_url)
        code, out, err = await run_bars(*RANGE, "--rest-url", other.rest_url, capsys=capsys)
        assert code == 0 and read_csv(out)
        assert other.rest_requests >= 1 and upstream.rest_requests == 0
    assert f"the running hub relays {upstream.rest_url}" in err and "going directly" in err


async def test_with_no_hub_running_bars_goes_directly_and_starts_none(
    _env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Simulator(api_key=REAL_KEY) as sim:
        code, out, _ = await run_bars(*RANGE, "--rest-url", sim.rest_url, capsys=capsys)
        assert code == 0 and read_csv(out) and sim.rest_requests >= 1
    assert not (_env / discovery.INFO_NAME).exists() and not (_env / discovery.LOG_NAME).exists()


async def test_a_named_hub_needs_its_token_and_a_wrong_one_is_said_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with hub_on_sim(tmp_path) as (_, hub):
        code, _, err = await run_bars(*RANGE, "--hub", hub.ws_url, capsys=capsys)
        assert code == bars.EXIT_USAGE and discovery.TOKEN_ENV in err
        monkeypatch.setenv(discovery.TOKEN_ENV, "not-the-token")
        code, _, err = await run_bars(*RANGE, "--hub", hub.ws_url, capsys=capsys)
        assert code == bars.EXIT_AUTH and f"the hub at {hub.rest_url} refused its token" in err
        monkeypatch.setenv(discovery.TOKEN_ENV, TOKEN)
        monkeypatch.delenv("POLYGON_API_KEY")  # through a hub, no key is needed here
        code, out, _ = await run_bars(*RANGE, "--hub", hub.ws_url, capsys=capsys)
        assert code == 0 and read_csv(out)

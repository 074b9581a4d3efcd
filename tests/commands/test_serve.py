"""``ticktape serve``: what each tab runs, the command's refusals, and the real app end to end."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.sync.client import connect

from tests.commands.test_hub import hub_env
from tests.conftest import Served, StartServe
from tests.sim.conftest import wait_for
from ticktape.commands import run
from ticktape.commands.serve import (
    DIRECT_CAP_REASON,
    Feed,
    HubTabs,
    app_accepts_hub,
    app_argv,
    feed_kind,
    main,
    tab_cap,
    tab_command,
)
from ticktape.hub import discovery
from ticktape.hub.discovery import TOKEN_ENV
from ticktape.hub.relay import STATUS_PATH
from ticktape.sim.server import Simulator
from ticktape.web import policy
from ticktape.web.server import TabCommand

DEADLINE = 30.0
REAL_KEY = "real-key-that-must-stay-home-0123456789"
TOKEN = "tab-token-0123456789abcdefghij"


def hub_parser() -> argparse.ArgumentParser:
    """The app's parser: it has ``--hub`` (the hook serve must honour)."""
    return run.build_parser()


def parser_without_hub() -> argparse.ArgumentParser:
    """An app parser from a build without ``--hub``."""
    p = argparse.ArgumentParser()
    p.add_argument("--market")
    return p


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    return parser.parse_args(argv)


# -- what a tab runs ------------------------------------------------------------------------


def test_on_the_shared_simulator_a_tab_gets_its_key_by_environment_and_never_the_real_one() -> None:
    parser = run.build_parser()
    ns = parse(parser, ["AAPL", "MSFT", "--sim", "--seed=7", "--theme", "ticktape-light"])
    env = {"POLYGON_API_KEY": REAL_KEY, "MASSIVE_API_KEY": REAL_KEY, "HOME": "/home/x"}
    feed = Feed("sim", "ws://127.0.0.1:5000", "http://127.0.0.1:5000", "sim-key-abc")
    argv, child = tab_command(parser, ns, feed, env)
    assert child["POLYGON_API_KEY"] == "sim-key-abc" and "MASSIVE_API_KEY" not in child
    assert child["HOME"] == "/home/x"
    assert REAL_KEY not in " ".join(argv) and "sim-key-abc" not in " ".join(argv)
    assert "--sim" not in argv and "--seed" not in argv  # the simulator's own options
    rebuilt = parse(parser, argv[3:])
    assert rebuilt.symbols == ["AAPL", "MSFT"] and rebuilt.theme == "ticktape-light"
    assert (rebuilt.ws_url, rebuilt.rest_url) == (feed.ws_url, feed.rest_url)
    assert rebuilt.shared_sim and not rebuilt.sim


def test_a_keyed_tab_is_a_pure_hub_client_on_the_hub_token_alone() -> None:
    parser = hub_parser()
    assert app_accepts_hub(parser) and not app_accepts_hub(parser_without_hub())
    ns = parse(parser, ["--market", "crypto", "--hub", "auto", "--ws-url", "ws://up:1"])
    env = {
        "POLYGON_API_KEY": REAL_KEY,
        "MASSIVE_API_KEY": REAL_KEY,
        "TICKTAPE_WS_URL": "ws://up:1",
        "HOME": "/home/x",
    }
    hub = Feed("hub", "ws://127.0.0.1:7001", "http://127.0.0.1:7001", "hub-token-xyz")
    argv, child = tab_command(parser, ns, hub, env)
    assert argv[3:] == ["--market", "crypto", "--hub", "ws://127.0.0.1:7001"]
    assert child == {"HOME": "/home/x", TOKEN_ENV: "hub-token-xyz"}
    assert "hub-token-xyz" not in " ".join(argv)
    sim_argv, _ = tab_command(parser, ns, Feed("sim", "ws://h:1", "http://h:1", "k"), {})
    assert sim_argv[-2:] == ["--hub", "off"]  # the simulator is local: no hub in between


async def test_a_tab_opened_after_the_hub_went_idle_gets_the_hub_running_now() -> None:
    """An auto-started hub exits once idle; a later tab must not be sent to its old port."""
    parser = hub_parser()
    ns = parse(parser, ["AAPL"])
    first = discovery.HubAddress("ws://127.0.0.1:7001", "http://127.0.0.1:7001", "t1")
    running: list[discovery.HubAddress | None] = [first]

    def build(feed: Feed) -> TabCommand:
        argv, env = tab_command(parser, ns, feed, {"POLYGON_API_KEY": REAL_KEY})
        return TabCommand(tuple(argv), env)

    tabs = HubTabs(lambda: running[-1], build, first)
    assert (await tabs()).argv[-1] == "ws://127.0.0.1:7001"
    running.append(discovery.HubAddress("ws://127.0.0.1:7002", "http://127.0.0.1:7002", "t2"))
    again = await tabs()
    assert again.argv[-1] == "ws://127.0.0.1:7002" and again.env[TOKEN_ENV] == "t2"
    running.append(None)  # the hub could not be started: the tab gets the last and retries
    assert await tabs() == again


def test_without_the_hub_a_keyed_tab_runs_the_app_as_typed_with_its_key() -> None:
    parser = run.build_parser()
    ns = parse(parser, ["NVDA", "--feed", "delayed", "--ascii"])
    argv, child = tab_command(parser, ns, Feed("direct"), {"POLYGON_API_KEY": REAL_KEY})
    assert argv[:3] == [sys.executable, "-m", "ticktape"]
    assert sorted(argv[3:]) == sorted(["--feed", "delayed", "--ascii", "NVDA"])
    assert child["POLYGON_API_KEY"] == REAL_KEY  # it connects upstream itself
    assert REAL_KEY not in argv


def test_the_feed_follows_the_key_and_the_build() -> None:
    plain, with_hub = parser_without_hub(), hub_parser()
    assert feed_kind(sim=False, has_key=False, parser=with_hub) == "sim"
    assert feed_kind(sim=True, has_key=True, parser=with_hub) == "sim"
    assert feed_kind(sim=False, has_key=True, parser=with_hub) == "hub"
    assert feed_kind(sim=False, has_key=True, parser=plain) == "direct"
    # Without the hub each tab would evict the others upstream: one at a time, said why.
    assert tab_cap("direct", 8) == (1, DIRECT_CAP_REASON)
    assert tab_cap("sim", 8) == (8, "") and tab_cap("hub", 3) == (3, "")


def test_rebuilt_options_mean_what_was_typed() -> None:
    """Every kind of option the app has survives the rebuild (a new kind would fail here)."""
    parser = run.build_parser()
    kinds = {(bool(a.option_strings), a.nargs) for a in parser._actions if a.dest != "help"}
    assert kinds <= {(True, None), (True, 0), (False, "*")}
    typed = ["A", "B", "--market=forex", "--fps", "4", "--tz", "UTC", "--ascii", "--seed", "3"]
    ns = parse(parser, typed)
    assert parse(parser, app_argv(parser, ns, set())) == ns


# -- refusals, before anything binds or starts ------------------------------------------------


def test_a_non_loopback_address_without_a_token_file_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "serving 0.0.0.0 (not loopback) needs --token-file PATH" in capsys.readouterr().err
    assert main(["--port", "0", "--public-url", "https://monitor.example/"]) == 2
    said = capsys.readouterr().err
    assert "serving https://monitor.example/ (not loopback) needs --token-file PATH" in said


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--record", "x.gz"], "--record: every tab would write the same file"),
        (["--max-app", "3"], "unrecognized arguments: --max-app"),
        (["--sim", "--ws-url", "ws://h"], "--sim runs the built-in simulator but --ws-url"),
        (["--public-url", "monitor.example"], "--public-url monitor.example: give the http"),
    ],
)
def test_options_no_tab_can_honour_are_refused(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", "0", *argv]) == 2
    assert said in capsys.readouterr().err


def test_a_short_token_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "token"
    short.write_text("abc")
    assert main(["--host", "0.0.0.0", "--token-file", str(short)]) == 2
    assert f"--token-file {short}: the token must be one word" in capsys.readouterr().err


def test_help_says_plain_http_is_for_loopback_or_a_tunnel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "plain HTTP" in out and "ssh -L 8000:127.0.0.1:8000 HOST" in out


# -- the real thing ---------------------------------------------------------------------------


@pytest.fixture
def serving(tmp_path: Path, start_serve: StartServe) -> Served:
    """``ticktape serve --sim`` with a real key in its environment and a token file."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args = ("--token-file", str(token_file), "--sim", "AAPL", "MSFT")
    return start_serve(*args, env={"POLYGON_API_KEY": REAL_KEY})


def environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def test_a_tab_shows_the_shared_simulator_and_the_key_stays_in_the_server(
    serving: Served,
) -> None:
    proc, url = serving
    served = bytearray()
    with httpx.Client(base_url=url, timeout=DEADLINE, follow_redirects=True) as http:
        refused = http.get("/")
        assert refused.status_code == 401
        assert _tabs(proc.pid) == []  # no token, no process
        served += refused.content
        r = http.get(f"/?token={TOKEN}")  # redirected to the clean URL, cookie kept
        assert r.status_code == 200 and str(r.url) == url
        served += r.content + http.get("/static/js/textual.js").content
        cookie = http.cookies[policy.COOKIE]
    headers = {"Cookie": f"{policy.COOKIE}={cookie}"}
    with connect(
        url.replace("http", "ws", 1) + "ws?width=120&height=40", additional_headers=headers
    ) as ws:
        deadline = time.monotonic() + DEADLINE
        while not (b"AAPL" in served and b"SIMULATED" in served):
            assert time.monotonic() < deadline, "no prices on the tab's screen"
            frame = ws.recv(timeout=deadline - time.monotonic())
            served += frame if isinstance(frame, bytes) else frame.encode()
        tabs = _tabs(proc.pid)
        assert len(tabs) == 1
        sims = [c for c in psutil.Process(proc.pid).children() if " sim " in " ".join(c.cmdline())]
        for child in [*tabs, *sims]:
            assert REAL_KEY.encode() not in environ(child.pid), child.cmdline()
            assert REAL_KEY not in " ".join(child.cmdline())
    assert REAL_KEY.encode() not in served
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(DEADLINE) == 0
    assert not any(t.is_running() and t.status() != psutil.STATUS_ZOMBIE for t in tabs)


def _tabs(serve_pid: int) -> list[psutil.Process]:
    """The serve process's tab apps (children running plain ``ticktape``, not ``sim`` or
    the ``hub`` it started)."""
    return [
        c
        for c in psutil.Process(serve_pid).children()
        if c.cmdline()[1:3] == ["-m", "ticktape"] and c.cmdline()[3:4] not in (["sim"], ["hub"])
    ]


def test_serve_stops_and_says_so_when_the_shared_simulator_dies(
    serving: Served,
) -> None:
    proc, _ = serving
    (sim,) = [c for c in psutil.Process(proc.pid).children() if "sim" in c.cmdline()]
    sim.kill()
    assert proc.wait(DEADLINE) == 1
    assert proc.stderr is not None
    assert "the shared simulator exited" in proc.stderr.read()


# -- with a key: one hub, every tab its client --------------------------------------------------


@asynccontextmanager
async def tab_screen(url: str) -> AsyncIterator[bytearray]:
    """A browser tab's websocket; the bytes its app has drawn so far grow in the yielded buffer."""
    screen = bytearray()

    async def read(ws: ClientConnection) -> None:
        async for frame in ws:
            screen.extend(frame if isinstance(frame, bytes) else frame.encode())

    async with ws_connect(url.replace("http", "ws", 1) + "ws?width=120&height=40") as ws:
        reader = asyncio.create_task(read(ws))
        try:
            yield screen
        finally:
            reader.cancel()


def hub_status(hub: discovery.HubAddress) -> dict[str, Any]:
    reply = httpx.get(
        hub.rest_url + STATUS_PATH, headers={"Authorization": f"Bearer {hub.token}"}, timeout=5
    )
    reply.raise_for_status()
    data: dict[str, Any] = reply.json()
    return data


async def test_keyed_tabs_share_the_hub_serve_started_and_never_hold_the_key(
    tmp_path: Path,
) -> None:
    env = hub_env(tmp_path)
    env.pop("TICKTAPE_HUB")  # the suite's "off": here serve must start the hub (stopped below)
    env["POLYGON_API_KEY"] = REAL_KEY
    async with Simulator(rate=2000, speed=60, api_key=REAL_KEY) as upstream:
        argv = ["serve", "--port", "0", "--ws-url", upstream.ws_url, "--rest-url"]
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "ticktape", *argv, upstream.rest_url, "AAPL", "MSFT"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        hub = None
        try:
            assert proc.stdout is not None
            url = (await asyncio.wait_for(proc.stdout.readline(), DEADLINE)).decode().strip()
            assert url, await proc.stderr.read() if proc.stderr else ""
            hub = discovery.find_hub(tmp_path / "ticktape")
            assert hub is not None, "serve printed its URL before the hub ran"
            async with tab_screen(url) as one, tab_screen(url) as two:
                await wait_for(lambda: b"AAPL" in one and b"AAPL" in two, DEADLINE)
                await wait_for(lambda: len(hub_status(hub)["clients"]) == 2, DEADLINE)
                status = hub_status(hub)
                await wait_for(lambda: upstream.connections > 0, DEADLINE)
                assert upstream.connections == 1
                assert all(c["subscriptions"] for c in status["clients"])  # both tabs asked
                tabs = _tabs(proc.pid)
                assert len(tabs) == 2
                for t in tabs:
                    assert REAL_KEY.encode() not in environ(t.pid)
                    assert REAL_KEY not in " ".join(t.cmdline())
                    assert t.cmdline()[-2:] == ["--hub", hub.ws_url]
            assert REAL_KEY.encode() not in one + two
        finally:
            if proc.returncode is None:
                proc.terminate()
            await asyncio.wait_for(proc.wait(), DEADLINE)
            if hub is not None and hub.pid is not None:
                os.kill(hub.pid, signal.SIGTERM)

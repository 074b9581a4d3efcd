"""Recording from the app: ``R`` toggles it, ``--record FILE`` starts it, quitting closes it;
and the app watching a replay of a recording to its end.

Against the real simulator on 127.0.0.1, read back with ``feed.record`` as
``ticktape replay`` would: what a user relies on is a file that holds the
frames the app received, and never the API key.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

import ticktape.ui.app as app_module
from ticktape.commands.run import build_parser, main
from ticktape.config import Settings
from ticktape.feed.decode import Decoder
from ticktape.feed.events import Quote, Trade, encode
from ticktape.feed.record import Recorder, RecordSwitch, iter_frames, iter_lines
from ticktape.sim.replay_source import ReplaySource, recording_timeline
from ticktape.sim.server import Simulator
from ticktape.ui import statusbar
from ticktape.ui.app import TicktapeApp

from .conftest import MakeApp, is_live, until

SIZE = (120, 36)
SYMBOLS = ("AAPL", "MSFT", "NVDA")
KEY = "sEcReT-app-key-0123456789"


def live_app(settings: Settings, sim: Simulator, **kwargs: Any) -> TicktapeApp:
    settings = settings.with_(
        ws_url=sim.ws_url, rest_url=sim.rest_url, api_key=KEY, watchlist=SYMBOLS, fps=20
    )
    return TicktapeApp(settings, feed_label="SIMULATED", **kwargs)


def silent_s(app: TicktapeApp) -> float:
    """Seconds since the app's feed last sent anything, as its status bar last saw it."""
    stats = app.feed.stats
    return 0.0 if stats is None or stats.silent_s is None else stats.silent_s


def file_text(path: Path) -> str:
    """Everything in the recording, decompressed (a closed file: every member complete)."""
    return gzip.decompress(path.read_bytes()).decode()


async def test_r_starts_and_stops_a_recording_of_what_the_app_receives(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # with no --record, R records into the current directory
    async with Simulator(seed=5, symbols=SYMBOLS, rate=400.0, api_key=KEY) as sim:
        app = live_app(settings, sim)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: is_live(app))
            assert "REC" not in app.main.status.plain
            await pilot.press("R")
            recorder = app.recorder.recorder
            assert recorder is not None
            await until(pilot, lambda: "REC" in app.main.status.plain)
            where = str(tmp_path / recorder.path)  # the full path, not a bare name
            assert any(where in n.message for n in app._notifications)
            await until(pilot, lambda: recorder.frames >= 20)
            await pilot.press("R")
            assert not app.recorder.active and recorder.closed
            await until(pilot, lambda: "REC" not in app.main.status.plain)
            assert any("recording stopped" in n.message for n in app._notifications)
            written = recorder.frames
    assert re.fullmatch(r"ticktape-\d{8}-\d{6}\.jsonl\.gz", str(recorder.path))
    path = tmp_path / recorder.path
    frames = list(iter_frames(path))
    assert len(frames) == written
    decode = Decoder().decode
    events = [e for _, frame in frames for e in decode(frame)]
    market = [e for e in events if isinstance(e, Trade | Quote)]
    assert market and {e.symbol for e in market} <= set(SYMBOLS)
    assert KEY not in file_text(path)


async def test_record_path_records_from_connecting_and_quitting_closes_the_file(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "session.jsonl.gz"
    async with Simulator(seed=6, symbols=SYMBOLS, rate=400.0, api_key=KEY) as sim:
        app = live_app(settings, sim, record_path=path)
        async with app.run_test(size=SIZE) as pilot:
            assert app.recorder.active  # before the websocket opened
            await until(pilot, lambda: "REC" in app.main.status.plain)
            await until(pilot, lambda: is_live(app))
            # R stops it; R again appends a second session to the same file
            await pilot.press("R")
            assert not app.recorder.active
            await pilot.press("R")
            recorder = app.recorder.recorder
            assert recorder is not None and recorder.path == path
            await until(pilot, lambda: recorder.frames >= 5)
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        assert recorder.closed  # flushed and closed on quit
    headers = [line for line in iter_lines(path) if line.ticktape]
    assert len(headers) == 2
    with gzip.open(path) as fh:
        meta = msgspec.json.decode(fh.readline())
    assert meta["market"] == "stocks"
    first = next(iter_frames(path))[1]
    assert '"connected"' in str(first)  # the server's greeting: nothing was missed
    assert KEY not in file_text(path)


async def test_a_path_that_cannot_be_written_says_so_and_the_app_goes_on(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(record_path=tmp_path / "no-such-dir" / "x.jsonl.gz")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("cannot record" in n.message for n in app._notifications))
        assert not app.recorder.active and "REC" not in app.main.status.plain
        await pilot.press("j")
        assert app.main.watchlist.selected == "MSFT"


def test_record_flag_reaches_the_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_parser().parse_args(["--record", "s.jsonl.gz"]).record == "s.jsonl.gz"
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("POLYGON_API_KEY", "k")  # a key: no simulator process is started
    seen: dict[str, Any] = {}

    class FakeApp:
        return_code = 0

        def __init__(self, settings: Settings, **kwargs: Any) -> None:
            seen.update(kwargs)
            self.recorder = RecordSwitch()

        def run(self) -> None:
            pass

    monkeypatch.setattr(app_module, "TicktapeApp", FakeApp)
    config = ["--config", str(tmp_path / "c.toml")]
    assert main(["--record", "out.jsonl.gz", *config]) == 0
    assert seen["record_path"] == Path("out.jsonl.gz")
    assert main(config) == 0 and seen["record_path"] is None
    # a directory that does not exist is refused before the screen is taken over
    assert main(["--record", str(tmp_path / "nope" / "x.gz"), *config]) == 2
    assert "cannot record" in capsys.readouterr().err


async def test_r_refuses_a_file_that_is_not_a_recording_and_leaves_it_alone(
    make_app: MakeApp, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    app = make_app(record_path=notes)
    async with app.run_test(size=SIZE) as pilot:
        said = f"cannot record to {notes}: it exists and is not a ticktape recording"
        await until(pilot, lambda: any(said in n.message for n in app._notifications))
        await pilot.press("R")  # R tries the same file again (handled before press returns)
        assert not app.recorder.active and "REC" not in app.main.status.plain
    assert notes.read_text() == "my notes\n"


def test_record_flag_refuses_a_file_that_is_not_a_recording(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("POLYGON_API_KEY", "k")  # a key: no simulator process is started
    monkeypatch.setattr(app_module, "TicktapeApp", None)  # the app must not even start
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["--record", str(notes), "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ticktape: cannot record to {notes}: it exists and is not a ticktape")
    assert err.count("\n") == 1
    assert notes.read_text() == "my notes\n"
    assert "existing ticktape recording is appended to" in " ".join(
        build_parser().format_help().split()
    )


async def test_after_a_replay_the_bar_says_replay_finished_not_no_data(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quiet after a replay's end is expected: "no data for N s" would read as a fault."""
    monkeypatch.setattr(statusbar, "QUIET_S", 0.3)  # the "no data" line would come at once
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(path) as rec:
        for i in range(3):
            rec.write(encode([Trade("AAPL", 100.0 + i, 10, 1_700_000_000_000 + i)]), 10 * i)
    source = ReplaySource(recording_timeline(path), speed=50.0, on_end=lambda: "3 events replayed")
    async with Simulator(sources={"stocks": source}) as replay:
        app = TicktapeApp(
            settings.with_(
                ws_url=replay.ws_url, rest_url=replay.rest_url, api_key="replay-key",
                watchlist=SYMBOLS, fps=20,
            ),
            feed_label=statusbar.REPLAY_LABEL,
        )  # fmt: skip
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: source.finished)
            await until(pilot, lambda: silent_s(app) > 1)  # well past QUIET_S
            bar = app.main.status.plain
            assert "replay finished" in bar and "no data" not in bar
            assert any("3 events replayed" in n.message for n in app._notifications)

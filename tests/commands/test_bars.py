"""``ticktape bars`` against the simulator on 127.0.0.1: output, pages, zones, errors, Ctrl-C."""

from __future__ import annotations

import asyncio
import csv
import fcntl
import io
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.commands.conftest import ctrl_c, ticktape_process
from ticktape.commands import bars
from ticktape.commands.bars_output import COLUMNS, CandleReducer
from ticktape.feed.events import Agg
from ticktape.sim.rest import parse_time
from ticktape.sim.server import Simulator

KEY = "test-key-123"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(api_key=KEY, seed=7) as s:
        yield s


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("POLYGON_API_KEY", KEY)


async def run_bars(
    sim: Simulator | None, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run ``ticktape bars`` in a worker thread (the simulator keeps this loop's thread)."""
    extra = ["--rest-url", sim.rest_url] if sim is not None else []
    code = await asyncio.to_thread(bars.main, [*args, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def served(sim: Simulator, ticker: str, start: str, end: str) -> list[Agg]:
    """What the simulator's history holds for the request (what its REST pages serve)."""
    cluster = (
        "forex" if ticker.startswith("C:") else "crypto" if ticker.startswith("X:") else "stocks"
    )
    lo, hi = parse_time(start, end=False), parse_time(end, end=True)
    return sim.market(cluster).history(ticker, 1, "minute", lo, hi)


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- output


async def test_csv_file_has_every_bar_served_across_pages(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "aapl.csv"
    code, stdout, err = await run_bars(
        sim,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-03",
        "--limit",
        "250",
        "--out",
        str(out),
        capsys=capsys,
    )
    assert (code, stdout, err) == (0, "", "")
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as any new file, not 0600
    assert parts(out) == []  # the temporary file became the file
    text = out.read_text()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    rows = read_csv(text)
    expected = served(sim, "AAPL", "2024-01-02", "2024-01-03")
    assert len(rows) == len(expected) > 4 * 250  # two sessions of minute bars: many pages
    for row, bar in zip(rows, expected, strict=True):
        assert int(datetime.fromisoformat(row["datetime"]).timestamp() * 1000) == bar.timestamp
        assert [float(row[k]) for k in ("open", "high", "low", "close", "volume")] == [
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
        ]
        assert row["vwap"] == ("" if bar.vwap is None else repr(bar.vwap))
        assert row["transactions"] == ("" if bar.transactions is None else str(bar.transactions))


async def test_datetime_column_is_in_the_requested_zone(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("AAPL", "--from", "2024-07-01", "--to", "2024-07-01", "--timespan", "hour")
    code, ny, _ = await run_bars(sim, *args, capsys=capsys)
    assert code == 0
    code, utc, _ = await run_bars(sim, *args, "--tz", "UTC", capsys=capsys)
    assert code == 0
    ny_rows, utc_rows = read_csv(ny), read_csv(utc)
    assert ny_rows[0]["datetime"] == "2024-07-01T04:00:00-04:00"  # pre-market opens 04:00 ET
    assert utc_rows[0]["datetime"] == "2024-07-01T08:00:00+00:00"
    assert [datetime.fromisoformat(r["datetime"]) for r in ny_rows] == [
        datetime.fromisoformat(r["datetime"]) for r in utc_rows
    ]


async def test_stdout_gets_nothing_but_csv(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run_bars(
        sim, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", "--out", "-", capsys=capsys
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) - 1 == len(served(sim, "AAPL", "2024-01-02", "2024-01-02"))


@pytest.mark.parametrize("ticker", ["C:EURUSD", "X:BTCUSD"])
async def test_forex_and_crypto(
    sim: Simulator, ticker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run_bars(
        sim, ticker, "--from", "2024-01-06", "--to", "2024-01-06", capsys=capsys
    )
    rows = read_csv(out)
    if ticker.startswith("C:"):  # forex is shut on Saturdays; crypto trades every day
        assert code == 3 and rows == []
    else:
        assert code == 0
        assert len(rows) == len(served(sim, ticker, "2024-01-06", "2024-01-06")) == 24 * 60


async def test_plot_draws_candles_of_the_whole_range(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run_bars(
        sim,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-05",
        "--plot",
        "--out",
        str(tmp_path / "a.csv"),
        capsys=capsys,
    )
    assert code == 0
    assert "AAPL 1 minute 2024-01-02 → 2024-01-05" in out
    assert "bars per candle" in out  # ~4 sessions of minutes cannot fit 1:1 in 100 columns
    assert len(out.splitlines()) >= 20


def test_candle_reducer_keeps_the_range_in_bounded_memory() -> None:
    reducer = CandleReducer(cap=10)
    aggs = [Agg(float(i), i + 2.0, i - 1.0, i + 1.0, 10.0, i * 60_000) for i in range(1000)]
    for agg in aggs:
        reducer.add(agg)
    candles = reducer.candles
    assert 5 <= len(candles) <= 10
    assert candles[0].open == 0.0 and candles[-1].close == 1000.0
    assert max(c.high for c in candles) == 1001.0 and min(c.low for c in candles) == -1.0
    assert sum(c.volume for c in candles) == 10_000.0
    assert sum(c.n for c in candles) == 1000
    assert all(c.n == reducer.per_candle for c in candles[:-1])  # evenly merged


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2024-13-01", "--to", "2024-12-02"), "bad date '2024-13-01' for --from"),
        (("--from", "2024-02-01", "--to", "2024-01-01"), "--from 2024-02-01 is after --to"),
        (("--from", "2024-01-01", "--to", "2024-01-02", "--tz", "Mars/Base"), "time zone"),
        (("--from", "2024-01-01", "--to", "2024-01-02", "--out", "/nope/x.csv"), "not a directory"),
    ],
)
async def test_bad_arguments_exit_2(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run_bars(None, "AAPL", *args, capsys=capsys)
    assert code == bars.EXIT_USAGE and out == ""
    assert err.startswith("ticktape bars: ") and message in err
    assert len(err.splitlines()) == 1


async def test_a_ticker_with_markup_or_spaces_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = await run_bars(
        None, "[red]AAPL", "--from", "2024-01-02", "--to", "2024-01-02", capsys=capsys
    )
    assert code == bars.EXIT_USAGE
    assert err == "ticktape bars: '[red]AAPL' is not a ticker (e.g. AAPL, C:EURUSD, X:BTCUSD)\n"


async def test_parquet_without_pyarrow_says_how_to_get_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    code, _, err = await run_bars(
        None,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-02",
        "--out",
        "a.parquet",
        capsys=capsys,
    )
    assert code == bars.EXIT_USAGE
    assert "pip install 'ticktape[parquet]'" in err


async def test_parquet_file_holds_every_bar_with_zoned_times(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "aapl.parquet"
    code, stdout, err = await run_bars(
        sim,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-02",
        "--limit",
        "300",
        "--out",
        str(out),
        capsys=capsys,
    )
    assert (code, stdout, err) == (0, "", "")
    table = pq.read_table(out)
    assert table.column_names == list(COLUMNS)
    assert str(table.schema.field("datetime").type) == "timestamp[ms, tz=America/New_York]"
    expected = served(sim, "AAPL", "2024-01-02", "2024-01-02")
    rows = table.to_pylist()
    assert len(rows) == len(expected) > 300  # several pages, one row group each
    for row, bar in zip(rows, expected, strict=True):
        assert int(row["datetime"].timestamp() * 1000) == bar.timestamp
        assert (row["open"], row["close"], row["volume"]) == (bar.open, bar.close, bar.volume)


@pytest.mark.parametrize(
    ("start", "end", "likely"),
    [
        ("2024-01-06", "2024-01-07", "the market was closed (weekend)"),
        ("2099-01-05", "2099-01-06", "the range is in the future"),
    ],
)
async def test_no_data_exit_3_says_why(
    sim: Simulator, start: str, end: str, likely: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run_bars(sim, "AAPL", "--from", start, "--to", end, capsys=capsys)
    assert code == bars.EXIT_NO_DATA and out == ""
    assert err == f"ticktape bars: no bars for AAPL from {start} to {end}: {likely}\n"
    assert not any(os.scandir())  # no empty file left behind either


async def test_bad_key_exit_4(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "wrong-key")
    code, out, err = await run_bars(
        sim, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", capsys=capsys
    )
    assert code == bars.EXIT_AUTH and out == ""
    assert "API key was rejected" in err and "wrong-key" not in err


async def test_no_key_exit_4_says_how_to_set_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POLYGON_API_KEY")
    code, _, err = await run_bars(
        None, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", capsys=capsys
    )
    assert code == bars.EXIT_AUTH
    assert "POLYGON_API_KEY" in err and "--sim" in err


async def test_plan_without_the_data_exit_5(capsys: pytest.CaptureFixture[str]) -> None:
    async with Simulator(api_key=KEY, rest_markets=["stocks"]) as sim:
        code, _, err = await run_bars(
            sim, "X:BTCUSD", "--from", "2024-01-02", "--to", "2024-01-02", capsys=capsys
        )
    assert code == bars.EXIT_NOT_ENTITLED
    assert "your plan does not include this data" in err


async def test_network_down_exit_6(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = await run_bars(
        None,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-02",
        "--retries",
        "1",
        "--rest-url",
        f"http://127.0.0.1:{port}",
        capsys=capsys,
    )
    assert code == bars.EXIT_NETWORK
    assert "cannot reach the data server after 2 attempts" in err


async def test_rate_limited_after_retries_exit_6(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.faults.rest_errors(429, 10, retry_after=0.0)
    code, _, err = await run_bars(
        sim,
        "AAPL",
        "--from",
        "2024-01-02",
        "--to",
        "2024-01-02",
        "--retries",
        "2",
        capsys=capsys,
    )
    assert code == bars.EXIT_NETWORK
    assert "still rate limited after 3 attempts" in err


async def test_rate_limit_waits_then_completes(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.faults.rest_errors(429, 2, retry_after=0.0)
    code, out, _ = await run_bars(
        sim, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", capsys=capsys
    )
    assert code == 0
    assert len(read_csv(out)) == len(served(sim, "AAPL", "2024-01-02", "2024-01-02"))


# --------------------------------------------------------------------------- Ctrl-C


async def _interrupt_a_download(sim: Simulator, out: Path, *extra: str) -> tuple[int, bytes]:
    """Start a long download to ``out`` in a real process, Ctrl-C it after its first page."""
    env = {**os.environ, "POLYGON_API_KEY": KEY, "TICKTAPE_REST_URL": sim.rest_url}
    async with ticktape_process(
        "bars", "AAPL", "--from", "2024-01-01", "--to", "2024-06-30",
        "--limit", str(LIMIT), "--out", str(out), *extra, cwd=out.parent, env=env,
    ) as proc:  # fmt: skip
        async with asyncio.timeout(20):
            # Polled: a file growing in another process has no event to await.
            while not any(p.stat().st_size for p in parts(out)):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        # Hold the download at its next request (the server asks it to wait 30 s), then Ctrl-C.
        sim.faults.rest_errors(429, 1000, retry_after=30.0)
        err = await ctrl_c(proc)
    assert proc.returncode is not None
    return proc.returncode, err


def parts(out: Path) -> list[Path]:
    """The temporary files a download to ``out`` writes beside it."""
    return sorted(out.parent.glob(f"{out.name}.*.part"))


def assert_whole_pages(text: str) -> None:
    assert text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(COLUMNS)
    data = rows[1:]
    assert data and len(data) % LIMIT == 0  # whole pages only
    assert all(len(r) == len(COLUMNS) for r in data)
    for r in data:
        datetime.fromisoformat(r[0])
        [float(x) for x in r[1:6]]


LIMIT = 300


async def test_ctrl_c_leaves_a_valid_file_of_whole_pages(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "long.csv"
    code, err = await _interrupt_a_download(sim, out)
    assert code == bars.EXIT_INTERRUPTED
    assert f"pages written to {out}\n".encode() in err
    assert_whole_pages(out.read_text())  # a new file: every page so far is moved into place
    assert parts(out) == []


async def test_ctrl_c_with_force_never_leaves_a_half_file_over_a_good_one(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "long.csv"
    out.write_text("the good file\n")
    code, err = await _interrupt_a_download(sim, out, "--force")
    assert code == bars.EXIT_INTERRUPTED
    assert out.read_text() == "the good file\n"
    (part,) = parts(out)
    assert f"written to {part} ({out} was left as it was)".encode() in err
    assert_whole_pages(part.read_text())  # nothing downloaded is lost either


# --------------------------------------------------------------------------- existing files


async def test_an_existing_out_file_is_refused_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.csv"
    out.write_text("my work\n")
    code, stdout, err = await run_bars(
        None, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", "--sim", "--out", str(out),
        capsys=capsys,
    )  # fmt: skip
    assert code == bars.EXIT_USAGE and stdout == ""
    said = f"{out} exists: add --force to replace it (once the download is complete)"
    assert err == f"ticktape bars: {said}\n"
    assert out.read_text() == "my work\n"
    assert "--force" in bars._parser().format_help()


async def test_force_replaces_an_existing_file_with_the_whole_download(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    code, _, err = await run_bars(
        sim, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", "--out", str(out), "--force",
        capsys=capsys,
    )  # fmt: skip
    assert (code, err) == (0, "")
    rows = read_csv(out.read_text())
    assert len(rows) == len(served(sim, "AAPL", "2024-01-02", "2024-01-02"))
    assert out.stat().st_mode & 0o777 == 0o640  # the replaced file's mode, not the temp's 0600
    assert parts(out) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


async def test_a_directory_or_device_is_never_an_out_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for out in (str(tmp_path), "/dev/null"):
        code, _, err = await run_bars(
            None, "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", "--sim", "--out", out,
            "--force", capsys=capsys,
        )  # fmt: skip
        assert code == bars.EXIT_USAGE
        assert err == f"ticktape bars: cannot write {out}: not a regular file (--out - is stdout)\n"


# --------------------------------------------------------------------------- --plot in a terminal


def plot_in_a_terminal(cols: int, lines: int, cwd: Path) -> tuple[int, list[str], str]:
    """``bars --plot --sim`` with stdout on a pseudo-terminal of this size: (code, lines, err)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, cols, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    argv = ["bars", "AAPL", "--from", "2024-01-02", "--to", "2024-01-03", "--plot", "--sim"]
    with subprocess.Popen(
        [sys.executable, "-m", "ticktape", *argv],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
        env={**env, "NO_COLOR": "1"}, cwd=cwd,
    ) as proc:  # fmt: skip
        os.close(slave)
        out = b""
        while True:  # until the child's end of the terminal closes (EIO on Linux)
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        os.close(master)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    return code, out.decode().split("\r\n"), err


@pytest.mark.parametrize(("cols", "rows"), [(60, 16), (50, 11)])
def test_plot_fits_the_terminal_it_is_drawn_in(cols: int, rows: int, tmp_path: Path) -> None:
    code, lines, err = plot_in_a_terminal(cols, rows, tmp_path)
    assert (code, err) == (0, "")
    drawn = [line for line in lines if line.strip()]
    assert any("AAPL 1 minute" in line for line in drawn)
    assert max(len(line) for line in lines) <= cols  # no line wraps
    assert len(drawn) <= rows - 1  # and the prompt after it does not scroll the title away


def test_plot_in_a_terminal_too_small_says_so_before_downloading(tmp_path: Path) -> None:
    code, lines, err = plot_in_a_terminal(30, 8, tmp_path)
    assert code == bars.EXIT_USAGE and "".join(lines) == ""
    assert err == (
        "ticktape bars: the terminal is 30×8: --plot needs at least 40×11"
        " (make it bigger, or drop --plot)\n"
    )

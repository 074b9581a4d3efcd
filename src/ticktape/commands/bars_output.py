"""Where ``ticktape bars`` puts bars: CSV/Parquet sinks, the candle plot, the progress bar.

See docs/architecture.md (the commands and their contracts).
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from ticktape.feed.events import Agg
from ticktape.feed.rest import RetryWait
from ticktape.timeutil import zone

COLUMNS = ("datetime", "open", "high", "low", "close", "volume", "vwap", "transactions")


class Sink(Protocol):
    """Where pages of bars go; one ``write_page`` per REST page, so each can be flushed whole."""

    def write_page(self, bars: Sequence[Agg]) -> None: ...
    def close(self) -> None: ...


def _num(x: float | None) -> str:
    """Shortest exact text; whole volumes as integers (``1200``, not ``1200.0``)."""
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


class CsvSink:
    """Writes whole rows and flushes once per page, so an interrupted file is valid."""

    def __init__(self, stream: IO[str], tz: str, *, owned: bool) -> None:
        self._stream, self._owned, self._tz = stream, owned, zone(tz)
        self._csv = csv.writer(stream, lineterminator="\n")
        self._csv.writerow(COLUMNS)

    def write_page(self, bars: Sequence[Agg]) -> None:
        tz, fts = self._tz, datetime.fromtimestamp
        self._csv.writerows(
            (
                fts(b.timestamp / 1000, tz).isoformat(),
                repr(b.open),
                repr(b.high),
                repr(b.low),
                repr(b.close),
                _num(b.volume),
                "" if b.vwap is None else repr(b.vwap),
                "" if b.transactions is None else b.transactions,
            )
            for b in bars
        )
        self._stream.flush()

    def close(self) -> None:
        if self._owned:
            self._stream.close()
        else:
            self._stream.flush()


class ParquetSink:
    """One row group per page, through ``pyarrow.parquet.ParquetWriter`` (footer on close)."""

    def __init__(self, path: str, tz: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema(
            [("datetime", pa.timestamp("ms", tz=tz))]
            + [(c, pa.float64()) for c in COLUMNS[1:-1]]
            + [("transactions", pa.int64())]
        )
        self._writer = pq.ParquetWriter(path, self._schema)

    def write_page(self, bars: Sequence[Agg]) -> None:
        cols: dict[str, list[Any]] = {
            "datetime": [b.timestamp for b in bars],
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "vwap": [b.vwap for b in bars],
            "transactions": [b.transactions for b in bars],
        }
        self._writer.write_table(self._pa.Table.from_pydict(cols, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


class FileTarget:
    """An output file written as ``NAME.XXXX.part`` beside it, then moved into place.

    Not ``safefile.write_atomic``: that writes bytes held whole in memory, and a
    download is streamed page by page.

    :meth:`finish` moves it with ``os.replace`` (atomic on one file system) when
    nothing is at the target, or when the download is complete and replacing was
    asked for (``--force``). Otherwise the existing file stays as it was and the
    bars stay in the ``.part`` file, whose name :meth:`finish` returns.
    """

    def __init__(self, path: Path, *, replace: bool) -> None:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".part")
        os.close(fd)
        os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file gets the usual mode
        self.path, self.part, self._replace = path, Path(name), replace

    def finish(self, *, complete: bool) -> Path:
        """Put the written file in place if that loses nothing; returns where the bars are.

        As every whole-file write of ticktape (see docs/config.md): the data is on disk
        before the rename, and a replaced file's permission bits carry over."""
        if self.path.exists() and not (complete and self._replace):
            return self.part
        fd = os.open(self.part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.path.exists():
            shutil.copymode(self.path, self.part)
        os.replace(self.part, self.path)
        return self.path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def open_sink(out: str, tz: str, target: FileTarget | None = None) -> Sink:
    """A sink for ``out``: ``-`` (stdout), ``*.parquet``, or a CSV file; raises OSError.

    With ``target``, the bars go to its ``.part`` file, in ``out``'s format."""
    if out == "-":
        return CsvSink(sys.stdout, tz, owned=False)
    path = str(target.part) if target is not None else out
    if Path(out).suffix.lower() == ".parquet":
        return ParquetSink(path, tz)
    stream = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - owned by the sink
    return CsvSink(stream, tz, owned=True)


# --------------------------------------------------------------------------- plot


@dataclass(slots=True)
class Candle:
    """A bar for the chart (fits ``ui.candles.BarLike``); ``n`` downloaded bars merged."""

    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    n: int = 1

    def merge(self, other: Candle) -> None:
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.close = other.close
        self.volume += other.volume
        self.n += other.n


@dataclass
class CandleReducer:
    """Keeps at most ``cap`` candles of any number of bars, in bounded memory.

    A chart shows at most about half its width in candles, so a long download
    is drawn whole by merging neighbours: whenever the list is full, pairs are
    merged and each later candle takes twice as many bars.
    """

    cap: int
    candles: list[Candle] = field(default_factory=list)
    per_candle: int = 1

    def add(self, bar: Agg) -> None:
        c = Candle(bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume)
        if len(self.candles) >= self.cap and self.candles[-1].n >= self.per_candle:
            merged = self.candles[0::2]
            for a, b in zip(merged, self.candles[1::2], strict=False):
                a.merge(b)
            self.candles = merged
            self.per_candle *= 2
        if self.candles and self.candles[-1].n < self.per_candle:
            self.candles[-1].merge(c)
        else:
            self.candles.append(c)


#: The smallest chart that still shows candles, a price axis and volume.
MIN_PLOT: Final = (40, 10)
#: The chart's size when ``stream`` is not a terminal (a file or a pipe has no width).
PIPE_PLOT: Final = (100, 30)


def terminal_size(stream: IO[str]) -> tuple[int, int] | None:
    """``stream``'s terminal size as ``shutil.get_terminal_size`` reads it (``COLUMNS`` and
    ``LINES`` first), but of this stream; None for a pipe or file, or a size-less terminal."""
    cols, lines = (_env_int(name) for name in ("COLUMNS", "LINES"))
    if stream.isatty():
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(stream.fileno())
            if size.columns and size.lines:  # 0×0: a terminal that does not know its size
                return cols or size.columns, lines or size.lines
    return (cols, lines) if cols and lines else None


def _env_int(name: str) -> int:
    text = os.environ.get(name, "")
    return int(text) if text.isdigit() else 0


def plot_size(stream: IO[str]) -> tuple[int, int]:
    """The chart's width and height: the whole terminal but a line (for the prompt), at
    most 40 lines high; :data:`PIPE_PLOT` when not a terminal."""
    size = terminal_size(stream)
    if size is None:
        return PIPE_PLOT
    return size[0], min(size[1] - 1, 40)


def plot_too_small(stream: IO[str]) -> str | None:
    """Why the chart cannot be drawn on ``stream``'s terminal without wrapping, or None."""
    width, height = plot_size(stream)
    if width >= MIN_PLOT[0] and height >= MIN_PLOT[1]:
        return None
    size = terminal_size(stream) or (width, height)
    return (
        f"the terminal is {size[0]}×{size[1]}: --plot needs at least"
        f" {MIN_PLOT[0]}×{MIN_PLOT[1] + 1} (make it bigger, or drop --plot)"
    )


def plot(candles: Sequence[Candle], title: str, tz: str, stream: IO[str]) -> None:
    from ticktape.ui.candles import plot_bars_plotext

    width, height = plot_size(stream)
    if len(title) > width - 2:  # plotext drops a title that does not fit: keep its start
        title = title[: width - 3] + "…"
    color = stream.isatty() and not os.environ.get("NO_COLOR")
    chart = plot_bars_plotext(candles, width, height, title=title, color=color, tz=tz)
    print(chart, file=stream)


# --------------------------------------------------------------------------- progress


#: A request a hub holds for the rate limit (the hub retries it, not bars).
HUB_WAIT_TEXT = "the hub is waiting for the rate limit"

_WAIT_TEXT = {
    "rate_limited": "waiting for the rate limit, retrying in {s} s",
    "server_error": "server error, retrying in {s} s",
    "timeout": "timed out, retrying in {s} s",
    "connection": "cannot connect, retrying in {s} s",
}


def wait_text(reason: str, seconds: float) -> str:
    """What a pause before a retry is said as (the progress bar's note, or a stderr line)."""
    return _WAIT_TEXT.get(reason, "retrying in {s} s").format(s=math.ceil(seconds))


class ProgressView:
    """A Rich progress bar on stderr: share of the date range done, pages, bars, waits."""

    def __init__(self, symbol: str, lo_ms: int, hi_ms: int) -> None:
        """``lo_ms``..``hi_ms``: the requested range, which the bar fills as bars arrive."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self._lo = lo_ms
        self._total = max(1, hi_ms - lo_ms)
        self._wait_until = 0.0
        self._wait_reason = ""
        self._hub_held_at: float | None = None  # when the hub began holding our request
        self._progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[pages]} · {task.fields[bars]:,} bars"),
            TextColumn("{task.fields[note]}", style="yellow"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(
            symbol, total=self._total, pages="0 pages", bars=0, note=""
        )
        self._pages = self._bars = self._cached = 0

    def __enter__(self) -> ProgressView:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def page(self, bars: Sequence[Agg], *, cached: bool = False) -> None:
        """One more page; ``cached``: a hub answered it from its cache (no request made)."""
        self._pages += 1
        self._bars += len(bars)
        self._cached += cached
        self._wait_until = 0.0
        self._hub_held_at = None
        done = max(0, bars[-1].timestamp - self._lo) if bars else 0
        pages = f"{self._pages} page{'s' if self._pages != 1 else ''}"
        self._progress.update(self._task, completed=done, pages=pages, bars=self._bars)
        self.tick()

    def _cache_note(self) -> str:
        if not self._cached:
            return ""
        if self._cached == self._pages:
            return "from the hub's cache"
        return f"{self._cached} from the hub's cache"

    def wait(self, w: RetryWait) -> None:
        self._wait_until = time.monotonic() + w.seconds
        self._wait_reason = w.reason
        self.tick()

    def hub_waits(self, seconds: float) -> None:
        """The hub has held our request ``seconds`` so far for the plan's rate limit (it
        retries, not us); 0: it holds none."""
        self._hub_held_at = time.monotonic() - seconds if seconds > 0 else None
        self.tick()

    def tick(self) -> None:
        """Refresh the countdown of a wait (called a few times a second)."""
        left = self._wait_until - time.monotonic()
        note = self._cache_note()
        if left > 0:
            note = wait_text(self._wait_reason, left)
        elif self._hub_held_at is not None:
            held = math.ceil(time.monotonic() - self._hub_held_at)
            note = f"{HUB_WAIT_TEXT} ({held} s so far)"
        self._progress.update(self._task, note=note)

    def finish(self) -> None:
        """Show the range as done (the last bar rarely falls on the last minute of it)."""
        self._progress.update(self._task, completed=self._total)

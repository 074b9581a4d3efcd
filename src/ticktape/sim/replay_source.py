"""A recording (or a bars CSV) as the simulator's event source.

See docs/simulator.md (recording and replay).
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from ticktape.feed.decode import Decoder
from ticktape.feed.events import (
    Agg,
    CryptoMinuteAgg,
    Event,
    ForexMinuteAgg,
    MinuteAgg,
    Status,
)
from ticktape.feed.record import HEADER_TAG, ReadReport, iter_frames, iter_lines
from ticktape.feed.session import REPLAY_FINISHED
from ticktape.sim.protocol import CHANNELS, TAG_OF
from ticktape.sim.symbols import split_ticker
from ticktape.timeutil import EXCHANGE_TZ, zone

#: A timeline entry: (time in ms on the recording's clock, the events due then).
Entry = tuple[int, list[Event]]

MAX_GAP_MS: Final = 2_000
_HISTORY_BARS: Final = 50_000  # minute bars kept per symbol for REST history
_MINUTE: Final = 60_000
_SPANS: Final = {"minute": _MINUTE, "hour": 60 * _MINUTE}


def cluster_of_event(event: Event) -> str | None:
    """The cluster (``stocks``/``forex``/``crypto``) that serves this event type."""
    tag = TAG_OF[type(event)]
    for cluster, tags in CHANNELS.items():
        if tag in tags:
            return cluster
    return None


def check_recording(path: str | Path) -> None:
    """Raise ValueError (saying why) unless ``path`` starts with a header and a frame.

    Why: the recording reader skips damaged lines and stops quietly at a cut (so a
    crash loses only the last second); on a file that is not a recording at all
    that leniency yields nothing, and a replay server would start on an empty feed.
    """
    lines = iter_lines(path)
    first = next(lines, None)
    if first is None:
        raise ValueError("no complete line (cut short, empty or not JSON lines)")
    if first.ticktape != HEADER_TAG:
        raise ValueError("the first line is not a recording header")
    if not any(line.f is not None or line.b is not None for line in lines):
        raise ValueError("no frame after the header")


def recording_timeline(path: str | Path, report: ReadReport | None = None) -> Iterator[Entry]:
    """``(recv_ms, events)`` for each recorded frame, statuses and bad elements dropped."""
    decoder = Decoder()
    for recv_ms, frame in iter_frames(path, report):
        events: list[Event] = [e for e in decoder.decode(frame) if not isinstance(e, Status)]
        if events:
            yield recv_ms, events


def recording_cluster(path: str | Path) -> str:
    """The cluster a recording came from, judged by its first market event (stocks if none)."""
    for _, events in recording_timeline(path):
        for event in events:
            cluster = cluster_of_event(event)
            if cluster is not None:
                return cluster
    return "stocks"


def describe_read(report: ReadReport) -> str:
    """What reading a recording skipped, as a clause for the end message ('' if nothing)."""
    parts = []
    if report.cut_short:
        parts.append("the file was cut short (it ends mid-write, as after a crash)")
    if report.damaged:
        parts.append(f"{report.damaged:,} damaged lines skipped")
    return "; ".join(parts)


@dataclass
class CsvReport:
    """Rows of a bars CSV read so far, and the ones skipped (with the first reasons)."""

    rows: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, line: int, why: str) -> None:
        self.skipped += 1
        if len(self.reasons) < 3:
            self.reasons.append(f"line {line}: {why}")

    def describe(self) -> str:
        """``'2 of 390 rows skipped (line 5: high below low; …)'``, or '' if none was."""
        if not self.skipped:
            return ""
        more = "; …" if self.skipped > len(self.reasons) else ""
        why = "; ".join(self.reasons)
        return f"{self.skipped:,} of {self.rows:,} rows skipped ({why}{more})"


def csv_timeline(path: str | Path, ticker: str, report: CsvReport | None = None) -> Iterator[Entry]:
    """Rows of a ``ticktape bars`` CSV as minute-bar events of ``ticker``, by bar start.

    Stocks become ``AM``, ``C:`` tickers ``CA`` and ``X:`` tickers ``XA``, so
    the bars reach whoever subscribed to that symbol's minute bars. A row that
    is not a bar, or not a possible one, is skipped and counted in ``report``.
    """
    report = report if report is not None else CsvReport()
    day, volume, pv = None, 0, 0.0  # the exchange day so far, as a live AM bar carries it
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            report.rows += 1
            try:
                event = _bar_event(row, ticker)
            except (KeyError, TypeError, ValueError, OverflowError):
                report.skip(reader.line_num, "not a bar (a field missing or not a number)")
                continue
            why = impossible(event)
            if why:
                report.skip(reader.line_num, why)
                continue
            if isinstance(event, MinuteAgg):
                # Live AM bars carry the day's volume and VWAP (av, a); without them a
                # client has no day volume at all from a bars-only feed.
                today = datetime.fromtimestamp(event.start / 1000, zone(EXCHANGE_TZ)).date()
                if today != day:
                    day, volume, pv = today, 0, 0.0
                volume += event.volume
                pv += (event.vwap if event.vwap is not None else event.close) * event.volume
                event.day_volume = volume
                event.day_vwap = round(pv / volume, 4) if volume else None
            yield event.start, [event]


def _bar_event(row: dict[str, str], ticker: str) -> MinuteAgg | ForexMinuteAgg | CryptoMinuteAgg:
    start = int(datetime.fromisoformat(row["datetime"]).timestamp() * 1000)
    o, h, low, c = (float(row[k]) for k in ("open", "high", "low", "close"))
    volume = float(row["volume"] or 0)
    vwap = float(row["vwap"]) if row.get("vwap") else None
    end = start + _MINUTE
    cluster, symbol = split_ticker(ticker)
    if cluster == "forex":
        return ForexMinuteAgg(symbol, o, h, low, c, volume, start, end)
    if cluster == "crypto":
        return CryptoMinuteAgg(symbol, o, h, low, c, volume, start, end, vwap=vwap)
    return MinuteAgg(symbol, o, h, low, c, round(volume), start, end, vwap=vwap)


def impossible(bar: MinuteAgg | ForexMinuteAgg | CryptoMinuteAgg) -> str | None:
    """Why this bar cannot have happened, or None: served, it would draw a false chart."""
    o, h, low, c = bar.open, bar.high, bar.low, bar.close
    numbers = (o, h, low, c, bar.volume, bar.vwap if bar.vwap is not None else 1.0)
    if not all(math.isfinite(x) for x in numbers):
        return "a number is not finite"
    if min(o, h, low, c) <= 0 or (bar.vwap is not None and bar.vwap <= 0):
        return "a price is not above 0"
    if bar.volume < 0:
        return "negative volume"
    if h < low:
        return "high below low"
    if not (low <= o <= h and low <= c <= h):
        return "open or close outside low..high"
    return None


def _as_agg(event: Event) -> Agg | None:
    if isinstance(event, MinuteAgg | ForexMinuteAgg | CryptoMinuteAgg):
        return Agg(
            event.open, event.high, event.low, event.close, event.volume, event.start, event.vwap
        )
    return None


class ReplaySource:
    """Plays a timeline back in (scaled) real time; duck-types ``SimMarket`` for the server."""

    def __init__(
        self,
        timeline: Iterable[Entry],
        *,
        cluster: str = "stocks",
        speed: float = 1.0,
        max_gap_ms: int = MAX_GAP_MS,
        on_end: Callable[[], str] | None = None,
    ) -> None:
        """``on_end`` is called once, from :meth:`advance`, after the last event is emitted;
        what it returns is the message of the ``replay_finished`` status sent then."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.cluster = cluster
        self.speed = speed
        self.universe: list[str] = []
        self.emitted = 0  # events handed to the server so far
        self._entries = iter(timeline)
        self._next: Entry | None = next(self._entries, None)
        self._max_gap = max_gap_ms
        self._started_wall: int | None = None
        self._start_requested = False
        self._prev_src: int | None = None  # recording time of the last entry taken
        self._offset = 0  # its replay offset (ms on the replay clock, gaps capped)
        self._bars: dict[str, deque[Agg]] = {}
        self._on_end = on_end
        self._ended = False  # the replay_finished status went out

    @property
    def finished(self) -> bool:
        """True once every recorded event has been emitted."""
        return self._next is None

    def start(self) -> None:
        """Start the clock at the next :meth:`advance` (if no subscriber has started it)."""
        self._start_requested = True

    def ensure(self, symbol: str) -> None:
        """A client subscribed: start the clock (the symbol itself needs nothing)."""
        self._start_requested = True
        if symbol not in self.universe:
            self.universe.append(symbol)

    def advance(self, wall_ms: int) -> list[Event]:
        """Every recorded event due by ``wall_ms``, in recorded order."""
        if self._started_wall is None:
            if not self._start_requested:
                return []
            self._started_wall = wall_ms
        now = (wall_ms - self._started_wall) * self.speed
        out: list[Event] = []
        while self._next is not None:
            src, events = self._next
            gap = 0 if self._prev_src is None else max(0, src - self._prev_src)
            due = self._offset + min(gap, self._max_gap)
            if due > now:
                break
            self._prev_src, self._offset = src, due
            out.extend(events)
            self._next = next(self._entries, None)
        for event in out:
            agg = _as_agg(event)
            if agg is not None:
                bars = self._bars.setdefault(event.key, deque(maxlen=_HISTORY_BARS))
                if bars and bars[-1].timestamp == agg.timestamp:
                    bars[-1] = agg  # a re-sent bar replaces the earlier one, as live
                else:
                    bars.append(agg)
        self.emitted += len(out)
        if self._next is None and not self._ended:
            self._ended = True
            message = self._on_end() if self._on_end is not None else ""
            out.append(Status(status=REPLAY_FINISHED, message=message or "end of replay"))
        return out

    def history(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_ms: int,
        to_ms: int,
        *,
        adjusted: bool = True,
    ) -> list[Agg]:
        """Minute bars replayed so far in ``[from_ms, to_ms]`` (minute/hour spans only)."""
        span = _SPANS.get(timespan)
        bars = self._bars.get(split_ticker(ticker)[1])
        if span is None or not bars:
            return []
        size = span * max(1, multiplier)
        if size == _MINUTE:
            return [bar for bar in bars if from_ms <= bar.timestamp <= to_ms]
        out: list[Agg] = []
        for bar in bars:
            if not from_ms <= bar.timestamp <= to_ms:
                continue
            bucket = bar.timestamp - bar.timestamp % size
            if out and out[-1].timestamp == bucket:
                last = out[-1]
                last.high, last.low = max(last.high, bar.high), min(last.low, bar.low)
                last.close, last.volume = bar.close, last.volume + bar.volume
            else:
                out.append(Agg(bar.open, bar.high, bar.low, bar.close, bar.volume, bucket))
        return out

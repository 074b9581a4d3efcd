"""Recording raw frames, and replaying recordings / bars CSVs as a live feed."""

from __future__ import annotations

import asyncio
import gzip
import math
import shutil
import time
from pathlib import Path

import msgspec
import pytest

from tests.commands.conftest import ctrl_c, ticktape_process
from ticktape.commands.bars_output import COLUMNS
from ticktape.commands.replay import _parser as replay_parser
from ticktape.commands.replay import max_gap_ms
from ticktape.feed.decode import Decoder
from ticktape.feed.events import Event, MinuteAgg, Status, Trade, encode
from ticktape.feed.record import (
    NotOurFileError,
    Recorder,
    RecordSwitch,
    is_recording,
    iter_frames,
)
from ticktape.feed.session import REPLAY_FINISHED, Session
from ticktape.market.state import MarketState
from ticktape.market.symbol import SymbolState
from ticktape.sim.replay_source import (
    CsvReport,
    ReplaySource,
    check_recording,
    csv_timeline,
    recording_timeline,
)
from ticktape.sim.server import Simulator

KEY = "sEcReT-kEy-0123456789"


def _trade_frame(i: int, sym: str = "AAPL") -> str:
    return encode([Trade(sym, 100.0 + i, 10, 1_700_000_000_000 + i)]).decode()


# --------------------------------------------------------------------------- Recorder


def test_frames_round_trip_with_receive_times(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    frames: list[tuple[int, str | bytes]] = [(1000 + i, _trade_frame(i)) for i in range(50)]
    frames.append((2000, "not json at all {"))  # malformed wire text is kept as received
    frames.append((2001, b"\xff\xfe binary"))  # a non-UTF-8 binary frame survives too
    with Recorder(path) as rec:
        for recv_ms, frame in frames:
            rec.write(frame, recv_ms)
    assert is_recording(path)
    assert list(iter_frames(path)) == frames


def test_key_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(path, redact=[KEY]) as rec:
        rec.write(f'{{"action":"auth","params":"{KEY}"}}', 1)  # an outgoing auth: dropped
        rec.write(f'[{{"ev":"status","status":"error","message":"bad key {KEY}"}}]', 2)
        rec.write(KEY.encode() + b"\xff", 3)
        rec.write(_trade_frame(1), 4)
    text = gzip.decompress(path.read_bytes())
    assert KEY.encode() not in text
    assert rec.dropped == 1
    assert [t for t, _ in iter_frames(path)] == [2, 3, 4]


def test_a_crash_loses_at_most_the_last_second(tmp_path: Path) -> None:
    """Without close() (a crash), frames become readable on disk by themselves within ~1 s."""
    path, crashed = tmp_path / "rec.jsonl.gz", tmp_path / "crashed.jsonl.gz"
    rec = Recorder(path, flush_interval=0.2)
    try:
        for i in range(200):
            rec.write(_trade_frame(i), i)
        deadline = time.monotonic() + 10
        count = 0
        while time.monotonic() < deadline:
            shutil.copy(path, crashed)  # what a crash would leave: no gzip trailer
            count = len(list(iter_frames(crashed)))
            if count == 200:
                break
            time.sleep(0.05)
        assert count == 200
        # A file cut mid-block (a crash during a write) still yields a clean prefix.
        data = crashed.read_bytes()
        crashed.write_bytes(data[: len(data) * 2 // 3])
        prefix = list(iter_frames(crashed))
        assert 0 < len(prefix) < 200
        assert prefix == [(i, _trade_frame(i)) for i in range(len(prefix))]
    finally:
        rec.close()


def test_recording_again_appends(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    for part in range(2):
        with Recorder(path) as rec:
            rec.write(_trade_frame(part), part)
    assert [t for t, _ in iter_frames(path)] == [0, 1]


def _cut_recording(path: Path) -> bytes:
    """What a crash leaves: a recording's bytes without the end of its gzip member."""
    with Recorder(path) as rec:
        for i in range(50):
            rec.write(_trade_frame(i), i)
    return path.read_bytes()[:-12]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (lambda _: b"my notes\n", "not a ticktape recording"),
        (lambda _: gzip.compress(b"datetime,open\n"), "not a ticktape recording"),
        (_cut_recording, "cut short"),
    ],
    ids=["text", "other-gzip", "cut-recording"],
)
def test_recording_never_writes_into_a_file_that_is_not_a_whole_recording(
    tmp_path: Path, content: object, why: str
) -> None:
    """Appending gzip to notes.txt ruined it; appending to a cut recording hid the new frames."""
    path = tmp_path / "notes.txt"
    before = content(tmp_path / "other.jsonl.gz")  # type: ignore[operator]
    path.write_bytes(before)
    with pytest.raises(NotOurFileError, match=why):
        Recorder(path)
    switch = RecordSwitch()
    with pytest.raises(OSError, match=why):  # the app's R path: an OSError it shows as a notice
        switch.start(path)
    assert not switch.active
    assert path.read_bytes() == before


def test_an_empty_file_is_recorded_into(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl.gz"
    path.touch()  # e.g. made by mktemp: nothing in it to lose
    with Recorder(path) as rec:
        rec.write(_trade_frame(0), 0)
    assert list(iter_frames(path)) == [(0, _trade_frame(0))]


def test_record_switch_records_only_while_on(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    switch = RecordSwitch(redact=[KEY])
    switch.write(_trade_frame(0), 0)  # off: not recorded
    switch.start(path)
    switch.write(_trade_frame(1), 1)
    switch.stop()
    switch.write(_trade_frame(2), 2)  # off again
    switch.start(path)  # the same file: appended
    switch.write(KEY, 3)
    switch.stop()
    assert list(iter_frames(path)) == [(1, _trade_frame(1)), (3, "****")]
    assert not switch.active


# --------------------------------------------------------------------------- ReplaySource


def test_replay_source_paces_by_receive_time_and_waits_for_a_subscriber(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(path) as rec:
        rec.write('[{"ev":"status","status":"auth_success","message":"authenticated"}]', 0)
        for i, recv in enumerate((1_000, 1_500, 2_000, 60_000)):
            rec.write(_trade_frame(i), recv)
    src = ReplaySource(recording_timeline(path), speed=2.0, max_gap_ms=2_000)
    assert src.advance(10_000) == []  # nobody subscribed yet: the clock has not started
    src.ensure("AAPL")
    first = src.advance(10_000)  # clock starts: the first frame is due at once
    assert [e.price for e in first if isinstance(e, Trade)] == [100.0]
    assert [e.price for e in src.advance(10_250)] == [101.0]  # 500 ms recorded at 2x
    assert [e.price for e in src.advance(10_500)] == [102.0]
    assert src.advance(11_000) == []  # the 58 s gap is capped to 2 s (1 s at 2x)
    *last, end = src.advance(11_500)
    assert [e.price for e in last if isinstance(e, Trade)] == [103.0]
    assert end == Status(status=REPLAY_FINISHED, message="end of replay")  # then its own end
    assert src.finished and src.advance(20_000) == []  # said once


def test_a_file_recorded_twice_replays_both_sessions(tmp_path: Path) -> None:
    """Appending makes a second gzip member; the replay reads on through it."""
    path = tmp_path / "rec.jsonl.gz"
    for session in range(2):
        with Recorder(path) as rec:
            rec.write(_trade_frame(session), 1_000 * session)
    check_recording(path)
    src = ReplaySource(recording_timeline(path), max_gap_ms=10)
    src.start()
    events = src.advance(0) + src.advance(1_000)
    assert [e.price for e in events if isinstance(e, Trade)] == [100.0, 101.0]
    assert src.finished


def test_bars_csv_becomes_minute_bars(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(
        "datetime,open,high,low,close,volume,vwap,transactions\n"
        "2024-01-02T09:30:00-05:00,10.0,11.0,9.5,10.5,1200,10.4,30\n"
        "2024-01-02T09:31:00-05:00,10.5,10.9,10.1,10.2,800,,\n"
    )
    events = [e for _, evs in csv_timeline(path, "AAPL") for e in evs]
    # Each bar carries the day so far (av, a) as a live AM bar does; the second bar has
    # no vwap, so its close stands in for it in the day's VWAP.
    day_vwap = round((10.4 * 1200 + 10.2 * 800) / 2000, 4)
    assert events == [
        MinuteAgg(
            "AAPL", 10.0, 11.0, 9.5, 10.5, 1200, 1704205800000, 1704205860000, vwap=10.4,
            day_volume=1200, day_vwap=10.4,
        ),
        MinuteAgg(
            "AAPL", 10.5, 10.9, 10.1, 10.2, 800, 1704205860000, 1704205920000,
            day_volume=2000, day_vwap=day_vwap,
        ),
    ]  # fmt: skip
    assert not is_recording(path)


def test_bars_csv_day_volume_starts_again_each_exchange_day(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(
        "datetime,open,high,low,close,volume,vwap,transactions\n"
        "2024-01-02T15:59:00-05:00,10.0,10.0,10.0,10.0,100,,\n"
        "2024-01-02T19:59:00-05:00,10.0,10.0,10.0,10.0,50,,\n"  # after hours: same day
        "2024-01-03T04:00:00-05:00,11.0,11.0,11.0,11.0,70,,\n"  # the next exchange day
    )
    events = [e for _, evs in csv_timeline(path, "AAPL") for e in evs]
    assert [e.day_volume for e in events] == [100, 150, 70]


def test_a_bars_csv_replays_at_the_speed_asked(tmp_path: Path) -> None:
    # One row a minute: a quiet-stretch cap under a minute would run it ~30x too fast.
    path = tmp_path / "AAPL.csv"
    path.write_text("datetime,open,high,low,close,volume\n")
    args = replay_parser().parse_args([str(path)])
    assert max_gap_ms(args) > 60_000
    given = replay_parser().parse_args([str(tmp_path / "x.csv"), "--max-gap", "2"])
    assert max_gap_ms(given) == 2_000


JUNK_CSV = (
    "datetime,open,high,low,close,volume,vwap,transactions\n"
    "2024-01-02T09:30:00-05:00,10.0,11.0,9.5,10.5,1200,10.4,30\n"  # line 2: good
    "2024-01-02T09:31:00-05:00,abc,11.0,9.5,10.5,1200,,\n"  # 3: not a number
    "2024-01-02T09:32:00-05:00,10.0,11.0,9.5,10.5,-5,,\n"  # 4: negative volume
    "2024-01-02T09:33:00-05:00,10.0,9.0,9.5,9.2,100,,\n"  # 5: high below low
    "2024-01-02T09:34:00-05:00,10.0,11.0,9.5,12.0,100,,\n"  # 6: close above high
    "2024-01-02T09:35:00-05:00,nan,11.0,9.5,10.5,100,,\n"  # 7: nan
    "2024-01-02T09:36:00-05:00,10.0,inf,9.5,10.5,100,,\n"  # 8: inf
    "2024-01-02T09:37:00-05:00,-1.0,11.0,-2.0,10.5,100,,\n"  # 9: a negative price
    "garbage line\n"  # 10: not a row at all
    "2024-01-02T09:39:00-05:00,10.5,10.9,10.1,10.2,800,,\n"  # 11: good
)


def test_bars_csv_rows_that_are_not_possible_bars_are_skipped_and_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(JUNK_CSV)
    report = CsvReport()
    events = [e for _, evs in csv_timeline(path, "AAPL", report) for e in evs]
    assert [(e.open, e.close) for e in events if isinstance(e, MinuteAgg)] == [
        (10.0, 10.5),
        (10.5, 10.2),
    ]
    assert events[-1].day_volume == 2000  # the skipped rows count for nothing
    assert (report.rows, report.skipped) == (10, 8)
    assert report.describe() == (
        "8 of 10 rows skipped (line 3: not a bar (a field missing or not a number);"
        " line 4: negative volume; line 5: high below low; …)"
    )
    second = CsvReport()
    for _ in csv_timeline(path, "AAPL", second):
        pass
    more = [r.partition(": ")[2] for r in second.reasons]
    assert more[:3] == ["not a bar (a field missing or not a number)", "negative volume",
                        "high below low"]  # fmt: skip


def test_replay_cli_says_which_csv_rows_it_skips_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ticktape.commands import replay

    path = tmp_path / "AAPL.csv"
    path.write_text(JUNK_CSV)
    monkeypatch.setattr(replay, "_serve", _no_serve)
    assert replay.main([str(path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"ticktape replay: {path}: 8 of 10 rows skipped (line 3: ")


def test_replay_cli_refuses_a_csv_without_one_possible_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ticktape.commands import replay

    path = tmp_path / "AAPL.csv"
    path.write_text(
        "datetime,open,high,low,close,volume\n2024-01-02T09:33:00-05:00,10.0,9.0,9.5,9.2,100\n"
    )
    served: list[object] = []
    monkeypatch.setattr(replay, "_serve", lambda *a, **k: served.append(a))
    assert replay.main([str(path)]) == 2
    assert not served
    assert capsys.readouterr().err == (
        f"ticktape replay: {path} is not a ticktape recording or bars CSV:"
        " 1 of 1 rows skipped (line 2: high below low)\n"
    )


async def _no_serve(*args: object) -> None:
    """Stands in for the server: main's checks and messages run, nothing is served."""


@pytest.mark.parametrize(
    ("ticker", "tag", "pair"), [("C:EURUSD", "CA", "EUR/USD"), ("X:BTCUSD", "XA", "BTC-USD")]
)
def test_bars_csv_of_forex_and_crypto(tmp_path: Path, ticker: str, tag: str, pair: str) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "datetime,open,high,low,close,volume,vwap,transactions\n"
        "2024-01-02T00:00:00+00:00,1.1,1.2,1.0,1.15,5.5,1.12,3\n"
    )
    (event,) = [e for _, evs in csv_timeline(path, ticker) for e in evs]
    assert encode([event]).decode().startswith(f'[{{"ev":"{tag}","pair":"{pair}"')


# --------------------------------------------------------------------------- live → record → replay


def _plain(value: object) -> object:
    """A comparable picture of market state: slotted objects and rings as nested tuples."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"  # NaN != NaN, but "no price yet" in both states is the same state
    if isinstance(value, msgspec.Struct):
        return _plain(msgspec.structs.astuple(value))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    slots = [s for cls in type(value).__mro__ for s in getattr(cls, "__slots__", ())]
    if slots:
        return tuple((s, _plain(getattr(value, s))) for s in slots if hasattr(value, s))
    return value


#: Receive-time bookkeeping and whether a reader has looked at a symbol ("watched"),
#: which a replay cannot (and need not) reproduce, and the rings, which are compared
#: through their public iterators instead of their buffers.
_NOT_COMPARED = {
    "updated_ms",
    "version",
    "index",
    "qcap",
    "trade_ring",
    "watched",
    "quote_ring",
    "seconds",
    "minutes",
}


def snapshot(state: MarketState) -> dict[str, object]:
    out: dict[str, object] = {"tape": _plain(list(state.tape))}
    for sym, s in sorted(state.symbols.items()):
        fields = {
            slot: getattr(s, slot) for slot in SymbolState.__slots__ if slot not in _NOT_COMPARED
        }
        out[sym] = (
            _plain(fields),
            _plain(list(s.trades)),
            _plain(list(s.quotes)),
            _plain(state.bars(sym, "1m")),
        )
    return out


class Sink:
    """A MarketState fed by a Session, with an event to wait on instead of sleeping."""

    def __init__(self) -> None:
        self.state = MarketState(record_all_quotes=True)
        self.count = 0
        self.changed = asyncio.Event()

    def on_events(self, events: list[Event], recv_ms: int) -> None:
        self.state.apply(events, recv_ms)
        self.count += len(events)
        self.changed.set()

    async def wait_for(self, count: int, seconds: float = 20.0) -> None:
        async with asyncio.timeout(seconds):
            while self.count < count:
                self.changed.clear()
                await self.changed.wait()


SYMBOLS = ("AAPL", "MSFT", "NVDA")


async def test_replay_rebuilds_the_live_market_state(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    live = Sink()
    async with Simulator(api_key=KEY, seed=5, rate=3000, symbols=SYMBOLS) as sim:
        with Recorder(path, redact=[KEY], meta={"market": "stocks"}) as rec:
            session = Session(
                f"{sim.ws_url}/stocks",
                KEY,
                symbols=SYMBOLS,
                on_events=live.on_events,
                on_frame=rec.write,
            )
            task = asyncio.create_task(session.run())
            await live.wait_for(3000)
            await session.stop()
            await task
    # a real session: trades and quotes for every symbol
    assert all(len(live.state.symbols[s].trades) > 0 for s in SYMBOLS)
    assert all(len(live.state.symbols[s].quotes) > 0 for s in SYMBOLS)
    assert KEY.encode() not in gzip.decompress(path.read_bytes())

    # file → decoder → MarketState
    direct = MarketState(record_all_quotes=True)
    decoder = Decoder()
    for recv_ms, frame in iter_frames(path):
        events = [e for e in decoder.decode(frame) if not isinstance(e, Status)]
        if events:
            direct.apply(events, recv_ms)
    assert snapshot(direct) == snapshot(live.state)

    # file → replay server → Session → MarketState
    replayed = Sink()
    source = ReplaySource(recording_timeline(path), speed=50.0)
    silent = {c: ReplaySource(()) for c in ("forex", "crypto")}
    async with Simulator(sources={"stocks": source, **silent}) as replay:
        session = Session(
            f"{replay.ws_url}/stocks", "any-key", symbols=SYMBOLS, on_events=replayed.on_events
        )
        task = asyncio.create_task(session.run())
        await replayed.wait_for(live.count)
        await session.stop()
        await task
    assert source.finished and replayed.count == live.count
    assert snapshot(replayed.state) == snapshot(live.state)


async def test_replay_filters_by_subscription_like_live(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl.gz"
    with Recorder(path) as rec:
        rec.write(encode([Trade("AAPL", 1.0, 1, 1), Trade("MSFT", 2.0, 1, 2)]), 10)
        rec.write(encode([Trade("MSFT", 3.0, 1, 3)]), 20)
        rec.write(encode([Trade("AAPL", 4.0, 1, 4)]), 30)
    sink = Sink()
    source = ReplaySource(recording_timeline(path), speed=10.0)
    async with Simulator(sources={"stocks": source}) as replay:
        session = Session(
            f"{replay.ws_url}/stocks",
            "k",
            channels=("T",),
            symbols=["AAPL"],
            on_events=sink.on_events,
        )
        task = asyncio.create_task(session.run())
        await sink.wait_for(2)
        await session.stop()
        await task
    assert sink.count == 2
    aapl = sink.state.get("AAPL")
    assert aapl is not None and aapl.last == 4.0 and aapl.volume == 2
    assert sink.state.get("MSFT") is None  # not subscribed: filtered out as live would be


async def test_replay_cli_serves_a_bars_csv_as_minute_bars(tmp_path: Path) -> None:
    """`ticktape bars` output → `ticktape replay` (a real subprocess) → a Session sees AM bars."""
    path = tmp_path / "AAPL_2024.csv"
    rows = [
        f"2024-01-02T09:{30 + i}:00-05:00,{10 + i}.0,{11 + i}.0,{9 + i}.0,{10 + i}.5,{v},,"
        for i, v in enumerate((100, 200, 300, 400, 500))
    ]
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    sink = Sink()
    async with ticktape_process("replay", str(path), "--speed", "6000") as proc:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            urls = [(await proc.stdout.readline()).decode().strip() for _ in range(4)]
        assert urls[0].endswith("/stocks") and urls[3].startswith("http://127.0.0.1:")
        session = Session(
            urls[0], "k", channels=("AM",), symbols=["AAPL"], on_events=sink.on_events
        )
        task = asyncio.create_task(session.run())
        await sink.wait_for(5)
        await session.stop()
        await task
        err = await ctrl_c(proc)
    assert proc.returncode == 0
    assert b"end of AAPL bars" in err
    got = [(b.start_ms, b.open, b.close, b.volume) for b in sink.state.bars("AAPL", "1m")]
    start = 1704205800000  # 2024-01-02 09:30 ET
    assert got == [(start + i * 60_000, 10.0 + i, 10.5 + i, 100 * (i + 1)) for i in range(5)]


def _truncated_recording(path: Path) -> bytes:
    with Recorder(path) as rec:
        for i in range(50):
            rec.write(_trade_frame(i), 1_000 + i)
    return path.read_bytes()[:20]  # cut inside the first gzip block: no complete line


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (_truncated_recording, "no complete line"),
        (lambda _: gzip.compress(b'{"t":1}'), "no complete line"),
        (lambda _: gzip.compress(b'{"t":1}\n'), "not a recording header"),
        (lambda _: gzip.compress(b"not json\n"), "no complete line"),
        (lambda _: gzip.compress(b'{"ticktape":"recording","v":1}\n'), "no frame after"),
    ],
    ids=["truncated", "t-only", "t-only-line", "not-json", "header-only"],
)
def test_replay_refuses_a_gzip_that_is_not_a_recording(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: object,
    why: str,
) -> None:
    """Exit 2 with one line saying why, before any server starts (none would be useful)."""
    from ticktape.commands import replay

    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(content(tmp_path / "full.jsonl.gz"))  # type: ignore[operator]
    served: list[object] = []
    monkeypatch.setattr(replay, "_serve", lambda *a, **k: served.append(a))
    assert replay.main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert not served and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"ticktape replay: {path} is not a ticktape recording or bars CSV: ")
    assert why in err


def test_replay_accepts_a_recording_with_a_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check passes a real recording on to the server (so it cannot be refusing everything)."""
    from ticktape.commands import replay

    path = tmp_path / "good.jsonl.gz"
    with Recorder(path) as rec:
        rec.write(_trade_frame(0), 1_000)
    served: list[str] = []

    async def fake_serve(args: object, source: object, cluster: str, what: str) -> None:
        served.append(what)

    monkeypatch.setattr(replay, "_serve", fake_serve)
    assert replay.main([str(path)]) == 0
    assert served == ["recording good.jsonl.gz (stocks)"]


async def test_every_client_hears_replay_finished_after_the_last_event(tmp_path: Path) -> None:
    """Whatever it subscribed to: the end is the replay's, not a channel's."""
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(path) as rec:
        for i in range(5):
            rec.write(_trade_frame(i), 10 * i)
    sink, heard = Sink(), asyncio.Event()
    counted: list[int] = []

    def on_server_status(status: Status) -> None:
        if status.status == REPLAY_FINISHED:
            counted.append(sink.count)  # how many events had arrived when the end was said
            heard.set()

    source = ReplaySource(recording_timeline(path), speed=10.0, on_end=lambda: "the end")
    async with Simulator(sources={"stocks": source}) as replay:
        session = Session(
            f"{replay.ws_url}/stocks", "k", channels=("T",), symbols=["AAPL"],
            on_events=sink.on_events, on_server_status=on_server_status,
        )  # fmt: skip
        task = asyncio.create_task(session.run())
        async with asyncio.timeout(20):
            await heard.wait()
        await session.stop()
        await task
    assert counted == [5]


async def test_replay_cli_counts_a_cut_recording_and_says_it_was_cut(tmp_path: Path) -> None:
    """A crash leaves a recording without its end: the replay serves what is there and says so."""
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(_cut_recording(tmp_path / "whole.jsonl.gz"))
    whole = len(list(iter_frames(tmp_path / "whole.jsonl.gz")))
    frames = len(list(iter_frames(path)))
    assert 0 < frames < whole  # the cut lost the last frames
    sink, finished = Sink(), asyncio.Event()
    said: list[str] = []

    def on_server_status(status: Status) -> None:
        if status.status == REPLAY_FINISHED:
            said.append(status.message)
            finished.set()

    async with ticktape_process("replay", str(path), "--speed", "1000") as proc:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            url = (await proc.stdout.readline()).decode().strip()
        session = Session(
            url, "replay-key", channels=("T",), symbols=["AAPL"], on_events=sink.on_events,
            on_server_status=on_server_status,
        )  # fmt: skip
        task = asyncio.create_task(session.run())
        async with asyncio.timeout(20):
            await finished.wait()
        await session.stop()
        await task
        err = await ctrl_c(proc)
    end = (
        f"end of recording cut.jsonl.gz (stocks): {frames} events replayed; the file was cut short"
    )
    assert sink.count == frames
    assert said and said[0].startswith(end)
    assert f"ticktape replay: {end}".encode() in err


def test_the_apps_replay_key_is_no_word_of_what_a_replay_says() -> None:
    """The app masks its API key in server statuses: a key that is a common word masks words."""
    from ticktape.commands.replay import REPLAY_KEY

    for said in (
        REPLAY_FINISHED,
        "end of recording my-replay.jsonl.gz (stocks): 6 events replayed",
    ):
        assert REPLAY_KEY not in said

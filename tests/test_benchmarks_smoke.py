"""Every benchmark runs at a tiny size and reports its figures, so the suite cannot rot.

These check the harness, not the speed: each benchmark function returns the
keys ``results.json`` promises, as positive numbers, and the runner writes
them. Sizes are cut to the bone (a 50-symbol corpus, sub-second windows) so
the whole file takes a few seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from benchmarks import (
    Result,
    bench_alerts,
    bench_decode,
    bench_e2e,
    bench_hub,
    bench_market_view,
    bench_memory,
    bench_nats,
    bench_startup,
    bench_terminal,
    bench_ui,
    columns_probe,
    corpus,
    sim_snapshot,
)
from benchmarks import __main__ as runner
from benchmarks.laps import LapShifter

from ticktape.feed.decode import Decoder


@pytest.fixture(scope="module")
def tiny() -> corpus.Corpus:
    return corpus.load(events=3_000, symbols=50, seed=3, cache=False)


def assert_figures(result: Result, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = result[key]
        assert isinstance(value, int | float), (key, value)
        assert value > 0, (key, value)


def test_corpus_is_deterministic_and_shaped(tiny: corpus.Corpus) -> None:
    again = corpus.load(events=3_000, symbols=50, seed=3, cache=False)
    assert again.frames == tiny.frames
    sizes = [f.count(b'{"ev":') for f in tiny.frames]
    assert sum(sizes) == tiny.events == 3_000
    assert min(sizes) >= 1
    assert all(f.startswith(b"[") and f.endswith(b"]") for f in tiny.frames)


def test_alerts(tiny: corpus.Corpus) -> None:
    result = bench_alerts.run(tiny, rounds=1)
    assert isinstance(result["alerts_overhead_pct"], float)
    assert result["alerts_armed"] == 1_000
    assert_figures(result, ("alerts_none_events_per_s", "alerts_1000_events_per_s"))


def test_corpus_cache_round_trips(tiny: corpus.Corpus, tmp_path: Path) -> None:
    path = tmp_path / "c.bin"
    corpus._write(path, tiny.frames)
    assert corpus._read(path) == tiny.frames


def test_decode(tiny: corpus.Corpus) -> None:
    result = bench_decode.run(tiny, rounds=1)
    assert_figures(result, runner.REQUIRED["decode"])


def test_stamp_points_splice_the_first_quote_time() -> None:
    frame = b'[{"ev":"Q","sym":"A","bp":1.0,"ap":1.1,"t":1773239400000,"q":5}]'
    head, tail = bench_e2e.stamp_points(frame) or (b"", b"")
    assert head + b"1773239400000" + tail == frame
    assert bench_e2e.stamp_points(b'[{"ev":"AM","sym":"A","s":1773239400000}]') is None
    # A trade's time orders the state (a wall-clock trade would start a new day): never stamped.
    assert bench_e2e.stamp_points(b'[{"ev":"T","sym":"A","p":1.0,"s":1,"t":1773239400000}]') is None


def test_laps_move_every_time_field_forward_and_nothing_else(tiny: corpus.Corpus) -> None:
    shifter = LapShifter(tiny.frames)
    decode = Decoder().decode
    first = decode(tiny.frames[0])[0].time_ms
    last = decode(tiny.frames[-1])[-1].time_ms
    assert shifter.lap_ms > last - first  # each lap starts after the one before ended
    assert shifter.lap_ms % 60_000 == 0  # bars stay on whole minutes
    for lap in (1, 7):
        pairs = shifter.pairs(lap)
        for frame in tiny.frames:
            got = decode(LapShifter.apply(frame, pairs))
            want = decode(frame)
            bench_memory.shift_events(want, lap * shifter.lap_ms)
            assert got == want


def test_laps_refuse_a_corpus_where_other_numbers_look_like_times() -> None:
    frames = [b'[{"ev":"T","sym":"A","p":17732394.5,"s":1,"t":1773239400000}]']
    with pytest.raises(ValueError, match="not times"):
        LapShifter(frames)


def test_e2e(tiny: corpus.Corpus) -> None:
    result = bench_e2e.run(tiny, seconds=0.4, warmup=0.1, rounds=1, probes=0, max_tries=1)
    assert_figures(result, (*runner.REQUIRED["e2e"], "official_e2e_events_per_s"))


@pytest.mark.soak  # five processes and four runs: ~15 s, too long for every `make test`
def test_hub(tiny: corpus.Corpus) -> None:
    result = bench_hub.run(
        tiny, seconds=0.4, probe=0.3, probes=1, fanouts=(1,), start_rate=20_000.0
    )
    assert_figures(result, ("hub_fanout_events_per_s_1", "hub_subset_events_per_s_4"))
    assert isinstance(result["hub_added_latency_p99_ms"], float)


async def test_ui(tiny: corpus.Corpus) -> None:
    symbols = bench_ui.busiest_symbols(tiny, 5)
    result = await bench_ui.measure(
        tiny,
        5_000,
        warmup=0.1,
        window=0.3,
        switches=2,
        symbols=symbols,
        state=bench_ui.seeded_state(symbols, tiny.seed),
    )
    assert_figures(result, ("frame_p95_ms_5k", "switch_p95_ms_5k", "ui_cpu_cores_5k"))


async def test_market_view(tiny: corpus.Corpus) -> None:
    symbols = bench_ui.busiest_symbols(tiny, 5)
    result = await bench_market_view.measure(tiny, warmup=0.1, switches=2, symbols=symbols)
    assert_figures(result, runner.REQUIRED["market_view"])


def test_startup() -> None:
    assert_figures(bench_startup.run(launches=1), runner.REQUIRED["startup"])


def test_memory(tiny: corpus.Corpus) -> None:
    result = bench_memory.run(tiny, checkpoints=(1_000, 5_000), rounds=1)
    assert_figures(result, runner.REQUIRED["memory"][:2])
    assert isinstance(result["mem_growth_pct"], float)


def test_runner_writes_results(
    tiny: corpus.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus, "load", lambda *a, **k: tiny)
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"first_paint_s": 0.5}))  # other benchmarks' figures survive
    assert runner.main(["decode", "--quick", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert_figures(data, runner.REQUIRED["decode"])
    assert data["first_paint_s"] == 0.5
    assert data["cores"] >= 1


@pytest.mark.skipif(shutil.which("cc") is None, reason="the compiled loop needs a C compiler")
def test_columns_probe_loops_agree(capsys: pytest.CaptureFixture[str]) -> None:
    # The experiment behind RESULTS.md's "next step": its Python and C loops must agree.
    assert columns_probe.main(["--symbols", "50", "--events", "3000", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "identical columns" in out
    assert "C columns" in out


def test_terminal_counts_bytes_and_places_them() -> None:
    cap = bench_terminal.capture(80, 24, seconds=0.5, settle=0.2)
    assert cap.kb_per_s > 0
    cells = bench_terminal.bytes_by_cell(cap.data)
    assert sum(cells.values()) == len(cap.data)
    # escapes are charged to the cell drawn next: a move and a style to the cell they lead to
    placed = bench_terminal.bytes_by_cell(b"\x1b[3;5H\x1b[1mab\x1b[0m")
    assert placed == {(2, 4): len(b"\x1b[3;5H\x1b[1ma"), (2, 5): 1, (2, 6): len(b"\x1b[0m")}


def test_nats(tiny: corpus.Corpus) -> None:
    from ticktape.link.natsserver import find_binary

    if find_binary() is None:
        pytest.skip("nats-server is not installed")
    result = bench_nats.run(tiny, seconds=0.5, latency_seconds=0.5, edge_counts=(1,), idle_end=0.3)
    assert_figures(
        result,
        ("nats_origin_events_per_s", "nats_added_latency_p99_ms", "nats_edge_cpu_us_per_event_1"),
    )


def test_the_simulator_snapshot_benchmark_reports_its_times() -> None:
    got = sim_snapshot.run(seconds=0.5, rounds=1, listed=200)
    assert got["symbols"] == 200
    times = ("tickers_first_ms", "gainers_first_ms", "tickers_ms", "gainers_ms")
    assert all(got[k] > 0 for k in times)

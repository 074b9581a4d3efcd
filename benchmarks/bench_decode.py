"""Decode throughput: ticktape's decoder, decoder + market state, and the official client.

Three paths over the same corpus, one process, interleaved round by round so
a burst of load from elsewhere on the machine hits all three alike:

(a) ``Decoder.decode(frame)`` for every frame (bytes, as the session reads them).
(b) the same, then ``MarketState.apply(events, recv_ms)`` into a fresh state
    each round (so every round starts from the same state: no wrapped rings or
    time running backwards from a second pass over the corpus). This charges
    the creation of all 2,000 symbols to the corpus; (b, warm) also reports
    the steady state: a state that has taken the corpus once takes its next
    lap, moved forward in time (:mod:`benchmarks.laps`).
(a, blocks) the app's whole-market path for the market view's block board: the full decode,
    then the block filter over every event.
(c) the official ``massive`` client's per-frame work, copied from its
    ``WebSocketClient.connect`` loop: ``self.json.loads(msg)``, the status
    scan, ``_log_server_statuses``, ``parse(msg, logger, market)`` and
    ``_flush_server_errors``. It gets each frame as ``str`` (what its
    ``recv()`` returns), so the UTF-8 decode websockets does for it is not
    counted against it.

Each figure is the median over rounds; each ratio is the median of the
per-round ratios.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Final

from benchmarks import Result, median, require
from benchmarks.corpus import Corpus
from benchmarks.laps import LapShifter
from ticktape.feed.decode import Decoder

if TYPE_CHECKING:
    from ticktape.market import MarketState

#: Symbol counts of the side corpora (same size and seed as the headline one).
SWEEP: Final = (50, 500)


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def decode_pass(frames: list[bytes]) -> None:
    decode = Decoder().decode
    for frame in frames:
        decode(frame)


def decode_apply_pass(frames: list[bytes], state: MarketState | None = None) -> MarketState:
    """Decode + apply ``frames`` into ``state`` (a fresh one by default); returns it."""
    from ticktape.market import MarketState

    if state is None:
        state = MarketState()
    decode = Decoder().decode
    apply = state.apply
    recv_ms = time.time_ns() // 1_000_000
    for frame in frames:
        apply(decode(frame), recv_ms)
    return state


def warm_apply_pass(frames: list[bytes], later: list[bytes]) -> float:
    """Seconds to decode + apply ``later`` (the corpus' next lap) into a state that has
    already taken ``frames``: the steady state of a firehose, where every symbol
    exists and time moves forward, without the one-off cost of creating 2,000 symbols."""
    state = decode_apply_pass(frames)
    return _time(partial(decode_apply_pass, later, state))


def block_pass(frames: list[bytes]) -> None:
    """Decode + the market view's block filter: a whole-market ``T.*`` with no per-symbol state,
    decoded as the app decodes it (the full ``Decoder``: the frames also carry the watchlist's)."""
    from ticktape.market.wholemarket import BlockFilter

    decode = Decoder().decode
    feed = BlockFilter().feed
    for frame in frames:
        feed(decode(frame))


def official_pass(texts: list[str]) -> None:
    """The official client's per-frame path, as in ``WebSocketClient.connect``."""
    from massive.websocket import WebSocketClient, logger, parse

    client = WebSocketClient(api_key="bench", feed="127.0.0.1:1", secure=False)
    loads, market = client.json.loads, client.market
    for cmsg in texts:
        msg_json = loads(cmsg)
        for m in msg_json:
            if m["ev"] == "status":
                logger.debug("status: %s", m["message"])
        client._log_server_statuses(msg_json)
        parse(msg_json, logger, market)
        client._flush_server_errors()


def sweep(counts: tuple[int, ...], events: int, *, rounds: int = 3) -> Result:
    """(b) and (b)/(c) on corpora that differ only in how many symbols they spread over.

    Why: the same code runs at very different speeds by symbol count, because
    with thousands of symbols each one's state is out of the CPU caches by the
    time its next event comes (memory latency, not bytecode). The headline
    figure stays the 2,000-symbol corpus; these say where the targets hold.
    """
    from benchmarks import corpus as corpora

    out: Result = {}
    for count in counts:
        c = corpora.load(events=events, symbols=count)
        b, bb = [], []
        for _ in range(rounds):
            tb = _time(partial(decode_apply_pass, c.frames))
            tc = _time(partial(official_pass, c.texts))
            b.append(c.events / tb)
            bb.append(tc / tb)
        out[f"decode_apply_events_per_s_{count}sym"] = median(b)
        out[f"decode_apply_vs_official_ratio_{count}sym"] = median(bb)
    return out


def run(corpus: Corpus, *, rounds: int = 5, symbol_counts: tuple[int, ...] = ()) -> Result:
    """Events/s of (a), (b), (c) and the ratios (a)/(c), (b)/(c)."""
    require("massive.websocket", "ticktape.market")
    frames, texts, n = corpus.frames, corpus.texts, corpus.events
    # Warm up every path once (imports, caches, condition tables).
    decode_pass(frames[:200])
    block_pass(frames[:200])
    decode_apply_pass(frames[:200])
    official_pass(texts[:200])
    shifter = LapShifter(frames)
    lap1 = [shifter.apply(f, shifter.pairs(1)) for f in frames]
    a, b, c, ab, bb, w, blk = [], [], [], [], [], [], []
    for _ in range(rounds):
        ta = _time(lambda: decode_pass(frames))
        blk.append(n / _time(lambda: block_pass(frames)))
        tb = _time(lambda: decode_apply_pass(frames))
        tc = _time(lambda: official_pass(texts))
        a.append(n / ta)
        b.append(n / tb)
        c.append(n / tc)
        ab.append(tc / ta)
        bb.append(tc / tb)
        w.append(n / warm_apply_pass(frames, lap1))
    return {
        **sweep(symbol_counts, n, rounds=max(1, rounds - 2)),
        "decode_events_per_s": median(a),
        "decode_apply_events_per_s": median(b),
        "official_events_per_s": median(c),
        "decode_vs_official_ratio": median(ab),
        "decode_apply_vs_official_ratio": median(bb),
        "decode_apply_warm_events_per_s": median(w),
        "block_filter_events_per_s": median(blk),
        "decode_corpus_events": n,
        "decode_corpus_frames": len(frames),
        "decode_rounds": rounds,
    }

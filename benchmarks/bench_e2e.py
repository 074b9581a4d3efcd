"""End to end: simulator process → loopback websocket → client → (ticktape) market state.

The simulator runs in its own process and replays the pre-encoded corpus
with :meth:`Simulator.blast`, round and round, so the sender is never the
bottleneck and the figure is what the client can take. Two clients take the
same stream in turn:

* ticktape: :class:`~ticktape.feed.session.Session` → ``MarketState.apply``;
* the official ``massive`` ``WebSocketClient`` with an empty handler that
  only counts events (it does no state update at all).

Time moves forward: each lap of the corpus is shifted later than the one
before (:mod:`benchmarks.laps`, a byte-level replace), so the market state
sees the in-order stream a live feed sends, not laps of late prints.

Lag, and why it is measured this way: the corpus' timestamps are from its
generation, so at send time the sender rewrites the ``t`` of each frame's
first event, when that is a quote (half the frames), to the wall clock in ms
— a fixed-width splice of 13 digits, cheap enough not to slow the sender.
Only quotes carry the stamp because a quote's time orders nothing in the
state (it is shown, not compared); a trade stamped with today's clock would
start a new day for its symbol and turn its next corpus trades into late
prints. Lag is then "delivered to the consumer" minus "handed to the socket"
(same machine, same clock), taken when the consumer gets the frame, for both
clients alike.

"Sustained": a run lasts ``warmup + seconds``; the rate is the events the
client consumed in the last ``seconds``, and the run counts only if the
connection stayed up (one accepted connection on the server, no session state
change, no client exit) and lag p99 stayed under :data:`LAG_LIMIT_MS`. A
flat-out run finds the ceiling but fills every buffer on the way (server
write buffer, both kernel socket buffers, the client's frame queue), so its
lag is mostly queueing: short probes step the paced rate down from there
until one passes, and full-length runs then confirm that rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Final, overload

from benchmarks import Result, Unavailable, median, percentile, ratio, require
from benchmarks.corpus import Corpus
from benchmarks.laps import LapShifter

LAG_LIMIT_MS: Final = 250.0
BACKOFF: Final = 0.85
MAX_TRIES: Final = 2  # full-length runs per round
PROBES: Final = 4  # short runs to find the rate
_STAMP_PREFIX: Final = b'[{"ev":"Q"'
_DIGITS: Final = 13


# -- the sender (child process) -------------------------------------------------------------


def stamp_points(frame: bytes) -> tuple[bytes, bytes] | None:
    """Split a frame around its first event's 13-digit ``t``, if that event is a quote."""
    if not frame.startswith(_STAMP_PREFIX):
        return None
    at = frame.find(b'"t":')
    if at < 0:
        return None
    start = at + 4
    digits = frame[start : start + _DIGITS + 1]
    if len(digits) < _DIGITS + 1 or not digits[:_DIGITS].isdigit() or digits[-1:].isdigit():
        return None
    return frame[:start], frame[start + _DIGITS :]


class LoopedStream(Sequence[bytes]):
    """The corpus, lap after lap (each later in time), stamped at send time, until
    ``seconds`` have passed.

    ``Simulator.blast`` takes a Sequence and only iterates it, so this is a
    Sequence whose iteration is the timed, stamped, optionally paced stream;
    indexing gives the plain frames.
    """

    def __init__(
        self,
        frames: list[bytes],
        seconds: float,
        rate: float | None,
        shifter: LapShifter | None = None,
    ) -> None:
        self._frames = frames
        self._split = [stamp_points(f) for f in frames]
        self._counts = [f.count(b'{"ev":') for f in frames]
        self._shifter = shifter or LapShifter(frames)  # a scan of the corpus: pass one in
        self._seconds = seconds
        self._rate = rate

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        return self._frames[i]

    def __iter__(self) -> Iterator[bytes]:
        start = time.perf_counter()
        deadline = start + self._seconds
        rate, sent, lap = self._rate, 0, 0
        while True:
            frames, splits = self._lap(lap)
            lap += 1
            for frame, split, count in zip(frames, splits, self._counts, strict=True):
                now = time.perf_counter()
                if now >= deadline:
                    return
                if rate is not None:
                    ahead = start + sent / rate - now
                    if ahead > 0.002:
                        # Blocking is fine: this process only sends, the kernel keeps feeding.
                        time.sleep(ahead)
                sent += count
                if split is None:
                    yield frame
                else:
                    yield b"%b%d%b" % (split[0], time.time_ns() // 1_000_000, split[1])

    def _lap(self, lap: int) -> tuple[list[bytes], list[tuple[bytes, bytes] | None]]:
        """The frames and stamp splits of ``lap`` (a few ms of ``bytes.replace``)."""
        pairs = self._shifter.pairs(lap)
        if not pairs:
            return self._frames, self._split
        shift = self._shifter.apply
        frames = [shift(f, pairs) for f in self._frames]
        splits = [
            None if split is None else (shift(split[0], pairs), shift(split[1], pairs))
            for split in self._split
        ]
        return frames, splits


def _server_main(conn: Connection) -> None:
    """Child process: serve, wait for one client, blast, report, repeat until told to stop."""
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    from ticktape.sim.server import Simulator

    frames: list[bytes] = conn.recv()
    shifter = LapShifter(frames)
    async with Simulator(port=0, rate=1.0, ping_interval=None) as sim:
        conn.send(sim.ws_url)
        loop = asyncio.get_running_loop()
        accepted = 0
        while True:
            order = await loop.run_in_executor(None, conn.recv)
            if order is None:
                return
            seconds, rate = order
            while sim.connections < 1:  # noqa: ASYNC110 - the server offers no event for this
                await asyncio.sleep(0.005)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds + 15):
                    await sim.blast(LoopedStream(frames, seconds, rate, shifter))
            while sim.connections:  # noqa: ASYNC110 - let the client go before the next run
                await asyncio.sleep(0.01)
            conn.send({"accepted": sim.stats.accepted - accepted})
            accepted = sim.stats.accepted


# -- the clients (this process) ---------------------------------------------------------------


@dataclass
class Measure:
    """What one client consumed; lags only while ``sampling``."""

    events: int = 0
    sampling: bool = False
    lags: list[float] = field(default_factory=list)
    broke: str = ""  # why the connection did not survive, if it did not
    started: asyncio.Event = field(default_factory=asyncio.Event)  # data came, or it broke


@dataclass(frozen=True)
class RunResult:
    events_per_s: float
    lag_p99_ms: float | None
    ok: bool
    why: str


async def _measure(
    start: Callable[[Measure], Awaitable[Callable[[], Awaitable[None]]]],
    warmup: float,
    seconds: float,
) -> tuple[Measure, float]:
    """Start a client, wait for data, sample events over ``seconds`` after ``warmup``."""
    m = Measure()
    stop = await start(m)
    try:
        async with asyncio.timeout(30):
            await m.started.wait()
        await asyncio.sleep(warmup)
        t1, n1 = time.perf_counter(), m.events
        m.sampling = True
        await asyncio.sleep(seconds)
        t2, n2 = time.perf_counter(), m.events
        m.sampling = False
    finally:
        await stop()
    return m, (n2 - n1) / (t2 - t1)


async def _start_ticktape(url: str, m: Measure) -> Callable[[], Awaitable[None]]:
    from ticktape.feed.events import Quote
    from ticktape.feed.session import ConnState, Session, SessionStatus
    from ticktape.market import MarketState

    state = MarketState()
    apply = state.apply
    lag_type = Quote

    def on_events(events: list, recv_ms: int) -> None:  # type: ignore[type-arg]
        apply(events, recv_ms)
        m.events += len(events)
        m.started.set()
        if m.sampling and type(events[0]) is lag_type:
            m.lags.append(time.time_ns() // 1_000_000 - events[0].timestamp)

    def on_status(st: SessionStatus) -> None:
        if m.events and st.state not in (ConnState.LIVE, ConnState.STOPPED):
            m.broke = m.broke or f"{st.state.value}: {st.reason}"
            m.started.set()

    session = Session(
        f"{url}/stocks", "bench", channels=("T",), on_events=on_events, on_status=on_status
    )
    task = asyncio.create_task(session.run())

    async def stop() -> None:
        await session.stop()
        await task

    return stop


async def _start_official(url: str, m: Measure) -> Callable[[], Awaitable[None]]:
    from massive.websocket import WebSocketClient
    from massive.websocket.models import EquityQuote

    client = WebSocketClient(
        api_key="bench", feed=url.removeprefix("ws://"), secure=False, max_reconnects=0
    )
    lag_type = EquityQuote

    async def handler(msgs: list) -> None:  # type: ignore[type-arg]
        m.events += len(msgs)
        m.started.set()
        if m.sampling and type(msgs[0]) is lag_type:
            m.lags.append(time.time_ns() // 1_000_000 - msgs[0].timestamp)

    task = asyncio.create_task(client.connect(handler))

    def ended(_task: asyncio.Task[None]) -> None:
        m.broke = m.broke or "the client's loop ended"
        m.started.set()

    task.add_done_callback(ended)

    async def stop() -> None:
        m.broke = m.broke or "stopped"  # the done-callback must not count our own stop
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    return stop


STARTERS: Final = {"ticktape": _start_ticktape, "official": _start_official}


class Sender:
    """The simulator process; one per benchmark, one client at a time."""

    def __init__(self, corpus: Corpus) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_server_main, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self._conn.send(corpus.frames)
        if not self._conn.poll(60):
            self.close()
            raise Unavailable("the simulator process did not start")
        self.url: str = self._conn.recv()

    def run(self, client: str, warmup: float, seconds: float, rate: float | None) -> RunResult:
        # The sender stops when the client leaves; its own deadline is only a safety net.
        self._conn.send((warmup + seconds + 30, rate))
        m, eps = asyncio.run(_measure(lambda m: STARTERS[client](self.url, m), warmup, seconds))
        if not self._conn.poll(60):
            raise Unavailable("the simulator process stopped answering")
        accepted = self._conn.recv()["accepted"]
        lag = percentile(m.lags, 99) if m.lags else None
        why = ""
        if accepted != 1:
            why = f"{accepted} connections (reconnected)"
        elif m.broke and m.broke != "stopped":
            why = m.broke
        elif lag is None:
            why = "no lag samples"
        elif lag >= LAG_LIMIT_MS:
            why = f"lag p99 {lag:.0f} ms"
        return RunResult(eps, lag, not why, why)

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(None)
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()


def probe_rate(sender: Sender, client: str, warmup: float, probe: float, tries: int) -> float:
    """Short runs: flat out, then paced at :data:`BACKOFF` of what was consumed, until one
    passes; then once halfway back up to the last rate that failed, so a client's figure
    is within half a step of its ceiling rather than a whole one (the same search for
    both clients keeps their ratio fair). Returns the rate to confirm over the full
    length (the last one tried if none passed).
    """
    result = sender.run(client, warmup, probe, None)
    rate = failed = result.events_per_s
    for _ in range(tries - 1):
        if result.ok:
            break
        failed = result.events_per_s
        rate = failed * BACKOFF
        result = sender.run(client, warmup, probe, rate)
    if result.ok and failed > rate:
        mid = (rate + failed) / 2
        if sender.run(client, warmup, probe, mid).ok:
            return mid
    return rate


def confirm(
    sender: Sender, client: str, warmup: float, seconds: float, rate: float | None, tries: int
) -> RunResult:
    """A full-length run at ``rate`` (None: flat out); on a miss, again at :data:`BACKOFF`
    of what was consumed."""
    result = sender.run(client, warmup, seconds, rate)
    for _ in range(tries - 1):
        if result.ok or result.events_per_s <= 0:
            break
        result = sender.run(client, warmup, seconds, result.events_per_s * BACKOFF)
    return result


def run(
    corpus: Corpus,
    *,
    seconds: float = 30.0,
    warmup: float = 2.0,
    probe: float = 5.0,
    rounds: int = 3,
    probes: int = PROBES,
    max_tries: int = MAX_TRIES,
    budget: float = 420.0,
) -> Result:
    """Highest sustained events/s for ticktape and the official client; their ratio.

    Per client: short probes find a rate (:func:`probe_rate`; ``probes=0``: start
    flat out), then each round
    confirms it over ``seconds`` (:func:`confirm`); a round starts at the rate
    the previous round sustained. Past ``budget`` seconds nothing is retried, so
    ``make bench`` keeps to its time limit on a busy machine (a run that missed
    says so in ``e2e_failures``).
    """
    require("massive.websocket", "ticktape.feed.session", "ticktape.market", "ticktape.sim.server")
    sender = Sender(corpus)
    found: dict[str, list[RunResult]] = {"ticktape": [], "official": []}
    deadline = time.monotonic() + budget
    try:
        rates: dict[str, float | None] = {
            c: probe_rate(sender, c, warmup, probe, probes) if probes else None for c in found
        }
        for _ in range(rounds):
            for client, results in found.items():
                tries = max_tries if time.monotonic() < deadline else 1
                result = confirm(sender, client, warmup, seconds, rates[client], tries)
                results.append(result)
                if result.ok:
                    rates[client] = result.events_per_s
    finally:
        sender.close()
    ours, theirs = found["ticktape"], found["official"]
    ratios = [ratio(a.events_per_s, b.events_per_s) for a, b in zip(ours, theirs, strict=True)]
    ours_eps = median([r.events_per_s for r in ours])
    theirs_eps = median([r.events_per_s for r in theirs])
    lags = [r.lag_p99_ms for r in ours if r.lag_p99_ms is not None]
    their_lags = [r.lag_p99_ms for r in theirs if r.lag_p99_ms is not None]
    failures = "; ".join(f"{r.why}" for r in (*ours, *theirs) if not r.ok)
    return {
        "e2e_events_per_s": ours_eps,
        "official_e2e_events_per_s": theirs_eps,
        "e2e_vs_official_ratio": median([r for r in ratios if r is not None])
        if any(r is not None for r in ratios)
        else None,
        "e2e_lag_p99_ms": median(lags) if lags else None,
        "official_e2e_lag_p99_ms": median(their_lags) if their_lags else None,
        "e2e_seconds": seconds,
        "e2e_rounds": rounds,
        "e2e_all_sustained": int(all(r.ok for r in (*ours, *theirs))),
        "e2e_failures": failures or None,
    }

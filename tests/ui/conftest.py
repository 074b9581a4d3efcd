"""Fixtures for the app's tests: a deterministic market, frozen clock, no network.

The market is built from hand-made wire events (seeded RNG, fixed start time)
pushed through the real ``MarketState.apply`` / ``seed_bars``, so snapshots
depend on neither the wall clock nor the simulator's generator, which other
work may tune.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget

from ticktape.config import Settings
from ticktape.feed.events import Agg, Event, MinuteAgg, Quote, Trade
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.feed.stats import FeedSnapshot
from ticktape.market import Bar, MarketState
from ticktape.ui.app import TicktapeApp

#: Friday 2025-03-14 10:30:00 New York time.
START_MS = 1_741_962_600_000
#: The frozen "now": two minutes of live trading after START_MS.
NOW_MS = START_MS + 120_000
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY")


def build_state(symbols: tuple[str, ...] = SYMBOLS, seed: int = 7) -> MarketState:
    """History (REST-style minute bars) plus two minutes of live quotes and trades."""
    rng = random.Random(seed)
    state = MarketState()
    frames: list[list[Event]] = []
    for symbol in symbols:
        price = rng.uniform(40, 600)
        prev_close = price * (1 + rng.uniform(-0.03, 0.03))
        bars = []
        for i in range(240, 0, -1):
            o = price
            c = max(1.0, o * (1 + rng.gauss(0, 0.002)))
            h, lo = max(o, c) * (1 + rng.random() * 0.001), min(o, c) * (1 - rng.random() * 0.001)
            v = rng.randint(2_000, 40_000)
            bars.append(
                Agg(open=o, high=h, low=lo, close=c, volume=v, timestamp=START_MS - i * 60_000)
            )
            price = c
        state.seed_bars(symbol, [Bar.from_agg(a) for a in bars], prev_close=prev_close)
        t = START_MS
        for _ in range(40):
            t += rng.randint(500, 5_500)
            mid = price * (1 + rng.gauss(0, 0.0008))
            bid, ask = round(mid - 0.01, 2), round(mid + 0.01, 2)
            q = Quote(
                symbol=symbol,
                bid=bid,
                ask=ask,
                bid_size=rng.randint(1, 9),
                ask_size=rng.randint(1, 9),
                timestamp=t,
            )
            size = rng.choice((5, 50, 100, 100, 200, 300, 1_000, 12_000))
            px = rng.choice((bid, ask, round(mid, 2)))
            tr = Trade(
                symbol=symbol, price=px, size=size, timestamp=t + 3, exchange=rng.randint(1, 20)
            )
            frames.append([q, tr])
            price = mid
        frames.append(
            [
                MinuteAgg(
                    symbol=symbol,
                    open=price,
                    high=price * 1.001,
                    low=price * 0.999,
                    close=price,
                    volume=9_000,
                    start=START_MS,
                    end=START_MS + 60_000,
                )
            ]
        )
    frames.sort(key=lambda f: f[0].time_ms)
    for frame in frames:
        state.apply(frame, min(NOW_MS, frame[0].time_ms + 5))
    return state


class Host(App[None]):
    """One widget alone in an app, fed by the test (no market, no feed, no main screen)."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


LIVE = SessionStatus(ConnState.LIVE, "subscribed", since_ms=START_MS)
STATS = FeedSnapshot(
    events_per_s=1234.0,
    frames_per_s=48.0,
    lag_p50_ms=4.0,
    lag_p99_ms=12.0,
    apply_ms_p99=0.4,
    busy=0.05,
    warning=False,
    warning_reason="",
    decode_errors=0,
    reconnects=0,
)


@pytest.fixture(autouse=True)
def _not_over_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run over SSH, the app offers the low-bandwidth profile in a toast: tests (and their
    snapshots) must not depend on how the developer reached the machine."""
    for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(config_path=tmp_path / "config.toml", watchlist=SYMBOLS, theme="ticktape-dark")


@pytest.fixture(scope="session")
def market() -> MarketState:
    """Built once: tests that change the list do not change this state."""
    return build_state()


MakeApp = Callable[..., TicktapeApp]


@pytest.fixture
def make_app(settings: Settings, market: MarketState) -> MakeApp:
    """An app on the fixed market with a frozen clock and no connection."""

    def make(**overrides: object) -> TicktapeApp:
        app_settings = overrides.pop("settings", settings)
        kwargs: dict[str, object] = {
            "state": market,
            "connect": False,
            "clock": lambda: NOW_MS,
            "status": LIVE,
            "stats": STATS,
            "feed_label": "SIMULATED",
        }
        kwargs.update(overrides)
        return TicktapeApp(app_settings, **kwargs)  # type: ignore[arg-type]

    return make


async def until(
    pilot: Pilot[object],
    cond: Callable[[], bool],
    within: float = 10.0,
    seen: Callable[[], object] | None = None,
) -> None:
    """Wait for ``cond`` while letting the app run; fail after ``within`` seconds, saying
    what ``seen`` returns then (what the screen showed instead), if given."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            shown = "" if seen is None else f"; saw {seen()!r}"
            raise AssertionError(f"condition not met in time{shown}")
        await pilot.pause(0.02)


def is_live(app: TicktapeApp) -> bool:
    """The app's feed says it is live (subscribed, data flowing)."""
    return app.feed.status is not None and app.feed.status.state is ConnState.LIVE

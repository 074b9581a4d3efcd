"""What the status bar and toasts say when nothing is wrong with the feed, or the same thing is."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ticktape.feed.rest import RetryWait
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.ui.statusbar import EMPTY_WATCHLIST

from .conftest import NOW_MS, STATS, SYMBOLS, MakeApp, until
from .test_keys import SIZE


async def test_an_empty_watchlist_says_so_not_no_data(make_app: MakeApp) -> None:
    """With every symbol removed nothing is subscribed: silence is expected, not a fault."""
    app = make_app(stats=replace(STATS, silent_s=6.0))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["d"] * len(SYMBOLS))
        await until(pilot, lambda: not app.main.watchlist.symbols)
        await until(pilot, lambda: EMPTY_WATCHLIST in app.main.status.plain)
        assert "no data" not in app.main.status.plain
        await pilot.press("a", "I", "B", "M", "enter")  # back to normal once there is a symbol
        await until(pilot, lambda: "no data for 6 s" in app.main.status.plain)


@pytest.mark.parametrize("state", [ConnState.OFFLINE, ConnState.KICKED])
async def test_a_state_that_repeats_each_retry_is_toasted_once(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, state: ConnState
) -> None:
    """Each retry goes connecting → offline again with a new countdown: one toast, not one
    per retry (five covered the chart in eight seconds); again only after being live."""
    app = make_app()
    toasts: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda text, **_: toasts.append(text))
        for attempt in range(1, 6):
            app.feed.apply_status(SessionStatus(ConnState.CONNECTING, "retry", attempt=attempt))
            app.feed.apply_status(
                SessionStatus(state, "cannot reach h", attempt, 2.0 * attempt, since_ms=NOW_MS)
            )
        await until(pilot, lambda: "retrying in 10 s" in app.main.status.plain)
        assert len(toasts) == 1, toasts
        app.feed.apply_status(SessionStatus(ConnState.LIVE, "subscribed"))
        app.feed.apply_status(SessionStatus(state, "cannot reach h", 1, 1.0, since_ms=NOW_MS))
        assert len(toasts) == 2, toasts  # live in between: the next loss is news again


async def test_rest_retries_toast_once_per_reason(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each retry's countdown differs ("retrying in 2 s", "… 4 s"): still one toast."""
    app = make_app()
    toasts: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda text, **_: toasts.append(text))
        for seconds in (1.0, 2.0, 4.0):
            app.feed.rest_wait(RetryWait("connection", seconds, 1))
        await until(pilot, lambda: "retrying in 4 s" in app.main.status.plain)
        assert toasts == ["cannot reach the data server — retrying in 1 s"]

"""Minutes missed while the feed was down come back from REST when it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ticktape.feed.events import Agg
from ticktape.feed.session import ConnState, SessionStatus

from .conftest import NOW_MS, MakeApp, build_state, is_live, until

MINUTE = 60_000


class FakeRest:
    """Answers a minute-bar request with one bar (volume 777) per minute it asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, int]] = []

    async def iter_aggs(
        self, ticker: str, multiplier: int, timespan: str, start: int, end: int
    ) -> AsyncIterator[Agg]:
        self.calls.append((ticker, timespan, start, end))
        for t in range(start, end, MINUTE):
            yield Agg(50.0, 50.5, 49.5, 50.0, 777, t)

    async def aclose(self) -> None:
        """The app closes its REST client on the way out."""


async def test_the_minutes_an_outage_cost_are_fetched_when_the_feed_returns(
    make_app: MakeApp,
) -> None:
    clock = [NOW_MS]
    # Starting up, as the app is before its first connection, on a market whose minutes
    # end at NOW_MS: its own copy, since the backfill changes it and the shared one is
    # drawn by the snapshot tests.
    app = make_app(
        clock=lambda: clock[0],
        state=build_state(),
        status=SessionStatus(ConnState.CONNECTING, "starting the feed"),
    )
    async with app.run_test(size=(120, 36)) as pilot:
        rest = app.feed.rest = FakeRest()  # type: ignore[assignment]
        app.feed.session_status(SessionStatus(ConnState.LIVE, "subscribed"))
        await until(pilot, lambda: is_live(app))
        await app.workers.wait_for_complete()  # a backfill, had one started, is done now
        assert rest.calls == []  # the first connection is no outage: nothing to fill

        def minutes() -> set[int]:
            return {b.start_ms for b in app.state.bars("AAPL", "1m")}

        assert not minutes() & {NOW_MS + k * MINUTE for k in (1, 2, 3)}
        app.feed.session_status(SessionStatus(ConnState.RECONNECTING, "lost", attempt=1))
        await pilot.pause()
        clock[0] = NOW_MS + 4 * MINUTE + 30_000  # four and a half minutes away
        app.feed.session_status(SessionStatus(ConnState.CONNECTING, "", attempt=1))
        app.feed.session_status(SessionStatus(ConnState.LIVE, "subscribed"))
        watched = app.main.watchlist.symbols
        await until(pilot, lambda: len(rest.calls) == len(watched))
        since = NOW_MS - MINUTE  # from the whole minute before the loss, to now
        assert {(c[1], c[2], c[3]) for c in rest.calls} == {("minute", since, clock[0])}
        # the minutes nobody sent while we were away are on the chart
        await until(pilot, lambda: {NOW_MS + k * MINUTE for k in (1, 2, 3)} <= minutes())

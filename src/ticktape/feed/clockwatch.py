"""Keeps a :class:`~ticktape.feed.marketstatus.MarketClock` fed from REST, and words its phase.

Falls back on the calendar when REST fails; no Textual. See docs/market-clock.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from ticktape.feed.marketstatus import MarketClock, MarketDay, MarketStatusNow
from ticktape.markethours import Reading, describe

#: The gentle interval between two status requests (the free plan allows 5 requests a minute).
POLL_MS: Final = 5 * 60_000
#: The upcoming holidays change rarely: asked for again this often.
UPCOMING_MS: Final = 6 * 3_600_000
#: Asked this long after a boundary, so the server has certainly turned the page.
BOUNDARY_LAG_MS: Final = 2_000
#: A failed request is retried sooner than the gentle interval, but never in a tight loop.
RETRY_MS: Final = 60_000


class StatusSource(Protocol):
    """What the watch needs of a REST client (``RestClient`` has both)."""

    async def market_status(self) -> MarketStatusNow: ...
    async def upcoming_market_days(self) -> list[MarketDay]: ...


@dataclass(frozen=True, slots=True)
class PhaseLine:
    """What the status bar says about the market, and whether silence is to be expected."""

    text: str
    closed: bool


class ClockWatch:
    """The market's phase for the status bar, from the server while it answers.

    Args:
        cluster: "stocks", "forex" or "crypto".
        source: the REST client; None means the calendar alone (no network).
        clock: Unix ms now (injected by tests).
        simulated: the feed is the simulator, which may run a session the real clock has not
            (its status then says so: "open session").
    """

    def __init__(
        self,
        cluster: str,
        source: StatusSource | None,
        *,
        clock: Callable[[], int],
        simulated: bool = False,
        poll_ms: int = POLL_MS,
    ) -> None:
        self.clock = MarketClock(cluster)
        #: Every cluster's clock, fed by the same requests (the status answers for all).
        self.clocks: dict[str, MarketClock] = {cluster: self.clock}
        self.source = source
        self._now = clock
        self._simulated = simulated
        self._poll_ms = poll_ms
        self._upcoming_at: int | None = None
        #: Why the last request failed (None after a good answer): for diagnostics.
        self.last_error: str | None = None
        self.polls = 0

    def reading(self, now_ms: int | None = None) -> Reading:
        return self.clock.reading(self._now() if now_ms is None else now_ms)

    def clock_for(self, cluster: str) -> MarketClock:
        """``cluster``'s clock (a mixed watchlist's other markets), made on first use."""
        clock = self.clocks.get(cluster)
        if clock is None:
            clock = self.clocks[cluster] = MarketClock(cluster)
            clock.calendar = self.clock.calendar  # the holidays already fetched
        return clock

    def line(self, now_ms: int | None = None, cluster: str | None = None) -> PhaseLine:
        """``open · closes in 2h05m``; ``open session`` where the simulator runs one off-hours.
        ``cluster``: another market's phase than the watch's own."""
        now = self._now() if now_ms is None else now_ms
        clock = self.clock if cluster is None else self.clock_for(cluster)
        r = clock.reading(now)
        text = describe(r, now)
        if self._simulated and r.next_ms is None and r.cluster != "crypto":
            text = f"{r.phase} session"
        return PhaseLine(text, r.phase == "closed")

    async def poll_once(self) -> bool:
        """Ask the server (and, when due, for the holidays); False if it could not answer."""
        if self.source is None:
            return False
        self.polls += 1
        now = self._now()
        upcoming: list[MarketDay] | None = None
        try:
            status = await self.source.market_status()
            if self._upcoming_at is None or now - self._upcoming_at >= UPCOMING_MS:
                upcoming = await self.source.upcoming_market_days()
                self._upcoming_at = now
        except Exception as err:  # any failure: the calendar speaks until the next answer
            self.last_error = str(err) or type(err).__name__
            return False
        self.last_error = None
        for clock in self.clocks.values():
            clock.server_said(status, upcoming, now)
        return True

    def next_poll_ms(self, now_ms: int, ok: bool = True) -> int:
        """When to ask next: the gentle interval, or just after the coming boundary if sooner."""
        wait = self._poll_ms if ok else min(self._poll_ms, RETRY_MS)
        due = now_ms + wait
        boundary = self.clock.reading(now_ms).next_ms
        if boundary is not None and boundary > now_ms:
            due = min(due, boundary + BOUNDARY_LAG_MS)
        return due

    async def run(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Poll forever (cancel to stop)."""
        while True:
            ok = await self.poll_once()
            now = self._now()
            await sleep(max(1.0, (self.next_poll_ms(now, ok) - now) / 1000))

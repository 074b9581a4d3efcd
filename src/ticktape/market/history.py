"""History from REST for watched symbols: minute seeds, daily bars, the minutes an outage cost.

No Textual and no sockets of its own: the app and ``ticktape alerts`` drive it with their clock
and REST client. See docs/architecture.md (history from REST).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Final, Protocol

from ticktape.feed.clusters import cluster_of, rest_ticker
from ticktape.feed.conditions import regular_close
from ticktape.feed.events import Agg
from ticktape.market.bars import MINUTE_MS, Bar, day_bounds
from ticktape.market.state import MarketState
from ticktape.timeutil import EXCHANGE_TZ, ms_to_zone

#: History loaded for a new symbol: enough minute bars for a few trading days.
SEED_DAYS: Final = 5
#: Calendar days of daily bars loaded after the minutes: over a year of "1D" candles.
DAILY_DAYS: Final = 400
DAY_MS: Final = 86_400_000


class AggSource(Protocol):
    """What history needs of a REST client (``feed.rest.RestClient`` is one)."""

    def iter_aggs(
        self, ticker: str, multiplier: int, timespan: str, from_: int | date, to: int | date
    ) -> AsyncIterator[Agg]: ...


def daily_window(now_ms: int) -> tuple[date, date]:
    """The daily bars to load: :data:`DAILY_DAYS` New York dates up to yesterday.

    Today's daily bar is never drawn (the minutes draw the days they cover), and a window
    that moves only at midnight is the same request from every app all day, which a hub
    answers from its cache of finished history: a restart costs no daily request.
    """
    today = ms_to_zone(now_ms, EXCHANGE_TZ).date()
    return today - timedelta(days=DAILY_DAYS), today - timedelta(days=1)


def previous_close(bars: list[Bar], now_ms: int, market: str = "stocks") -> float | None:
    """The previous session's close, from the minute bars already fetched.

    A daily-bars request would be exact but doubles the REST calls (the free plan allows five
    a minute). Stocks: the regular-session close of the newest earlier day that has one, by the
    rule of ``feed.conditions.regular_close`` (never the after-hours drift); forex and crypto:
    the last bar before midnight UTC.
    """
    if market != "stocks":
        day_start = now_ms - now_ms % DAY_MS
        before = [b for b in bars if b.start_ms < day_start]
        return before[-1].close if before else None
    today = day_bounds(now_ms)[0]
    return regular_close((b.start_ms, b.close) for b in reversed(bars) if b.start_ms < today)


def _is_auth_error(err: Exception) -> bool:
    from ticktape.feed.rest import AuthError  # httpx stays unloaded until REST is in use

    return isinstance(err, AuthError)


class History:
    """Loads each watched symbol's history once, the selected one first, and fills outages.

    Args:
        state: the market state the bars go into.
        market: the default market (each symbol's own cluster decides its ticker and how its
            previous close is read: a watchlist may mix markets).
        clock: Unix ms now; every request and stamp uses it.
        watched: the symbols watched now (bars for a symbol dropped meanwhile are discarded).
        rest: the REST client once it is open, else None (requests wait for it).
        on_error: told of each failed request with the symbol (or "SYMBOL daily").
    """

    def __init__(
        self,
        state: MarketState,
        market: str,
        *,
        clock: Callable[[], int],
        watched: Callable[[], tuple[str, ...]],
        rest: Callable[[], AggSource | None],
        on_error: Callable[[Exception, str], None],
    ) -> None:
        self.state = state
        self.market = market
        self.clock = clock
        self.watched = watched
        self.on_error = on_error
        self.rest = rest
        self.queue: list[str] = []
        self.seeded: set[str] = set()
        self.seeding: str | None = None

    def is_loading(self, symbol: str | None) -> bool:
        """True while ``symbol``'s minute history is queued or on its way."""
        return symbol is not None and (symbol == self.seeding or symbol in self.queue)

    def want(self, symbols: tuple[str, ...], first: str | None = None) -> bool:
        """Queue the symbols never loaded (``first`` ahead of the rest); True if work waits."""
        self.queue = [s for s in self.queue if s in symbols]
        for symbol in symbols:
            if symbol not in self.seeded and symbol not in self.queue and symbol != self.seeding:
                self.queue.append(symbol)
        self.prioritize(first)
        return bool(self.queue)

    def prioritize(self, symbol: str | None) -> None:
        """The symbol the user looks at loads next."""
        if symbol in self.queue:
            self.queue.remove(symbol)
            self.queue.insert(0, symbol)

    async def run(self) -> None:
        """Load every queued symbol: its minutes, then its daily bars."""
        while self.queue and self.rest() is not None:
            symbol = self.seeding = self.queue.pop(0)
            minutes_ok = False
            try:
                await self.seed_minutes(symbol)
                minutes_ok = True
            except Exception as err:  # one symbol's failure must not stop the others
                self.on_error(err, symbol)
                if _is_auth_error(err):  # every other request would fail the same way
                    self.queue.clear()
            finally:
                self.seeded.add(symbol)
                self.seeding = None
            if minutes_ok:  # the chart is no longer "loading": the minutes are in
                await self._seed_daily(symbol)

    def backfill_since(self, lost_ms: int) -> int:
        """Where a backfill for an outage that began at ``lost_ms`` starts: the minute before."""
        return lost_ms - lost_ms % MINUTE_MS - MINUTE_MS

    async def backfill(self, symbols: tuple[str, ...], since: int) -> None:
        """The minutes since ``since`` for ``symbols``: trades sent while away never come again,
        so without this the chart would close the gap silently. Seeded minutes merge like any
        seed: official bars replace what trades built; the minute forming live keeps forming."""
        now = self.clock()
        for symbol in symbols:
            try:
                bars = await self.minutes(symbol, since, now)
            except Exception as err:  # one symbol's failure must not stop the others
                self.on_error(err, symbol)
                if _is_auth_error(err):
                    return
                continue
            if symbol in self.watched():
                self.state.seed_bars(symbol, bars)

    def _client(self) -> AggSource:
        rest = self.rest()
        if rest is None:
            raise RuntimeError("REST is not open yet")
        return rest

    async def minutes(self, symbol: str, start: int, end: int) -> list[Bar]:
        """REST minute bars of ``symbol`` from ``start`` to ``end``."""
        ticker = rest_ticker(symbol)
        aggs = self._client().iter_aggs(ticker, 1, "minute", start, end)
        return [Bar.from_agg(a) async for a in aggs]

    async def seed_minutes(self, symbol: str) -> None:
        """The last :data:`SEED_DAYS` days of minutes and the previous close."""
        now = self.clock()
        bars = await self.minutes(symbol, now - SEED_DAYS * DAY_MS, now)
        if symbol in self.watched():
            prev = previous_close(bars, now, cluster_of(symbol))
            self.state.seed_bars(symbol, bars, prev_close=prev)

    async def _seed_daily(self, symbol: str) -> None:
        """Daily bars for the "1D" chart; a failure costs only the older candles (a notice)."""
        now = self.clock()
        ticker = rest_ticker(symbol)
        try:
            aggs = self._client().iter_aggs(ticker, 1, "day", *daily_window(now))
            bars = [a async for a in aggs]
        except Exception as err:
            self.on_error(err, f"{symbol} daily")
            return
        if symbol in self.watched():
            self.state.seed_daily(symbol, bars)

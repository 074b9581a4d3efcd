"""The market-status REST bodies, and the clock that prefers the server's word to the calendar.

``/v1/marketstatus/now`` and ``/v1/marketstatus/upcoming``; see docs/market-clock.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

import msgspec
from msgspec import field

from ticktape import markethours
from ticktape.markethours import Phase, Reading, StockCalendar

#: How long the server's phase is believed without a fresh answer, unless a boundary passes.
FRESH_MS: Final = 10 * 60_000


class MarketStatusNow(msgspec.Struct, omit_defaults=True):
    """``GET /v1/marketstatus/now``: the phase of the market, the exchanges and currencies."""

    market: str = ""  # "open", "extended-hours" or "closed"
    early_hours: bool = field(name="earlyHours", default=False)
    after_hours: bool = field(name="afterHours", default=False)
    server_time: str = field(name="serverTime", default="")
    exchanges: dict[str, str] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)


class MarketDay(msgspec.Struct, omit_defaults=True):
    """One element of ``GET /v1/marketstatus/upcoming``: a closure or an early close."""

    date: str
    name: str = ""
    status: str = ""  # "closed" or "early-close"
    exchange: str = ""
    open: str | None = None
    close: str | None = None


now_decoder: Final = msgspec.json.Decoder(MarketStatusNow)
upcoming_decoder: Final = msgspec.json.Decoder(list[MarketDay])


def phase_of(status: MarketStatusNow, cluster: str) -> Phase | None:
    """The server's phase for ``cluster``, or None where the body does not say."""
    if cluster == "stocks":
        if status.market == "open":
            return "open"
        if status.market == "extended-hours":
            return "after-hours" if status.after_hours else "pre-market"
        return "closed" if status.market == "closed" else None
    word = status.currencies.get("fx" if cluster == "forex" else "crypto")
    if word in ("open", "closed"):
        return "open" if word == "open" else "closed"
    return None


def _iso_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def calendar_from(days: list[MarketDay]) -> StockCalendar:
    """A calendar corrected by the NYSE (or, lacking it, any exchange's) entries of the list."""
    entries: list[tuple[date, str, str, int | None]] = []
    for day in sorted(days, key=lambda d: d.exchange.upper() != "NYSE"):
        try:
            d = date.fromisoformat(day.date)
        except ValueError:
            continue  # one unreadable entry never costs the others
        if all(e[0] != d for e in entries):
            entries.append((d, day.name, day.status, _iso_ms(day.close)))
    return StockCalendar(markethours.overrides_from(entries))


class MarketClock:
    """One market's phase: the server's answer while fresh, else the local calendar.

    Args:
        cluster: "stocks", "forex" or "crypto".
        fresh_ms: how long a server answer is believed when nothing else has changed.
    """

    def __init__(self, cluster: str, *, fresh_ms: int = FRESH_MS) -> None:
        self.cluster = cluster
        self.fresh_ms = fresh_ms
        self.calendar = StockCalendar()
        self._said: tuple[Phase, int] | None = None

    def server_said(
        self, now: MarketStatusNow | None, upcoming: list[MarketDay] | None, at_ms: int
    ) -> None:
        """Take the server's answers (either may be None when its request failed)."""
        if upcoming is not None:
            self.calendar = calendar_from(upcoming)
        if now is not None:
            phase = phase_of(now, self.cluster)
            self._said = None if phase is None else (phase, at_ms)

    @property
    def from_server(self) -> bool:
        """True when the last reading came from the server's word, not the calendar."""
        return self._said is not None

    def reading(self, ms: int) -> Reading:
        """The phase at ``ms``; a server phase that contradicts the calendar wins while fresh."""
        local = markethours.reading(self.cluster, ms, self.calendar)
        if self._said is None:
            return local
        phase, at = self._said
        then = markethours.reading(self.cluster, at, self.calendar)
        boundary_passed = then.next_ms is not None and then.next_ms <= ms
        if ms - at > self.fresh_ms or boundary_passed or ms < at:
            self._said = None
            return local
        if phase == local.phase:
            return local
        reason = "said by the server" if phase == "closed" else None
        return Reading(self.cluster, phase, None, None, reason, None, local.hours)

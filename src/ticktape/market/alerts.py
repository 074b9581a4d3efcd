"""Alerts: what each kind measures, when it fires and re-arms, and the phrases that make one.

Pure (no I/O, no Textual): the app and ``ticktape alerts`` both feed it the
symbols that changed in a frame and deliver what it returns. See docs/alerts.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from ticktape.market.bars import MINUTE_MS, cached_day_bounds
from ticktape.market.state import MarketState
from ticktape.market.symbol import SymbolState

#: Every kind, in the order the help text names them.
KINDS: Final = ("above", "below", "move", "volume", "spread", "halt", "stale")
#: The ``symbol`` of an alert on every watchlist symbol (typed as "watchlist").
WATCHLIST: Final = "*"
#: Default re-arm band, as a fraction of the level: price levels re-arm 0.2 % back,
#: the others once the measure is a fifth below its level (5 % move → under 4 %).
PRICE_BAND: Final = 0.002
OTHER_BAND: Final = 0.2
#: Spreads move in whole ticks between a tick and a few: a spread alert re-arms only once
#: the spread is back under half its level, or it would flap between two ticks.
SPREAD_BAND: Final = 0.5
#: Minutes of a regular stock session (the daily-bar fallback spreads a day's volume over it).
SESSION_MIN: Final = 390
_SYMBOL: Final = re.compile(r"[A-Z0-9][A-Z0-9.:/^=+_-]{0,31}")
_SUFFIX: Final = {"k": 1e3, "m": 1e6, "b": 1e9}


class AlertError(ValueError):
    """A phrase or stored alert that cannot be an alert; the message says what and where."""


@dataclass(slots=True)
class Alert:
    """One alert. ``fired`` holds the symbols it fired for and that have not re-armed.

    ``value`` is the level in the kind's unit: a price (above/below), percent (move),
    shares or a multiple of the usual volume (volume, ``unit == "x"``), a spread in
    price or percent of the mid (spread, ``unit == "%"``), seconds (stale).
    """

    id: str
    symbol: str
    kind: str
    value: float = 0.0
    unit: str = ""
    direction: int = 0  # move only: +1 up only, -1 down only, 0 either way
    ref: float | None = None  # move only: the reference price (None: previous close)
    hysteresis: float | None = None  # re-arm band in the measure's unit (None: default)
    note: str = ""
    fired: set[str] = field(default_factory=set)
    snoozed_until_ms: int = 0

    @property
    def band(self) -> float:
        """How far the measure must come back below the level before the alert re-arms."""
        if self.hysteresis is not None:
            return self.hysteresis
        if self.kind in ("above", "below"):
            return abs(self.value) * PRICE_BAND
        if self.kind == "halt":
            return 0.5  # the measure is 0 or 1: the resumption re-arms it
        if self.kind == "stale":
            return max(0.0, self.value - 1.0)  # any fresh update re-arms it
        if self.kind == "spread":
            return abs(self.value) * SPREAD_BAND
        return abs(self.value) * OTHER_BAND

    @property
    def on_watchlist(self) -> bool:
        return self.symbol == WATCHLIST

    def condition(self) -> str:
        """The condition as a phrase (``above 230``, ``move +5% from 250``, ``stale 30s``)."""
        v = _num(self.value)
        if self.kind in ("above", "below", "spread"):
            return f"{self.kind} {v}{self.unit}"
        if self.kind == "move":
            sign = "+" if self.direction > 0 else "-" if self.direction < 0 else ""
            ref = f" from {_num(self.ref)}" if self.ref is not None else ""
            return f"move {sign}{v}%{ref}"
        if self.kind == "volume":
            return f"volume {v}x" if self.unit == "x" else f"volume {v}"
        if self.kind == "stale":
            return f"stale {v}s"
        return self.kind

    def phrase(self) -> str:
        """What a user would type to make this alert (``alert AAPL above 230``)."""
        who = "watchlist" if self.on_watchlist else self.symbol
        return f"alert {who} {self.condition()}"

    def state(self, now_ms: int) -> str:
        """``armed``, ``fired`` or ``snoozed`` (a watchlist alert: fired if any symbol is)."""
        if self.snoozed_until_ms > now_ms:
            return "snoozed"
        return "fired" if self.fired else "armed"


@dataclass(frozen=True, slots=True)
class Fired:
    """An alert that fired (or, for halt, saw the resumption) for one symbol."""

    alert_id: str
    symbol: str
    kind: str
    event: str  # "fired", or "resumed" for a halt alert
    at_ms: int
    price: float | None
    measure: float
    text: str  # one line for the tape, the toast and the log


def _num(value: float | None) -> str:
    """A number as typed: no trailing zeros, no exponent for prices."""
    if value is None:
        return ""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


# -- measures ----------------------------------------------------------------------------------


class VolumeProfile:
    """The usual day's volume up to a time of day, per symbol, from history in the state.

    From the minute bars of earlier days when there are some (their cumulative volume
    up to the same minute, averaged); else from daily bars spread evenly over the
    session. Cached per symbol for a minute: the history does not change faster.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, float | None]] = {}

    def usual(self, state: MarketState, s: SymbolState, now_ms: int) -> float | None:
        minute = now_ms // MINUTE_MS
        got = self._cache.get(s.symbol)
        if got is not None and got[0] == minute:
            return got[1]
        value = self._compute(state, s, now_ms)
        self._cache[s.symbol] = (minute, value)
        return value

    @staticmethod
    def _compute(state: MarketState, s: SymbolState, now_ms: int) -> float | None:
        start, _ = cached_day_bounds(now_ms)
        elapsed = now_ms - start
        totals = []
        day_end = start
        for _ in range(10):  # the seeded minutes reach back about a week
            day_start, _ = cached_day_bounds(day_end - 1)
            bars = s.minutes.between(day_start, day_start + elapsed)
            if bars:
                totals.append(sum(b.volume for b in bars))
            day_end = day_start
        if totals:
            return sum(totals) / len(totals)
        days = [b for b in state.bars(s.symbol, "1D") if b.start_ms < start][-20:]
        if not days:
            return None
        open_min = (elapsed // MINUTE_MS) - (9 * 60 + 30)
        share = min(1.0, max(1.0, open_min) / SESSION_MIN)
        return sum(b.volume for b in days) / len(days) * share


Measure = Callable[[Alert, SymbolState, int], float | None]
#: (alert, its measure, the level it fires at, the level it re-arms below)
_Check = tuple[Alert, Measure, float, float]
_MARGIN: Final = 1e-9  # windows stop this far (relatively) short of a level: rounding safe
_VOID: Final = (math.inf, -math.inf)  # a window nothing is inside: check every time


def _lane_of(alert: Alert) -> str | None:
    """The one input an alert's state depends on, if there is one (else it is checked
    every time: it also reads the mid, the usual volume, the halt flag or the clock)."""
    if alert.kind in ("above", "below", "move"):
        return "price"
    if alert.kind == "spread" and alert.unit != "%":
        return "spread"
    if alert.kind == "volume" and alert.unit != "x":
        return "volume"
    return None


def _edges(alert: Alert, fired: bool, s: SymbolState) -> list[float]:
    """The values of the lane's input at which ``alert`` would change state for ``s``."""
    v, b, kind = alert.value, alert.band, alert.kind
    if kind == "below":
        return [v + b if fired else v]
    if kind != "move":
        return [v - b if fired else v]
    ref = alert.ref if alert.ref is not None else s.prev_close
    if not ref:
        return []  # no base: cannot fire until a previous close comes (the group watches it)
    x = (v - b if fired else v) / 100.0
    if alert.direction > 0:
        return [ref * (1 + x)]
    if alert.direction < 0:
        return [ref * (1 - x)]
    return [ref * (1 + x), ref * (1 - x)]


def _window(checks: list[_Check], s: SymbolState, raw: float) -> tuple[float, float]:
    """``[lo, hi)``: the input's values around ``raw`` where no alert of ``checks`` can fire
    or re-arm, a little short of each level so rounding can never skip one."""
    if raw != raw:  # no value yet
        return _VOID
    lo, hi = -math.inf, math.inf
    sym = s.symbol
    for alert, _, _, _ in checks:
        for edge in _edges(alert, sym in alert.fired, s):
            if edge < raw:
                lo = max(lo, edge)
            elif edge > raw:
                hi = min(hi, edge)
            else:
                return _VOID  # on a level
    if math.isfinite(lo):
        lo += abs(lo) * _MARGIN + 1e-12
    if math.isfinite(hi):
        hi -= abs(hi) * _MARGIN + 1e-12
    return lo, hi


class _Group:
    """One symbol's alerts, split by the one input each depends on (its lane: last price,
    spread, day volume) and the rest, with each lane's window (see :func:`_window`).

    A frame costs one compare per lane while the input stays inside its window, however
    many alerts the lane holds: the per-frame work is per symbol, not per alert. The
    windows are void at first, once a snooze ends (``until``) and when the previous
    close (``prev``, the base of move alerts) changes.
    """

    __slots__ = (
        "phi",
        "plo",
        "prev",
        "price",
        "rest",
        "s",
        "shi",
        "slo",
        "spread",
        "until",
        "vhi",
        "vlo",
        "volume",
    )  # fmt: skip

    def __init__(self) -> None:
        self.s: SymbolState | None = None
        self.price: list[_Check] = []
        self.spread: list[_Check] = []
        self.volume: list[_Check] = []
        self.rest: list[_Check] = []
        self.plo, self.phi = _VOID
        self.slo, self.shi = _VOID
        self.vlo, self.vhi = _VOID
        self.until = -1
        self.prev: float | None = None

    def add(self, alert: Alert, measure: Measure) -> None:
        check = (alert, measure, alert.value, alert.value - alert.band)
        lane = _lane_of(alert)
        {"price": self.price, "spread": self.spread, "volume": self.volume}.get(
            lane or "", self.rest
        ).append(check)

    def settle(self, s: SymbolState, now_ms: int) -> None:
        """Every lane's window, after its alerts ran."""
        self.plo, self.phi = _window(self.price, s, s.last_price)
        self.slo, self.shi = _window(self.spread, s, s.ask_px - s.bid_px)
        self.vlo, self.vhi = _window(self.volume, s, s.volume) if self.volume else _VOID
        snoozes = [a.snoozed_until_ms for a, _, _, _ in self.price + self.spread + self.volume]
        self.until = min([t for t in snoozes if t > now_ms], default=2**62)
        self.prev = s.prev_close


class AlertBook:
    """The alerts and their state; ``check`` runs them for the symbols a frame changed.

    ``is_open(now_ms)`` says whether the market is open (only then can a quote be
    stale). The index by symbol keeps a frame's check proportional to what changed.
    """

    def __init__(
        self,
        alerts: Iterable[Alert] = (),
        *,
        state: MarketState | None = None,
        watchlist: Iterable[str] = (),
        is_open: Callable[[int], bool] = lambda ms: True,
    ) -> None:
        self.alerts: list[Alert] = list(alerts)
        self.state = state if state is not None else MarketState()
        self.is_open = is_open
        self.watchlist: frozenset[str] = frozenset(watchlist)
        self.profile = VolumeProfile()
        #: Ids not to hand out: the config file's alerts that could not be read are kept there.
        self.reserved: set[str] = set()
        #: Set when an alert fires or re-arms (its state is worth saving); the owner clears it.
        self.dirty = False
        self._groups: dict[str, _Group] = {}
        self._stale: list[Alert] = []
        self._measures: dict[str, Measure] = {
            "above": self._price,
            "below": self._below,
            "move": self._move,
            "volume": self._volume,
            "spread": self._spread,
            "halt": self._halt,
            "stale": self._age,
        }
        self._index()

    # -- editing ---------------------------------------------------------------------------

    def _index(self) -> None:
        """Group the alerts by symbol into lanes (see :class:`_Lane`); called on every edit."""
        groups: dict[str, _Group] = {}
        everywhere = [a for a in self.alerts if a.on_watchlist]
        for a in self.alerts:
            if not a.on_watchlist:
                groups.setdefault(a.symbol, _Group()).add(a, self._measures[a.kind])
        if everywhere:
            for sym in self.watchlist:
                group = groups.setdefault(sym, _Group())
                for a in everywhere:
                    group.add(a, self._measures[a.kind])
        self._groups = groups
        self._stale = [a for a in self.alerts if a.kind == "stale"]

    def next_id(self) -> str:
        taken = {a.id for a in self.alerts} | self.reserved
        n = len(self.alerts) + 1
        while str(n) in taken:
            n += 1
        return str(n)

    def add(self, alert: Alert) -> Alert:
        """Add ``alert`` (given the next free id when its id is empty)."""
        if not alert.id:
            alert = replace(alert, id=self.next_id())
        self.alerts.append(alert)
        self._index()
        return alert

    def get(self, alert_id: str) -> Alert | None:
        return next((a for a in self.alerts if a.id == alert_id), None)

    def update(self, alert_id: str, new: Alert) -> Alert | None:
        """Replace an alert's condition, keeping its id and place; it starts armed."""
        for i, a in enumerate(self.alerts):
            if a.id == alert_id:
                self.alerts[i] = replace(new, id=alert_id, fired=set(), snoozed_until_ms=0)
                self._index()
                return self.alerts[i]
        return None

    def remove(self, alert_id: str) -> Alert | None:
        alert = self.get(alert_id)
        if alert is not None:
            self.alerts.remove(alert)
            self._index()
        return alert

    def snooze(self, alert_id: str, until_ms: int) -> Alert | None:
        """Silence an alert until ``until_ms`` (0 wakes it); it keeps re-arming meanwhile."""
        alert = self.get(alert_id)
        if alert is not None:
            alert.snoozed_until_ms = until_ms
            self._index()
        return alert

    def set_watchlist(self, symbols: Iterable[str]) -> None:
        self.watchlist = frozenset(symbols)
        self._index()

    def followed(self) -> tuple[str, ...]:
        """The symbols single-symbol alerts name: fed like the watchlist's, shown or not."""
        return tuple(dict.fromkeys(a.symbol for a in self.alerts if not a.on_watchlist))

    def symbols_of(self, alert: Alert) -> Iterable[str]:
        return sorted(self.watchlist) if alert.on_watchlist else (alert.symbol,)

    # -- checking --------------------------------------------------------------------------

    def check(self, symbols: Iterable[str], now_ms: int) -> list[Fired]:
        """Run the alerts of each changed symbol; what fired (or resumed), in order."""
        out: list[Fired] = []
        groups = self._groups
        if groups:
            for sym in symbols:
                group = groups.get(sym)
                if group is not None:
                    self._group(group, sym, now_ms, out)
        return out

    def check_since(self, version: int, now_ms: int) -> list[Fired]:
        """:meth:`check` for the symbols changed after ``version`` (a
        :attr:`MarketState.version`), found through the alerts' own symbols rather than
        by scanning every symbol of the state."""
        out: list[Fired] = []
        get = self.state.symbols.get
        for sym, group in self._groups.items():
            s = group.s
            if s is None:
                s = group.s = get(sym)
            if s is not None and s.version > version:
                self._group(group, sym, now_ms, out)
        return out

    def _group(self, group: _Group, sym: str, now_ms: int, out: list[Fired]) -> None:
        s = group.s
        if s is None:
            s = group.s = self.state.symbols.get(sym)
            if s is None:
                return
        if now_ms >= group.until or s.prev_close != group.prev:
            for lane in (group.price, group.spread, group.volume):
                self._check(lane, s, now_ms, out)
            group.settle(s, now_ms)
        else:
            p = s.last_price
            if not group.plo <= p < group.phi:
                self._check(group.price, s, now_ms, out)
                group.plo, group.phi = _window(group.price, s, s.last_price)
            if group.spread:
                spread = s.ask_px - s.bid_px
                if not group.slo <= spread < group.shi:
                    self._check(group.spread, s, now_ms, out)
                    group.slo, group.shi = _window(group.spread, s, s.ask_px - s.bid_px)
            if group.volume:
                volume = s.volume
                if not group.vlo <= volume < group.vhi:
                    self._check(group.volume, s, now_ms, out)
                    group.vlo, group.vhi = _window(group.volume, s, s.volume)
        if group.rest:
            self._check(group.rest, s, now_ms, out)

    def _check(self, checks: list[_Check], s: SymbolState, now_ms: int, out: list[Fired]) -> None:
        """Only an alert whose state would change goes on to :meth:`_run`."""
        sym = s.symbol
        for alert, measure, level, rearm in checks:
            m = measure(alert, s, now_ms)
            if m is None:  # NaN (no price yet) fails both compares below
                continue
            if m >= level:
                if sym not in alert.fired:
                    self._run(alert, s, now_ms, out)
            elif m < rearm and sym in alert.fired:
                self._run(alert, s, now_ms, out)

    def check_stale(self, now_ms: int) -> list[Fired]:
        """Stale alerts fire on silence, which no frame reports: run them on a timer."""
        out: list[Fired] = []
        get = self.state.symbols.get
        for alert in self._stale:
            for sym in self.symbols_of(alert):
                s = get(sym)
                if s is not None:
                    self._run(alert, s, now_ms, out)
        return out

    def _run(self, alert: Alert, s: SymbolState, now_ms: int, out: list[Fired]) -> None:
        m = self._measures[alert.kind](alert, s, now_ms)
        if m is None or m != m:
            return
        sym = s.symbol
        level = alert.value
        if sym in alert.fired:
            if m < level - alert.band:  # moved back far enough: armed again
                alert.fired.discard(sym)
                self.dirty = True
                if alert.kind == "halt" and alert.snoozed_until_ms <= now_ms:
                    out.append(self._fired(alert, s, now_ms, m, "resumed"))
        elif m >= level and alert.snoozed_until_ms <= now_ms:
            alert.fired.add(sym)
            self.dirty = True
            out.append(self._fired(alert, s, now_ms, m, "fired"))

    # Each measure is oriented so that the alert fires when it reaches ``alert.value``.

    @staticmethod
    def _price(alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        return s.last_price  # NaN before the first trade: compares false, never fires

    @staticmethod
    def _below(alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        # Mirrored so that "reaches the level" reads the same way for both directions.
        return 2 * alert.value - s.last_price

    @staticmethod
    def _move(alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        last, ref = s.last, alert.ref if alert.ref is not None else s.prev_close
        if last is None or not ref:
            return None
        pct = (last / ref - 1.0) * 100.0
        return abs(pct) if alert.direction == 0 else pct * alert.direction

    def _volume(self, alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        volume = s.volume
        if alert.unit != "x":
            return volume
        usual = self.profile.usual(self.state, s, now_ms)
        return volume / usual if usual else None

    @staticmethod
    def _spread(alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        spread = s.ask_px - s.bid_px
        if spread != spread:
            return None
        if alert.unit == "%":
            mid = (s.ask_px + s.bid_px) / 2
            return spread / mid * 100.0 if mid > 0 else None
        return spread

    @staticmethod
    def _halt(alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        return 1.0 if s.halted else 0.0

    def _age(self, alert: Alert, s: SymbolState, now_ms: int) -> float | None:
        if not s.updated_ms:
            return None
        if not self.is_open(now_ms):
            return 0.0  # silence while the market is shut is not news
        return max(0.0, (now_ms - s.updated_ms) / 1000.0)

    # -- telling ---------------------------------------------------------------------------

    def _fired(self, alert: Alert, s: SymbolState, now_ms: int, m: float, event: str) -> Fired:
        return Fired(
            alert.id, s.symbol, alert.kind, event, now_ms, s.last, m, describe(alert, s, m, event)
        )

    def measure(self, alert: Alert, symbol: str, now_ms: int) -> float | None:
        s = self.state.symbols.get(symbol)
        m = None if s is None else self._measures[alert.kind](alert, s, now_ms)
        return None if m is None or m != m else m

    def distance(self, alert: Alert, now_ms: int) -> tuple[str, float]:
        """How far from firing, as text and as a fraction of the level (for sorting).

        A watchlist alert shows its nearest symbol that has not fired.
        """
        if alert.kind == "halt":
            halted = [s for s in self.symbols_of(alert) if self.measure(alert, s, now_ms)]
            if alert.on_watchlist:
                return (f"halted: {' '.join(halted)}" if halted else "none halted"), 1.0
            return ("halted" if halted else "trading"), 1.0
        best: tuple[str, float] = ("no data yet", math.inf)
        for sym in self.symbols_of(alert):
            if sym in alert.fired:
                continue
            s = self.state.symbols.get(sym)
            m = self.measure(alert, sym, now_ms)
            if s is None or m is None:
                continue
            text, frac = _distance(alert, m, s.last)
            if frac < best[1]:
                best = (f"{sym} {text}" if alert.on_watchlist else text, frac)
        if alert.fired and best[1] == math.inf:
            return ("re-arms " + _rearm_text(alert), math.inf)
        return best


def _distance(alert: Alert, m: float, last: float | None) -> tuple[str, float]:
    level = alert.value
    left = level - m
    frac = left / abs(level) if level else left
    kind = alert.kind
    if kind in ("above", "below") and last:
        move = level - last  # the price change still needed
        return f"{move:+.2f} ({move / last * 100:+.1f}%)", frac
    if kind == "move":
        return f"{m:+.2f}% of {_num(level)}%", frac
    if kind == "volume":
        unit = "x" if alert.unit == "x" else ""
        return f"{_short(m)}{unit} of {_short(level)}{unit}", frac
    if kind == "spread":
        return f"{_num(round(m, 4))}{alert.unit} of {_num(level)}{alert.unit}", frac
    return f"quiet {m:.0f}s of {_num(level)}s", frac


def _rearm_text(alert: Alert) -> str:
    back = alert.value - alert.band
    if alert.kind == "below":
        return f"above {_num(round(alert.value + alert.band, 4))}"
    if alert.kind == "above":
        return f"below {_num(round(back, 4))}"
    if alert.kind == "halt":
        return "on resumption"
    if alert.kind == "stale":
        return "on the next update"
    return f"under {_num(round(back, 4))}{alert.unit or ('%' if alert.kind == 'move' else '')}"


def _short(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def describe(alert: Alert, s: SymbolState, m: float, event: str = "fired") -> str:
    """One line saying what happened (``AAPL 230.12 crossed above 230``)."""
    sym, last = s.symbol, s.last
    price = f" {_num(last)}" if last is not None else ""
    kind, level = alert.kind, _num(alert.value)
    if kind == "above":
        return f"{sym}{price} crossed above {level}"
    if kind == "below":
        return f"{sym}{price} crossed below {level}"
    if kind == "move":
        ref = "previous close" if alert.ref is None else _num(alert.ref)
        signed = m if alert.direction >= 0 else -m
        if alert.direction == 0 and last is not None:
            base = alert.ref if alert.ref is not None else s.prev_close
            signed = m if base is not None and last >= base else -m
        return f"{sym}{price} moved {signed:+.2f}% from {ref} (alert at {level}%)"
    if kind == "volume":
        if alert.unit == "x":
            return f"{sym} volume {_short(s.volume)} is {m:.1f}x the usual for the time ({level}x)"
        return f"{sym} volume {_short(s.volume)} passed {_short(alert.value)}"
    if kind == "spread":
        return f"{sym} spread {_num(round(m, 4))}{alert.unit} wider than {level}{alert.unit}"
    if kind == "halt":
        return f"{sym} trading halted" if event == "fired" else f"{sym} trading resumed"
    return f"{sym} no update for {m:.0f}s while the market is open (alert at {level}s)"


# -- phrases ---------------------------------------------------------------------------------

USAGE: Final = (
    "alert SYMBOL|watchlist above P | below P | move [+|-]N% [from P] | volume Nx | volume N"
    " | spread X[%] | halt | stale Ns"
)


def parse_phrase(text: str, *, alert_id: str = "") -> Alert:
    """An alert from a phrase: ``alert AAPL above 230``, ``alert watchlist halt``…

    The leading word ``alert`` is optional. Raises :class:`AlertError` naming the
    word that is wrong and what was expected.
    """
    words = text.split()
    if words and words[0].lower() == "alert":
        words = words[1:]
    if not words:
        raise AlertError("an alert needs a symbol and a condition, like AAPL above 230")
    who = words[0].upper()
    if who in ("WATCHLIST", "ALL", "*"):
        symbol = WATCHLIST
    elif _SYMBOL.fullmatch(who):
        symbol = who
    else:
        raise AlertError(f"{words[0]!r} is not a symbol (like AAPL, or watchlist for all)")
    if len(words) < 2:
        raise AlertError(
            f"what should {words[0]} be alerted on? e.g. above 230, move 5%, halt, stale 30s"
        )
    return parse_condition(" ".join(words[1:]), symbol=symbol, alert_id=alert_id)


def parse_condition(text: str, *, symbol: str, alert_id: str = "") -> Alert:
    """The condition part of a phrase (``above 230``, ``move 5% from 250``) for ``symbol``."""
    words = text.split()
    if not words:
        raise AlertError(f"no condition: {USAGE}")
    kind, args = words[0].lower(), words[1:]
    kind = {">": "above", "<": "below", "halted": "halt", "luld": "halt", "spread>": "spread"}.get(
        kind, kind
    )
    if kind not in KINDS:
        raise AlertError(f"{words[0]!r} is not a condition: use {', '.join(KINDS)}")
    alert = Alert(alert_id, symbol, kind)
    if kind == "halt":
        _no_more(kind, args)
        alert.value = 1.0  # the measure is 1 while halted
        return alert
    if not args:
        raise AlertError(f"{kind} needs a value, like: {_EXAMPLES[kind]}")
    raw = args[0]
    if kind in ("above", "below"):
        alert.value = _positive(raw, kind, "a price")
        _no_more(kind, args[1:])
    elif kind == "move":
        _parse_move(alert, args)
    elif kind == "volume":
        if raw.lower().endswith("x"):
            alert.unit = "x"
            alert.value = _positive(raw[:-1], kind, "a multiple like 3x")
        else:
            alert.value = _positive(raw, kind, "a multiple like 3x or a share count like 2m")
        _no_more(kind, args[1:])
    elif kind == "spread":
        if raw.endswith("%"):
            alert.unit = "%"
            raw = raw[:-1]
        alert.value = _positive(raw, kind, "a price difference like 0.05, or 0.1%")
        _no_more(kind, args[1:])
    else:  # stale
        alert.value = _seconds(raw)
        _no_more(kind, args[1:])
    return alert


_EXAMPLES: Final = {
    "above": "alert AAPL above 230",
    "below": "alert AAPL below 200",
    "move": "alert TSLA move 5% (or +5%, -5%, 5% from 250)",
    "volume": "alert SPY volume 3x (or volume 2m)",
    "spread": "alert NVDA spread 0.05 (or 0.1%)",
    "stale": "alert QQQ stale 30s",
}


def _parse_move(alert: Alert, args: list[str]) -> None:
    raw = args[0]
    if not raw.endswith("%"):
        raise AlertError(f"move needs a percentage, like 5% (got {raw!r})")
    body = raw[:-1]
    if body[:1] in "+-" and body:
        alert.direction = 1 if body[0] == "+" else -1
        body = body[1:]
    alert.value = _positive(body, "move", "a percentage like 5%")
    rest = args[1:]
    if rest:
        if rest[0].lower() != "from" or len(rest) != 2:
            raise AlertError(
                f"after move {raw} only 'from PRICE' may follow (got {' '.join(rest)!r})"
            )
        alert.ref = _positive(rest[1], "move … from", "a reference price")


def _number(raw: str) -> float:
    text = raw.replace(",", "").replace("_", "").lstrip("$")
    scale = _SUFFIX.get(text[-1:].lower(), 1.0)
    if scale != 1.0:
        text = text[:-1]
    value = float(text) * scale
    if not math.isfinite(value):
        raise ValueError
    return value


def _positive(raw: str, kind: str, what: str) -> float:
    try:
        value = _number(raw)
    except (ValueError, IndexError):
        raise AlertError(f"{kind}: {raw!r} is not a number; give {what}") from None
    if value <= 0:
        raise AlertError(f"{kind}: {raw!r} must be above zero; give {what}")
    return value


def _seconds(raw: str) -> float:
    text = raw.lower()
    scale = 1.0
    if text.endswith("m"):
        scale, text = 60.0, text[:-1]
    elif text.endswith("s"):
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        raise AlertError(f"stale: {raw!r} is not a time; give seconds like 30s or 2m") from None
    if not (math.isfinite(value) and value >= 1):
        raise AlertError(f"stale: {raw!r} must be at least 1s")
    return value


def _no_more(kind: str, rest: list[str]) -> None:
    if rest:
        raise AlertError(f"{kind}: unexpected {' '.join(rest)!r} after the condition")


# -- stored form -----------------------------------------------------------------------------

#: Keys of a stored alert (an ``[[alerts]]`` table); any other key is an error, not ignored.
RECORD_KEYS: Final = ("id", "symbol", "when", "hysteresis", "note", "fired", "snoozed_until")


def to_record(alert: Alert) -> dict[str, object]:
    """The alert as an ``[[alerts]]`` table: the condition as its phrase, state only if any."""
    out: dict[str, object] = {
        "id": alert.id,
        "symbol": "watchlist" if alert.on_watchlist else alert.symbol,
        "when": alert.condition(),
    }
    if alert.hysteresis is not None:
        out["hysteresis"] = alert.hysteresis
    if alert.note:
        out["note"] = alert.note
    if alert.fired:
        out["fired"] = sorted(alert.fired)
    if alert.snoozed_until_ms:
        out["snoozed_until"] = datetime.fromtimestamp(alert.snoozed_until_ms / 1000, UTC)
    return out


def from_record(record: dict[str, object], alert_id: str) -> Alert:
    """An alert from a stored table; :class:`AlertError` names the key that is wrong."""
    unknown = sorted(set(record) - set(RECORD_KEYS))
    if unknown:
        raise AlertError(f"unknown key {unknown[0]!r} (keys: {', '.join(RECORD_KEYS)})")
    symbol, when = record.get("symbol"), record.get("when")
    if not isinstance(symbol, str) or not symbol.strip():
        raise AlertError('needs symbol = "AAPL" (or "watchlist")')
    if not isinstance(when, str):
        raise AlertError('needs when = "above 230" (a condition as the palette takes it)')
    alert = parse_phrase(f"{symbol} {when}", alert_id=alert_id)
    hysteresis = record.get("hysteresis")
    if hysteresis is not None:
        if isinstance(hysteresis, bool) or not isinstance(hysteresis, int | float):
            raise AlertError("hysteresis must be a number (in the condition's unit)")
        if not (math.isfinite(hysteresis) and hysteresis >= 0):
            raise AlertError("hysteresis must be zero or more")
        alert.hysteresis = float(hysteresis)
    note = record.get("note", "")
    if not isinstance(note, str):
        raise AlertError("note must be text")
    alert.note = note
    fired = record.get("fired", [])
    if not isinstance(fired, list) or not all(isinstance(f, str) for f in fired):
        raise AlertError('fired must be a list of symbols, like ["AAPL"]')
    alert.fired = {f.upper() for f in fired}
    snoozed = record.get("snoozed_until")
    if snoozed is not None:
        if not isinstance(snoozed, datetime) or snoozed.tzinfo is None:
            raise AlertError(
                "snoozed_until must be a date and time with a zone, like 2026-01-02T15:00:00Z"
            )
        alert.snoozed_until_ms = int(snoozed.timestamp() * 1000)
    return alert

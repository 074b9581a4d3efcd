"""The REST aggregates endpoint, answered on the WebSocket port; opaque-cursor paging.

See docs/simulator.md and docs/protocol.md (REST aggregates).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
import time
import uuid
from collections.abc import Callable, Collection, Coroutine
from datetime import date, datetime, timedelta
from typing import Final, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

import msgspec
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ticktape.feed.events import Agg, AggsResponse
from ticktape.feed.snapshot import SnapshotResponse
from ticktape.feed.wire import TIMESPAN_MS
from ticktape.server.engine import json_response
from ticktape.sim import market_status, snapshots
from ticktape.sim.faults import Faults
from ticktape.sim.market import SimMarket
from ticktape.sim.symbols import split_ticker
from ticktape.timeutil import zone

_PATH: Final = re.compile(
    r"/v2/aggs/ticker/(?P<ticker>[A-Za-z0-9.:^_-]{1,32})/range/(?P<mult>\d{1,6})/"
    r"(?P<span>[a-z]+)/(?P<frm>[0-9-]{1,20})/(?P<to>[0-9-]{1,20})"
)
_INTRADAY: Final = frozenset({"second", "minute", "hour"})
DEFAULT_LIMIT: Final = 5000
MAX_LIMIT: Final = 50_000
_NOT_ENTITLED: Final = (
    "You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing"
)
_RATE_LIMITED: Final = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your "
    "subscription to continue. https://massive.com/pricing"
)


class HistorySource(Protocol):
    """Where bars come from: a SimMarket, or a replay's record of what it sent."""

    def history(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_ms: int,
        to_ms: int,
        *,
        adjusted: bool = True,
    ) -> list[Agg]: ...


class Cursor(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    """What a ``next_url`` cursor carries: the query, and the bound to resume from."""

    ticker: str
    multiplier: int
    timespan: str
    from_ms: int
    to_ms: int
    adjusted: bool
    descending: bool
    limit: int
    after: int = -1  # ascending pages: the last bar already sent (its bucket is not resent)


class _BadRequest(Exception):
    """A request the endpoint cannot answer (400), with the message to send."""


def parse_time(text: str, *, end: bool) -> int:
    """``YYYY-MM-DD`` (a New York day; ``end`` → its last ms) or Unix ms → Unix ms."""
    if text.isdigit():
        return int(text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _BadRequest(f"Could not parse the time parameter: {text!r}") from None
    if end:
        day += timedelta(days=1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone("America/New_York"))
    return int(midnight.timestamp() * 1000) - (1 if end else 0)


def _query_flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    if values[-1] not in ("true", "false"):
        raise _BadRequest(f"{name} must be true or false")
    return values[-1] == "true"


def _query_limit(query: dict[str, list[str]]) -> int:
    values = query.get("limit")
    if not values:
        return DEFAULT_LIMIT
    if not values[-1].isdigit() or int(values[-1]) < 1:
        raise _BadRequest("limit must be a positive integer")
    return min(int(values[-1]), MAX_LIMIT)


def _error(status: int, message: str, *, key: str = "error", **extra: str) -> Response:
    body = {"status": "ERROR", "request_id": uuid.uuid4().hex, key: message}
    if status == 403:
        body["status"] = "NOT_AUTHORIZED"
    return json_response(status, body, list(extra.items()))


_STATUS_BODIES: Final[dict[str, Callable[[int], bytes]]] = {
    market_status.NOW_PATH: market_status.now_body,
    market_status.UPCOMING_PATH: market_status.upcoming_body,
}


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class RestApi:
    """Answers REST requests from the markets' deterministic history and the NYSE calendar."""

    def __init__(
        self,
        market: Callable[[str], HistorySource],
        *,
        api_key: str | None,
        faults: Faults,
        entitled: Collection[str] = ("stocks", "forex", "crypto"),
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._market = market
        self._clock = clock or _wall_ms
        self._api_key = api_key
        self._faults = faults
        self._entitled = frozenset(entitled)
        self.requests = 0
        #: The market plays at every hour (``--clock always``): the status says "open".
        self.always_open = False

    def handle(self, request: Request, base_url: str) -> Response | Coroutine[None, None, Response]:
        """Answer one GET; ``base_url`` is where ``next_url`` points (scheme://host:port).

        A snapshot is answered by a coroutine (read in slices); everything else at once."""
        self.requests += 1
        split = urlsplit(request.path)
        query = parse_qs(split.query)
        problem = self._check_key(request.headers, query)
        if problem is not None:
            return problem
        pending = self._faults.take_rest_error()
        if pending is not None:
            status, retry_after = pending
            if status == 429:
                return _error(429, _RATE_LIMITED, **{"Retry-After": str(round(retry_after))})
            return _error(status, "Internal server error")
        if split.path == market_status.NOW_PATH and self.always_open:
            return json_response(200, msgspec.Raw(market_status.always_open_body(self._clock())))
        if split.path in _STATUS_BODIES:
            return json_response(200, msgspec.Raw(_STATUS_BODIES[split.path](self._clock())))
        snapshot = snapshots.PATH.fullmatch(split.path)
        if snapshot is not None:
            return self._snapshot(snapshot["what"], query)
        match = _PATH.fullmatch(unquote(split.path))
        if match is None:
            return json_response(404, {"status": "NOT_FOUND", "message": "Not found"})
        try:
            return self._aggs(match, query, base_url)
        except _BadRequest as err:
            return _error(400, str(err))

    def _snapshot(
        self, what: str, query: dict[str, list[str]]
    ) -> Response | Coroutine[None, None, Response]:
        if "stocks" not in self._entitled:
            return _error(403, _NOT_ENTITLED, key="message")
        market = self._market("stocks")
        tickers = ",".join(query.get("tickers", [])).split(",")
        if not isinstance(market, SimMarket):  # a replay knows only what it recorded
            return json_response(200, SnapshotResponse("OK", 0, []))
        return self._snapshot_sliced(market, what, tickers)

    @staticmethod
    async def _snapshot_sliced(market: SimMarket, what: str, tickers: list[str]) -> Response:
        """Read (and for every ticker, encode) a slice at a time, yielding to the loop between
        slices: the tick task that feeds every client runs between them instead of waiting
        for 3,000 names."""
        symbols = snapshots.symbols_of(market, what, tickers)
        step = snapshots.SLICE
        if what != "tickers":  # the top 20 of the figures: only those are made and encoded
            days = []
            for i in range(0, len(symbols), step):
                days.extend(snapshots.read_days(market, symbols[i : i + step]))
                await asyncio.sleep(0)
            return json_response(200, snapshots.body_of(days, what, market.now_ms))
        parts = []
        for i in range(0, len(symbols), step):
            parts.append(snapshots.encoded_slice(market, symbols[i : i + step]))
            await asyncio.sleep(0)
        return json_response(200, msgspec.Raw(snapshots.joined_body(parts)))

    def _check_key(self, headers: Headers, query: dict[str, list[str]]) -> Response | None:
        auth = headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key and query.get("apiKey"):
            key = query["apiKey"][-1]
        if not key:
            return _error(401, "API Key was not provided")
        if self._api_key is not None and not hmac.compare_digest(
            key.encode(), self._api_key.encode()
        ):
            return _error(401, "Unknown API Key")
        return None

    def _aggs(self, match: re.Match[str], query: dict[str, list[str]], base_url: str) -> Response:
        ticker, span = match["ticker"], match["span"]
        if span not in TIMESPAN_MS:
            raise _BadRequest(f"Invalid timespan: {span!r}")
        multiplier = int(match["mult"])
        if multiplier < 1:
            raise _BadRequest("multiplier must be a positive integer")
        cluster = split_ticker(ticker)[0]
        if cluster not in self._entitled:
            return _error(403, _NOT_ENTITLED, key="message")
        if query.get("cursor"):
            cursor = _decode_cursor(query["cursor"][-1])
            if (cursor.ticker, cursor.multiplier, cursor.timespan) != (ticker, multiplier, span):
                raise _BadRequest("cursor does not belong to this request")
        else:
            sort = query.get("sort", ["asc"])[-1]
            if sort not in ("asc", "desc"):
                raise _BadRequest("sort must be asc or desc")
            cursor = Cursor(
                ticker=ticker,
                multiplier=multiplier,
                timespan=span,
                from_ms=parse_time(match["frm"], end=False),
                to_ms=parse_time(match["to"], end=True),
                adjusted=_query_flag(query, "adjusted", True),
                descending=sort == "desc",
                limit=_query_limit(query),
            )
        bars, rest = self._page(cursor)
        next_url = None
        if rest is not None:
            path = match.group(0).replace(ticker, quote(ticker, safe=":"), 1)
            next_url = f"{base_url}{path}?cursor={_encode_cursor(rest)}"
        body = AggsResponse(
            ticker=ticker,
            adjusted=cursor.adjusted,
            queryCount=len(bars),
            resultsCount=len(bars),
            request_id=uuid.uuid4().hex,
            results=bars,
            next_url=next_url,
        )
        # AggsResponse omits defaults (status "OK", adjusted true) but the live API always
        # sends them; only a missing next_url means "last page" (null would be followed).
        fields = msgspec.structs.asdict(body)
        if next_url is None:
            del fields["next_url"]
        return json_response(200, fields)

    def _page(self, c: Cursor) -> tuple[list[Agg], Cursor | None]:
        """One page of bars and the cursor for the rest (None at the end).

        Intraday ranges are read in windows of about ``limit`` bars, cut on bar
        boundaries, so a long range costs one page's work per request rather
        than the whole range's; daily and longer bars are few enough to read
        in one go.
        """
        market = self._market(split_ticker(c.ticker)[0])
        intraday = c.timespan in _INTRADAY
        bucket = c.multiplier * TIMESPAN_MS[c.timespan]
        window = c.limit * bucket
        lo, hi = c.from_ms, c.to_ms
        bars: list[Agg] = []
        while lo <= hi and len(bars) < c.limit:
            if c.descending:
                start = max(lo, (hi - window + 1) // bucket * bucket) if intraday else lo
                bars.extend(reversed(self._read(market, c, start, hi)))
                hi = start - 1
            else:
                end = min(hi, (lo + window) // bucket * bucket - 1) if intraday else hi
                bars.extend(b for b in self._read(market, c, lo, end) if b.timestamp > c.after)
                lo = end + 1
        after = c.after
        if len(bars) > c.limit:
            bars = bars[: c.limit]
            if c.descending:
                hi = bars[-1].timestamp - 1
            else:
                # Resume inside the range; a long bucket may start before ``lo``, hence ``after``.
                lo, after = bars[-1].timestamp + 1, bars[-1].timestamp
        if lo > hi:
            return bars, None
        return bars, msgspec.structs.replace(c, from_ms=lo, to_ms=hi, after=after)

    @staticmethod
    def _read(market: HistorySource, c: Cursor, lo: int, hi: int) -> list[Agg]:
        """Bars of the buckets starting in ``[lo, hi]`` (or containing ``lo``), ascending."""
        return market.history(c.ticker, c.multiplier, c.timespan, lo, hi, adjusted=c.adjusted)


def _encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def _decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _BadRequest("invalid cursor") from None

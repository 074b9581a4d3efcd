"""Async REST client for ``/v2/aggs``: Bearer auth, ``next_url`` paging, retries with backoff.

See docs/protocol.md (REST aggregates).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Final, Literal, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import msgspec

from ticktape.feed.events import Agg, AggsResponse
from ticktape.feed.marketstatus import (
    MarketDay,
    MarketStatusNow,
    now_decoder,
    upcoming_decoder,
)
from ticktape.feed.snapshot import (
    DIRECTIONS,
    SNAPSHOT_PATH,
    TickerSnapshot,
    snapshot_decoder,
)
from ticktape.timeutil import utc_to_ms

TIMESPANS: Final = frozenset(
    {"second", "minute", "hour", "day", "week", "month", "quarter", "year"}
)
MAX_LIMIT: Final = 50_000
#: A server asking for a longer pause than this is waited on for this long, then retried.
MAX_RETRY_AFTER: Final = 120.0
#: A ticktape hub says how it answered (hit, miss, coalesced, pass): docs/hub-rest.md.
CACHE_HEADER: Final = "X-Ticktape-Cache"

RetryReason = Literal["rate_limited", "server_error", "timeout", "connection"]


@dataclass(frozen=True, slots=True)
class RetryWait:
    """One pause before a retry: why, for how long, and which retry follows it (1-based)."""

    reason: RetryReason
    seconds: float
    attempt: int


class RestError(Exception):
    """Base of every REST failure; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RestError):
    """401: the key is missing or wrong. Retrying cannot help."""


class NotEntitledError(RestError):
    """403: the plan does not include this data (or it is too recent for the plan)."""

    def __init__(self, message: str, *, server_message: str, status: int | None = 403) -> None:
        super().__init__(message, status=status)
        self.server_message = server_message


class RateLimitedError(RestError):
    """429 on every attempt: the plan's request rate is used up for now."""


class ServerError(RestError):
    """5xx on every attempt: the data provider is having trouble."""


class NetworkError(RestError):
    """Timeouts or connection failures on every attempt."""


Sleep = Callable[[float], Awaitable[None]]
DateLike = date | datetime | str | int

_decoder: Final = msgspec.json.Decoder(AggsResponse)
T = TypeVar("T")
_error_body: Final = msgspec.json.Decoder(dict[str, object])


class RestClient:
    """Pages through aggregate bars. Use as ``async with RestClient(...) as rest:``.

    ``sleep`` and ``rand`` are injectable so tests can run retries instantly
    and deterministically; ``transport`` lets tests swap the network.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 6,
        on_wait: Callable[[RetryWait], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        origin = urlsplit(base_url)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            raise ValueError(f"REST base URL must be http(s)://host[:port], not {base_url!r}")
        self._base = base_url.rstrip("/") + "/"
        self._origin = (origin.scheme, origin.netloc)
        # str.__str__ gets the real text even from a masking str subclass (config.Secret).
        self._key = str.__str__(api_key)
        headers = {"Accept": "application/json", "User-Agent": "ticktape"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        # The local simulator must never be reached through an HTTP(S)_PROXY from the
        # environment; real hosts keep honouring it (corporate networks need it).
        loopback = origin.hostname in ("127.0.0.1", "localhost", "::1")
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            trust_env=not loopback,
        )
        self._max_retries = max_retries
        self._on_wait = on_wait
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._rand = rand
        #: Answers a hub gave from its cache of finished history (grows; never for the API).
        self.cache_hits = 0

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def iter_aggs(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_: DateLike,
        to: DateLike,
        *,
        adjusted: bool = True,
        sort: str = "asc",
        limit: int = MAX_LIMIT,
    ) -> AsyncIterator[Agg]:
        """Every bar in the range, across all pages. No bars is not an error."""
        pages = self.iter_pages(
            ticker, multiplier, timespan, from_, to, adjusted=adjusted, sort=sort, limit=limit
        )
        async for page in pages:
            for bar in page:
                yield bar

    async def iter_pages(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_: DateLike,
        to: DateLike,
        *,
        adjusted: bool = True,
        sort: str = "asc",
        limit: int = MAX_LIMIT,
    ) -> AsyncIterator[list[Agg]]:
        """The bars one non-empty page at a time (lets a progress bar count pages)."""
        url: str | None = self._first_url(
            ticker, multiplier, timespan, from_, to, adjusted=adjusted, sort=sort, limit=limit
        )
        seen: set[str] = set()
        while url is not None and url not in seen:  # a repeated cursor would loop forever
            seen.add(url)
            page = await self._get(url, _decoder)
            if page.results:
                yield page.results
            url = self._follow(page.next_url) if page.next_url else None

    def _first_url(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        from_: DateLike,
        to: DateLike,
        *,
        adjusted: bool,
        sort: str,
        limit: int,
    ) -> str:
        if not ticker:
            raise ValueError("ticker is empty")
        if timespan not in TIMESPANS:
            raise ValueError(f"timespan must be one of {', '.join(sorted(TIMESPANS))}")
        if multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if sort not in ("asc", "desc"):
            raise ValueError("sort must be 'asc' or 'desc'")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        path = (
            f"v2/aggs/ticker/{quote(ticker, safe=':')}/range/{multiplier}/{timespan}/"
            f"{_date_param(from_)}/{_date_param(to)}"
        )
        query = urlencode({"adjusted": str(adjusted).lower(), "sort": sort, "limit": limit})
        return urljoin(self._base, path) + "?" + query

    def _follow(self, next_url: str) -> str:
        """``next_url`` minus any ``apiKey``, moved onto the configured origin."""
        parts = urlsplit(urljoin(self._base, next_url))
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() != "apikey"
        ]
        scheme, netloc = self._origin
        return urlunsplit((scheme, netloc, parts.path, urlencode(query), ""))

    async def market_status(self) -> MarketStatusNow:
        """``/v1/marketstatus/now``: whether the market is open, in extended hours or closed."""
        return await self._get(urljoin(self._base, "v1/marketstatus/now"), now_decoder)

    async def upcoming_market_days(self) -> list[MarketDay]:
        """``/v1/marketstatus/upcoming``: the coming closures and early closes."""
        return await self._get(urljoin(self._base, "v1/marketstatus/upcoming"), upcoming_decoder)

    async def snapshot_all(self, tickers: Sequence[str] = ()) -> list[TickerSnapshot]:
        """Every stock's day so far (or only ``tickers``): one large response, asked rarely."""
        url = urljoin(self._base, f"{SNAPSHOT_PATH}/tickers")
        if tickers:
            url += "?" + urlencode({"tickers": ",".join(tickers)})
        return (await self._get(url, snapshot_decoder)).tickers or []

    async def snapshot_direction(self, direction: str) -> list[TickerSnapshot]:
        """The day's top 20 ``"gainers"`` or ``"losers"``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        url = urljoin(self._base, f"{SNAPSHOT_PATH}/{direction}")
        return (await self._get(url, snapshot_decoder)).tickers or []

    async def _get(self, url: str, decoder: msgspec.json.Decoder[T]) -> T:
        """One GET, retrying what is worth retrying; raises a :class:`RestError` otherwise."""
        retry = 0
        while True:
            reason: RetryReason
            hint: float | None = None
            try:
                resp = await self._http.get(url)
            except httpx.TimeoutException:
                reason, failure = "timeout", "the request timed out"
            except httpx.TransportError as err:
                reason, failure = "connection", f"the connection failed ({type(err).__name__})"
            else:
                if resp.status_code == 200:
                    if resp.headers.get(CACHE_HEADER) == "hit":
                        self.cache_hits += 1
                    return self._decode(resp, decoder)
                if resp.status_code == 429:
                    reason, hint = "rate_limited", retry_after(resp)
                elif resp.status_code >= 500:
                    reason, hint = "server_error", retry_after(resp)
                else:
                    raise self._client_error(resp)
                failure = self._server_text(resp)
            if retry >= self._max_retries:
                raise self._exhausted(reason, failure, retry + 1)
            retry += 1
            wait = hint if hint is not None else self._backoff(retry)
            if self._on_wait is not None:
                self._on_wait(RetryWait(reason, wait, retry))
            await self._sleep(wait)

    def _backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^(retry-1))] so clients spread out."""
        return self._rand() * min(self._backoff_cap, self._backoff_base * 2.0 ** (retry - 1))

    def _decode(self, resp: httpx.Response, decoder: msgspec.json.Decoder[T]) -> T:
        try:
            return decoder.decode(resp.content)
        except (msgspec.ValidationError, msgspec.DecodeError) as err:
            raise RestError(
                f"the data server sent a response ticktape cannot read ({err})", status=200
            ) from None

    def _client_error(self, resp: httpx.Response) -> RestError:
        status, text = resp.status_code, self._server_text(resp)
        if status == 401:
            return AuthError(
                "the API key was rejected by the data server"
                f" ({text}); check POLYGON_API_KEY / MASSIVE_API_KEY",
                status=status,
            )
        if status == 403:
            return NotEntitledError(
                f"your plan does not include this data, or it is too recent for your plan ({text})",
                server_message=text,
                status=status,
            )
        return RestError(
            f"the data server refused the request: HTTP {status} ({text})", status=status
        )

    def _exhausted(self, reason: RetryReason, failure: str, attempts: int) -> RestError:
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if reason == "rate_limited":
            return RateLimitedError(
                f"still rate limited {tries} ({failure}); your plan's request limit is used up,"
                " try again in a minute",
                status=429,
            )
        if reason == "server_error":
            return ServerError(f"the data server kept failing {tries} ({failure})")
        return NetworkError(f"cannot reach the data server {tries}: {failure}")

    def _server_text(self, resp: httpx.Response) -> str:
        """The server's own words (``error`` or ``message``), shortened, with the key masked."""
        text = ""
        try:
            body = _error_body.decode(resp.content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            text = resp.text.strip()
        else:
            for name in ("error", "message", "status"):
                value = body.get(name)
                if isinstance(value, str) and value:
                    text = value
                    break
        if self._key:  # mask first: a key cut in half by the clip would show its head
            text = text.replace(self._key, "****")
        return text[:300] or f"HTTP {resp.status_code}"


def retry_after(resp: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), capped; None when absent or unreadable."""
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - datetime.now(when.tzinfo).timestamp()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _date_param(value: DateLike) -> str:
    """``YYYY-MM-DD`` for dates and such strings, Unix ms for datetimes and ints (API forms)."""
    if isinstance(value, datetime):
        return str(utc_to_ms(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        raise TypeError("a date bound cannot be a bool")
    if isinstance(value, int):
        return str(value)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"date bound must be 'YYYY-MM-DD' or int Unix ms, not {value!r}") from None


__all__ = [
    "CACHE_HEADER",
    "MAX_LIMIT",
    "TIMESPANS",
    "AuthError",
    "NetworkError",
    "NotEntitledError",
    "RateLimitedError",
    "RestClient",
    "RestError",
    "RetryWait",
    "ServerError",
]

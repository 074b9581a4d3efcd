"""REST through the hub: clients' GETs go upstream once, with the hub's key, and finished
history is answered from a sqlite3 cache (so ten charts seeding cost one request).

See docs/hub-rest.md.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

import httpx
import msgspec

from ticktape.feed.backoff import Backoff
from ticktape.feed.rest import CACHE_HEADER, retry_after
from ticktape.feed.wire import TIMESPAN_MS
from ticktape.hub.cache import CachedPage, RestCache, default_path
from ticktape.timeutil import EXCHANGE_TZ, zone

log = logging.getLogger(__name__)

#: status, headers, body: what the hub's HTTP layer sends back (it adds Content-Length).
Reply = tuple[int, list[tuple[str, str]], bytes]
Sleep = Callable[[float], Awaitable[None]]

_AGGS: Final = re.compile(
    r"/v2/aggs/ticker/(?P<ticker>[^/]{1,64})/range/(?P<mult>\d{1,6})/"
    r"(?P<span>[a-z]+)/(?P<frm>[0-9-]{1,20})/(?P<to>[0-9-]{1,20})"
)
_DAY_MS: Final = 86_400_000
#: Adjusted bars change when a split or dividend is applied, which happens overnight; a
#: cached adjusted page is kept until the next 06:00 in New York, unadjusted ones for good.
_ADJUSTED_REFRESH: Final = clock_time(6, 0)
_MAX_TARGET: Final = 8192
_MIN_MASK: Final = 8
_MIN_RETRY_WAIT: Final = 0.5
_FINISHED: Final = frozenset({"OK", "DELAYED"})
_VERSIONED: Final = ("/v1/", "/v2/", "/v3/")

_top_level: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_text: Final = msgspec.json.Decoder(str)


class _Refused(Exception):
    """A request the hub will not forward; carries the reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class _Target:
    """A client's request, canonical: no key, parameters in a stable order."""

    path: str
    query: str

    @property
    def key(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one upstream exchange produced, ready to be replied to every waiting client."""

    status: int
    content_type: str
    body: bytes  # next_url already made relative to the hub
    retry_after: float | None = None


def parse_target(path_and_query: str) -> _Target:
    """The canonical target of a client request; raises :class:`_Refused` when not forwarded."""
    if len(path_and_query) > _MAX_TARGET:
        raise _Refused(414, "the request URL is too long")
    path, _, query = path_and_query.partition("#")[0].partition("?")
    if not path.startswith(_VERSIONED):
        raise _Refused(404, "the hub forwards only /v1, /v2 and /v3 REST paths")
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in path) or "//" in path:
        raise _Refused(400, "the request path is malformed")
    if any(unquote(seg) in (".", "..") for seg in path.split("/")):
        raise _Refused(400, "the request path may not contain . or .. segments")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() != "apikey"]
    pairs.sort(key=lambda kv: kv[0])  # stable: repeated names keep their order
    return _Target(path, urlencode(pairs, quote_via=quote, safe=":,"))


def window_end_ms(path: str) -> int | None:
    """When the last bar of an aggregates request ends (Unix ms); None for other paths.

    Conservative: a bar may end earlier than this, never later.
    """
    match = _AGGS.fullmatch(unquote(path))
    if match is None or match["span"] not in TIMESPAN_MS:
        return None
    bar_ms = int(match["mult"]) * TIMESPAN_MS[match["span"]]
    to = match["to"]
    if to.isdigit():  # Unix ms: the bar starting at or before it ends within one bar
        return int(to) + bar_ms
    try:
        day = date.fromisoformat(to)
    except ValueError:
        return None
    # Bars that tile a day end with it; longer or odd-sized ones may run past it.
    tiles_day = bar_ms <= _DAY_MS and _DAY_MS % bar_ms == 0
    return _ny_midnight(day + timedelta(days=1)) + (0 if tiles_day else bar_ms)


def _ny_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone(EXCHANGE_TZ)).timestamp() * 1000)


def finished(path: str, now: float, settle: float) -> bool:
    """Whether ``path`` asks for finished history: aggregates whose every bar ended before
    today (New York) and at least ``settle`` seconds before ``now``."""
    end_ms = window_end_ms(path)
    if end_ms is None:
        return False
    today = datetime.fromtimestamp(now, zone(EXCHANGE_TZ)).date()
    return end_ms <= _ny_midnight(today) and end_ms <= (now - settle) * 1000


def expires_at(query: str, now: float) -> float | None:
    """When a cached page goes stale: never for unadjusted bars; adjusted ones at the next
    06:00 New York (splits and dividends are applied overnight)."""
    if ("adjusted", "false") in parse_qsl(query):
        return None
    ny = zone(EXCHANGE_TZ)
    today = datetime.fromtimestamp(now, ny).date()
    refresh = datetime.combine(today, _ADJUSTED_REFRESH, tzinfo=ny)
    if refresh.timestamp() <= now:
        refresh = datetime.combine(today + timedelta(days=1), _ADJUSTED_REFRESH, tzinfo=ny)
    return refresh.timestamp()


def _error_body(status: str, message: str) -> bytes:
    """An error in the live API's shape, so every client's error handling reads it."""
    return msgspec.json.encode(
        {"status": status, "request_id": f"hub-{uuid.uuid4().hex}", "error": message}
    )


class RestRelay:
    """Answers clients' REST GETs through one upstream client; see the module docstring.

    ``clock`` is the wall clock (seconds) that decides what is finished history;
    ``monotonic`` and ``sleep`` pace retries (tests make them instant). A wait
    for the rate limit longer than ``max_hold`` seconds is passed on to clients
    as 429 with ``Retry-After``, so they say why they wait instead of timing out.
    ``max_per_minute`` spaces upstream requests evenly (None: as fast as allowed).
    """

    def __init__(
        self,
        upstream_base_url: str,
        api_key: str,
        public_base_url: str,
        cache_path: Path | None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 10.0,
        max_hold: float = 8.0,
        max_per_minute: float | None = None,
        settle: float = 3600.0,
        backoff: Backoff | None = None,
        use_cache: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        origin = urlsplit(upstream_base_url)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            raise ValueError(
                f"upstream REST URL must be http(s)://host[:port], not {upstream_base_url!r}"
            )
        self._public = public_base_url.rstrip("/")
        self._upstream = upstream_base_url.rstrip("/")
        # str.__str__ gets the real text even from a masking str subclass (config.Secret).
        key = str.__str__(api_key)
        # Masking a short string would mangle ordinary data ("k" is in every "ticker");
        # real keys are long, and a test key this short proves nothing either way.
        self._masks = [m.encode() for m in {key, quote(key, safe="")} if len(m) >= _MIN_MASK]
        headers = {"Accept": "application/json", "User-Agent": "ticktape-hub"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        loopback = origin.hostname in ("127.0.0.1", "localhost", "::1")
        self._http = httpx.AsyncClient(
            base_url=self._upstream,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect could carry the key's header elsewhere
            trust_env=not loopback,
        )
        self._cache = None
        if use_cache:
            self._cache = RestCache(cache_path or default_path(), clock=clock)
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._max_hold = max_hold
        self._interval = 60.0 / max_per_minute if max_per_minute else 0.0
        self._settle = settle
        self._backoff = backoff or Backoff(base=1.0, cap=60.0, jitter=0.5)
        self._resume_at = 0.0  # monotonic time before which nothing goes upstream
        self._next_slot = 0.0  # monotonic time of the next paced request
        self._inflight: dict[str, asyncio.Task[_Answer]] = {}
        #: Exchanges waiting for the rate limit, and since when (monotonic).
        self._held_since: dict[asyncio.Task[object] | None, float] = {}
        self._closed = False
        self._counts = dict.fromkeys(
            (
                "requests",
                "upstream_requests",
                "cache_hits",
                "cache_misses",
                "coalesced",
                "rate_limit_waits",
                "rate_limited_replies",
                "upstream_errors",
                "refused",
            ),
            0,
        )
        self._waited = 0.0

    # --- the interface the hub's HTTP layer calls -----------------------------------

    async def handle(self, path_and_query: str, *, public_base_url: str | None = None) -> Reply:
        """Answer one client GET (already authenticated by the hub) with status, headers, body.

        ``public_base_url`` overrides, for this reply, where ``next_url`` points (e.g. the
        address this client reached the hub at); the cache stores it hub-relative anyway.
        """
        self._counts["requests"] += 1
        if self._closed:
            return self._refuse(503, "the hub is shutting down")
        try:
            target = parse_target(path_and_query)
        except _Refused as why:
            return self._refuse(why.status, str(why))
        cacheable = self._cache is not None and finished(target.path, self._clock(), self._settle)
        if cacheable and self._cache is not None:
            page = self._cache.get(target.key)
            if page is not None:
                self._counts["cache_hits"] += 1
                answer = _Answer(page.status, page.content_type, page.body)
                return self._reply(answer, "hit", public_base_url)
            self._counts["cache_misses"] += 1
        task = self._inflight.get(target.key)
        how = "coalesced"
        if task is None:
            how = "miss" if cacheable else "pass"
            task = asyncio.get_running_loop().create_task(self._exchange(target, cacheable))
            self._inflight[target.key] = task
            task.add_done_callback(lambda _: self._inflight.pop(target.key, None))
        else:
            self._counts["coalesced"] += 1
        # Shielded: a client that hangs up must not cancel the answer others wait for.
        return self._reply(await asyncio.shield(task), how, public_base_url)

    def stats(self) -> dict[str, int | float]:
        """Counters for ``ticktape hub status`` (they only grow, except ``inflight``)."""
        cache = self._cache
        held = self._held_since.values()
        return {
            **self._counts,
            "inflight": len(self._inflight),
            "rate_limit_wait_s": round(self._waited, 3),
            # A held request is only a slow answer: a client may ask here why (ticktape
            # bars says "the hub is waiting for the rate limit").
            "rate_limit_holding": len(self._held_since),
            "rate_limit_held_s": round(self._monotonic() - min(held), 1) if held else 0.0,
            "cache_entries": cache.entries() if cache is not None else 0,
            "cache_recovered": cache.recovered if cache is not None else 0,
            "cache_errors": cache.errors if cache is not None else 0,
        }

    async def aclose(self) -> None:
        self._closed = True
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._http.aclose()
        if self._cache is not None:
            self._cache.close()

    # --- one upstream exchange, shared by every identical request --------------------

    async def _exchange(self, target: _Target, cacheable: bool) -> _Answer:
        try:
            answer = await self._fetch(target)
        except Exception:  # never let one odd answer take the hub down
            log.exception("REST relay failed on %s", target.path)
            self._counts["upstream_errors"] += 1
            return _Answer(502, "application/json", _error_body("ERROR", "the hub failed"))
        finally:  # held from its first wait for the rate limit until answered
            self._held_since.pop(asyncio.current_task(), None)
        if cacheable and self._cache is not None and _complete(answer):
            page = CachedPage(answer.status, answer.content_type, answer.body)
            expiry = expires_at(target.query, self._clock())
            await asyncio.to_thread(self._cache.put, target.key, page, expires_at=expiry)
        return answer

    async def _fetch(self, target: _Target) -> _Answer:
        """One answer from upstream, waiting out rate limits up to ``max_hold`` seconds."""
        started = self._monotonic()
        while True:
            if self._resume_at - started > self._max_hold:
                # Longer than a client waits on one request: tell it why and when to come back.
                return self._rate_limited(self._resume_at - self._monotonic())
            await self._pace()
            self._counts["upstream_requests"] += 1
            try:
                resp = await self._http.get(target.key)
            except httpx.TimeoutException:
                return self._failure(504, "the data server did not answer in time")
            except httpx.TransportError as err:
                return self._failure(502, f"cannot reach the data server ({type(err).__name__})")
            if resp.status_code != 429:
                self._backoff.reset()
                return self._answer(resp)
            hint = retry_after(resp)
            wait = hint if hint else self._backoff.next_delay()
            # A floor, so "Retry-After: 0" or a tiny jittered wait cannot turn into a hammering.
            wait = max(wait, _MIN_RETRY_WAIT)
            self._resume_at = max(self._resume_at, self._monotonic() + wait)

    async def _pace(self) -> None:
        """Wait while the plan's rate limit is used up, then for this request's slot."""
        waited = False
        while (delay := self._resume_at - self._monotonic()) > 0:
            if not waited:
                self._counts["rate_limit_waits"] += 1
                self._held_since.setdefault(asyncio.current_task(), self._monotonic())
                waited = True
            self._waited += delay
            await self._sleep(delay)
        if self._interval:
            now = self._monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
            if slot > now:
                await self._sleep(slot - now)

    def _answer(self, resp: httpx.Response) -> _Answer:
        body = self._mask(resp.content)
        content_type = resp.headers.get("Content-Type", "application/json")
        if resp.status_code >= 500:
            self._counts["upstream_errors"] += 1
            text = _server_text(body) or f"HTTP {resp.status_code}"
            return _Answer(
                502, "application/json", _error_body("ERROR", f"the data server failed ({text})")
            )
        if resp.status_code == 401:  # the client's token was fine (the hub checked it): ours
            text = _server_text(body) or "HTTP 401"
            message = f"the data server rejected the hub's API key ({text})"
            return _Answer(401, "application/json", _error_body("ERROR", message))
        if resp.status_code == 200 and "json" in content_type:
            body = self._relative_next_url(body)
        return _Answer(resp.status_code, content_type, body)

    def _failure(self, status: int, message: str) -> _Answer:
        self._counts["upstream_errors"] += 1
        return _Answer(status, "application/json", _error_body("ERROR", message))

    def _rate_limited(self, seconds: float) -> _Answer:
        self._counts["rate_limited_replies"] += 1
        message = "the plan's request rate is used up; the hub is waiting for the rate limit"
        return _Answer(429, "application/json", _error_body("ERROR", message), seconds)

    # --- bodies ---------------------------------------------------------------------

    def _mask(self, body: bytes) -> bytes:
        """The key never leaves the hub, even when the upstream echoes it back."""
        for mask in self._masks:
            body = body.replace(mask, b"****")
        return body

    def _relative_next_url(self, body: bytes) -> bytes:
        """``next_url`` as a hub-relative path without ``apiKey`` (stored so in the cache)."""
        url = _next_url(body)
        if url is None:
            return body
        parts = urlsplit(urljoin(self._upstream + "/", url[1]))
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        kept = urlencode([(k, v) for k, v in query if k.lower() != "apikey"], quote_via=quote)
        relative = parts.path + (f"?{kept}" if kept else "")
        return _replace_next_url(url[0], relative)

    def _reply(self, answer: _Answer, how: str, base: str | None) -> Reply:
        body = answer.body
        if answer.status == 200:
            url = _next_url(body)
            if url is not None and url[1].startswith("/"):
                public = base.rstrip("/") if base else self._public
                body = _replace_next_url(url[0], public + url[1])
        headers = [("Content-Type", answer.content_type), (CACHE_HEADER, how)]
        if answer.retry_after is not None:
            headers.append(("Retry-After", str(max(1, math.ceil(answer.retry_after)))))
        return answer.status, headers, body

    def _refuse(self, status: int, message: str) -> Reply:
        self._counts["refused"] += 1
        kind = "NOT_FOUND" if status == 404 else "ERROR"
        return status, [("Content-Type", "application/json")], _error_body(kind, message)


def _complete(answer: _Answer) -> bool:
    """A 200 whose status says the data is complete (never an error, never partial)."""
    if answer.status != 200:
        return False
    try:
        status = msgspec.json.decode(_top_level.decode(answer.body)["status"])
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
        return False
    return status in _FINISHED


def _next_url(body: bytes) -> tuple[dict[str, msgspec.Raw], str] | None:
    """The top-level fields (values left raw: nothing else is parsed) and ``next_url``."""
    if not body.startswith(b"{") or b'"next_url"' not in body:
        return None
    try:
        fields = _top_level.decode(body)
        url = _text.decode(fields["next_url"])
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
        return None
    return fields, url


def _replace_next_url(fields: dict[str, msgspec.Raw], url: str) -> bytes:
    fields["next_url"] = msgspec.Raw(msgspec.json.encode(url))
    return msgspec.json.encode(fields)


def _server_text(body: bytes) -> str:
    """The upstream's own words from an error body, shortened."""
    try:
        fields = msgspec.json.decode(body, type=dict[str, object])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body.decode("utf-8", "replace").strip()[:200]
    for name in ("error", "message", "status"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value[:200]
    return ""


__all__ = ["Reply", "RestRelay", "expires_at", "finished", "parse_target", "window_end_ms"]

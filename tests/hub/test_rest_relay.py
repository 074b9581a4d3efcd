"""REST through the hub, against the simulator's REST on 127.0.0.1 (and in-process fakes).

Every upstream request is counted where it leaves the relay (a transport wrapped
around the real one), so "one request" means one HTTP request on the wire.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from massive import RESTClient

from tests.sim.conftest import wait_for
from ticktape.feed.rest import RestClient, RetryWait
from ticktape.hub.rest import RestRelay, expires_at, finished, parse_target
from ticktape.sim.server import Simulator
from ticktape.timeutil import zone

KEY = "sk_HUB_TEST_5b7e2c9d41f0"
PUBLIC = "http://127.0.0.1:47001"
NY = zone("America/New_York")
#: The relay's "now": Wednesday 2024-03-06, noon in New York.
NOW = datetime(2024, 3, 6, 12, 0, tzinfo=NY).timestamp()
SEED = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-01/2024-03-05?limit=500"
TODAY = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-06/2024-03-06?limit=500"


class Upstream(httpx.AsyncBaseTransport):
    """The real transport, counting every request; ``gate`` holds requests until set."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []
        self.gate: asyncio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class FakeTime:
    """The relay's pacing clock: sleeping moves it on; ``hold`` keeps sleepers asleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.hold: asyncio.Event | None = None

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.hold is not None:
            await self.hold.wait()
        self.now += seconds


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(api_key=KEY) as server:
        yield server


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


def make_relay(
    url: str, tmp_path: Path, upstream: httpx.AsyncBaseTransport, **kw: Any
) -> RestRelay:
    kw.setdefault("clock", lambda: NOW)
    return RestRelay(url, KEY, PUBLIC, tmp_path / "rest.sqlite3", transport=upstream, **kw)


@pytest.fixture
async def relay(sim: Simulator, tmp_path: Path, upstream: Upstream) -> AsyncIterator[RestRelay]:
    r = make_relay(sim.rest_url, tmp_path, upstream)
    yield r
    await r.aclose()


async def page_through(relay: RestRelay, target: str) -> list[dict[str, Any]]:
    """Every page a client gets by following next_url through the hub."""
    pages = []
    next_target: str | None = target
    while next_target is not None:
        status, _, body = await relay.handle(next_target)
        assert status == 200, body
        page = json.loads(body)
        pages.append(page)
        url = page.get("next_url")
        if url is None:
            next_target = None
        else:
            assert url.startswith(PUBLIC + "/v2/aggs/"), url
            next_target = url[len(PUBLIC) :]
    return pages


async def page_directly(sim: Simulator, target: str) -> list[dict[str, Any]]:
    pages = []
    auth = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.rest_url, headers=auth) as http:
        url: str | None = target
        while url is not None:
            r = await http.get(url)
            assert r.status_code == 200, r.text
            pages.append(r.json())
            url = r.json().get("next_url")
    return pages


def bars(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for p in pages for b in p.get("results") or []]


# --- paging and the cache ------------------------------------------------------------


async def test_paging_through_the_relay_equals_paging_the_upstream_directly(
    sim: Simulator, relay: RestRelay, upstream: Upstream
) -> None:
    via_hub = await page_through(relay, SEED)
    direct = await page_directly(sim, SEED)
    # A client that reached the hub at another address is sent back to that address.
    _, _, body = await relay.handle(SEED, public_base_url="http://hub.lan:8000/")
    assert json.loads(body)["next_url"].startswith("http://hub.lan:8000/v2/aggs/ticker/AAPL/")
    assert len(via_hub) == len(direct) >= 3
    assert bars(via_hub) == bars(direct)
    assert len(bars(via_hub)) > 1000
    assert len(upstream.requests) == len(via_hub)
    for request in upstream.requests:  # the hub's key, in the header only
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert "apikey" not in str(request.url).lower()


async def test_a_second_identical_request_is_answered_from_the_cache(
    relay: RestRelay, upstream: Upstream
) -> None:
    status, headers, first = await relay.handle(SEED)
    # The same request spelled differently (order, the client's own apiKey) is the same page.
    again = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-01/2024-03-05?apiKey=tok&limit=500"
    status2, headers2, second = await relay.handle(again)
    assert (status, status2) == (200, 200)
    assert second == first
    assert ("X-Ticktape-Cache", "miss") in headers
    assert ("X-Ticktape-Cache", "hit") in headers2
    assert len(upstream.requests) == 1
    stats = relay.stats()
    assert (stats["cache_hits"], stats["cache_misses"], stats["upstream_requests"]) == (1, 1, 1)


async def test_a_restarted_relay_pages_finished_history_with_no_upstream_request(
    sim: Simulator, tmp_path: Path
) -> None:
    first_run = Upstream()
    relay = make_relay(sim.rest_url, tmp_path, first_run)
    before = await page_through(relay, SEED)
    await relay.aclose()
    assert len(first_run.requests) == len(before) >= 3

    second_run = Upstream()
    restarted = make_relay(sim.rest_url, tmp_path, second_run)
    try:
        after = await page_through(restarted, SEED)
    finally:
        await restarted.aclose()
    assert second_run.requests == []
    assert after == before


async def test_todays_bars_and_the_settling_hour_are_never_cached(
    sim: Simulator, tmp_path: Path
) -> None:
    just_after_midnight = datetime(2024, 3, 6, 0, 30, tzinfo=NY).timestamp()
    ms_in_today = int(datetime(2024, 3, 6, 10, 0, tzinfo=NY).timestamp() * 1000)
    cases = [
        (TODAY, NOW),
        ("/v2/aggs/ticker/AAPL/range/1/minute/2024-03-05/2024-03-06", NOW),
        (f"/v2/aggs/ticker/AAPL/range/1/minute/1709596800000/{ms_in_today}", NOW),
        ("/v2/aggs/ticker/AAPL/range/1/week/2024-02-26/2024-03-04", NOW),  # this week's bar
        ("/v2/aggs/ticker/AAPL/range/1/minute/2024-03-05/2024-03-05", just_after_midnight),
    ]
    for target, now in cases:
        upstream = Upstream()
        relay = make_relay(sim.rest_url, tmp_path, upstream, clock=lambda now=now: now)
        try:
            replies = [await relay.handle(target) for _ in range(2)]
        finally:
            await relay.aclose()
        assert [status for status, _, _ in replies] == [200, 200], target
        assert len(upstream.requests) == 2, target
        assert ("X-Ticktape-Cache", "pass") in replies[1][1]
    control = Upstream()
    relay = make_relay(sim.rest_url, tmp_path, control)
    try:
        for _ in range(2):
            await relay.handle("/v2/aggs/ticker/AAPL/range/1/minute/2024-03-05/2024-03-05")
        assert relay.stats()["cache_entries"] == 1
    finally:
        await relay.aclose()
    assert len(control.requests) == 1


@pytest.mark.parametrize(
    ("target", "now", "cached"),
    [
        ("/v2/aggs/ticker/AAPL/range/1/day/2023-03-06/2024-03-05", NOW, True),
        ("/v2/aggs/ticker/AAPL/range/1/day/2023-03-06/2024-03-06", NOW, False),
        ("/v2/aggs/ticker/AAPL/range/5/minute/2024-03-04/2024-03-05", NOW, True),
        ("/v2/aggs/ticker/AAPL/range/7/minute/2024-03-04/2024-03-05", NOW, False),  # crosses 0:00
        ("/v2/aggs/ticker/AAPL/range/1/month/2023-01-01/2024-03-01", NOW, False),
        ("/v2/aggs/ticker/AAPL/range/1/month/2023-01-01/2024-03-01", NOW + 40 * 86400, True),
        ("/v2/aggs/ticker/C:EURUSD/range/1/hour/2024-03-04/2024-03-05", NOW, True),
        ("/v2/aggs/ticker/AAPL/prev", NOW, False),
        ("/v3/reference/tickers", NOW, False),
    ],
)
def test_finished_history_rule(target: str, now: float, cached: bool) -> None:
    assert finished(target, now, settle=3600.0) is cached


def test_adjusted_pages_expire_at_the_next_six_oclock_in_new_york_unadjusted_never() -> None:
    morning = datetime(2024, 3, 6, 5, 0, tzinfo=NY).timestamp()
    assert expires_at("limit=10", morning) == datetime(2024, 3, 6, 6, 0, tzinfo=NY).timestamp()
    assert expires_at("adjusted=true", NOW) == datetime(2024, 3, 7, 6, 0, tzinfo=NY).timestamp()
    assert expires_at("adjusted=false&limit=10", NOW) is None


async def test_an_expired_adjusted_page_is_fetched_again(sim: Simulator, tmp_path: Path) -> None:
    now = [NOW]
    upstream = Upstream()
    relay = make_relay(sim.rest_url, tmp_path, upstream, clock=lambda: now[0])
    try:
        await relay.handle(SEED)
        await relay.handle(SEED)
        assert len(upstream.requests) == 1
        now[0] = datetime(2024, 3, 7, 6, 1, tzinfo=NY).timestamp()  # a split may have landed
        await relay.handle(SEED)
        assert len(upstream.requests) == 2
    finally:
        await relay.aclose()


async def test_errors_are_never_cached(tmp_path: Path) -> None:
    upstream = Upstream()
    async with Simulator(api_key=KEY, rest_markets=("stocks",)) as sim:
        relay = make_relay(sim.rest_url, tmp_path, upstream)
        try:
            forex = "/v2/aggs/ticker/C:EURUSD/range/1/day/2024-01-02/2024-01-05"
            replies = [await relay.handle(forex) for _ in range(2)]
            assert [status for status, _, _ in replies] == [403, 403]
            assert json.loads(replies[0][2])["status"] == "NOT_AUTHORIZED"
            sim.faults.rest_errors(500, 1)
            failed, _, body = await relay.handle(SEED)
            ok, _, _ = await relay.handle(SEED)
        finally:
            await relay.aclose()
    assert (failed, ok) == (502, 200)
    assert json.loads(body)["error"].startswith("the data server failed")
    assert len(upstream.requests) == 4


async def test_a_200_whose_status_is_not_ok_is_not_cached(tmp_path: Path) -> None:
    calls: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"status": "ERROR", "error": "try later"})

    relay = make_relay("https://api.example.test", tmp_path, httpx.MockTransport(api))
    try:
        replies = [await relay.handle(SEED) for _ in range(2)]
    finally:
        await relay.aclose()
    assert [status for status, _, _ in replies] == [200, 200]
    assert json.loads(replies[1][2])["error"] == "try later"
    assert len(calls) == 2


# --- coalescing ----------------------------------------------------------------------


@pytest.mark.parametrize("target", [SEED, TODAY], ids=["finished", "today"])
async def test_ten_concurrent_identical_requests_make_one_upstream_request(
    relay: RestRelay, upstream: Upstream, target: str
) -> None:
    upstream.gate = asyncio.Event()
    clients = [asyncio.create_task(relay.handle(target)) for _ in range(10)]
    await wait_for(lambda: relay.stats()["coalesced"] == 9 and len(upstream.requests) == 1)
    clients[0].cancel()  # one client hanging up must not cancel the answer for the others
    upstream.gate.set()
    replies = await asyncio.gather(*clients[1:])
    assert len(upstream.requests) == 1
    assert {status for status, _, _ in replies} == {200}
    assert len({body for _, _, body in replies}) == 1
    assert json.loads(replies[0][2])["resultsCount"] == 500


# --- the rate limit ------------------------------------------------------------------


async def test_rate_limited_upstream_makes_clients_wait_then_succeed(
    sim: Simulator, tmp_path: Path, upstream: Upstream
) -> None:
    clock = FakeTime()
    relay = make_relay(
        sim.rest_url, tmp_path, upstream, monotonic=clock.monotonic, sleep=clock.sleep
    )
    try:
        sim.faults.rest_errors(429, 2, retry_after=1)
        status, _, body = await relay.handle(SEED)
        assert status == 200
        assert clock.slept == [1.0, 1.0]  # Retry-After honoured, each time
        assert len(upstream.requests) == 3
        assert relay.stats()["rate_limit_waits"] == 2
        direct = await page_directly(sim, SEED)
        assert json.loads(body)["results"] == direct[0]["results"]

        # While the limit is used up, other requests queue in the hub instead of going out.
        clock.hold = asyncio.Event()
        sim.faults.rest_errors(429, 1, retry_after=5)
        first = asyncio.create_task(relay.handle(TODAY))
        await wait_for(lambda: len(clock.slept) == 3)
        other = "/v2/aggs/ticker/MSFT/range/1/minute/2024-03-06/2024-03-06"
        second = asyncio.create_task(relay.handle(other))
        await wait_for(lambda: len(clock.slept) == 4)
        assert len(upstream.requests) == 4  # only the request that met the 429
        clock.now += 3  # what a client asking the hub why it waits is told
        held = relay.stats()
        assert (held["rate_limit_holding"], held["rate_limit_held_s"]) == (2, 3.0)
        clock.hold.set()
        assert [r[0] for r in await asyncio.gather(first, second)] == [200, 200]
        assert len(upstream.requests) == 6
        assert relay.stats()["rate_limit_waits"] == 4
        assert relay.stats()["rate_limit_holding"] == 0
    finally:
        await relay.aclose()


async def test_requests_are_spaced_to_the_plans_rate(
    sim: Simulator, tmp_path: Path, upstream: Upstream
) -> None:
    clock = FakeTime()
    relay = make_relay(
        sim.rest_url,
        tmp_path,
        upstream,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        max_per_minute=5,  # the free plan
    )
    try:
        symbols = ("AAPL", "MSFT", "NVDA")
        targets = [f"/v2/aggs/ticker/{s}/range/1/day/2024-01-02/2024-01-05" for s in symbols]
        replies = await asyncio.gather(*(relay.handle(t) for t in targets))
    finally:
        await relay.aclose()
    assert [status for status, _, _ in replies] == [200, 200, 200]
    # One request every 12 s, the first at once: the last went out 24 s after the first.
    assert (clock.slept, clock.now) == ([12.0, 12.0], 1024.0)


async def test_a_long_rate_limit_reaches_clients_as_429_with_retry_after(
    sim: Simulator, tmp_path: Path, upstream: Upstream
) -> None:
    clock = FakeTime()
    relay = make_relay(
        sim.rest_url, tmp_path, upstream, monotonic=clock.monotonic, sleep=clock.sleep
    )
    try:
        sim.faults.rest_errors(429, 1, retry_after=30)
        status, headers, body = await relay.handle(SEED)
        assert status == 429
        assert ("Retry-After", "30") in headers
        assert "waiting for the rate limit" in json.loads(body)["error"]
        # Until the limit lifts, nothing more goes upstream: clients are told to come back.
        status, headers, _ = await relay.handle(TODAY)
        assert (status, len(upstream.requests)) == (429, 1)

        # ticktape's own client says why it waits, waits, and gets its bars.
        waits: list[RetryWait] = []
        client = RestClient(
            PUBLIC,
            "hub-token",
            on_wait=waits.append,
            sleep=clock.sleep,
            transport=httpx.MockTransport(through(relay)),
        )
        async with client:
            got = [
                b async for b in client.iter_aggs("AAPL", 1, "minute", "2024-03-05", "2024-03-05")
            ]
        assert got and [w.reason for w in waits] == ["rate_limited"]
        assert waits[0].seconds == 30.0
        assert relay.stats()["rate_limited_replies"] == 3
    finally:
        await relay.aclose()


# --- failures --------------------------------------------------------------------------


async def test_upstream_timeouts_and_refused_connections_become_504_and_502(
    tmp_path: Path,
) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    relay = make_relay("http://127.0.0.1:9", tmp_path, httpx.MockTransport(hang))
    try:
        status, _, body = await relay.handle(SEED)
    finally:
        await relay.aclose()
    assert status == 504
    assert json.loads(body) | {"request_id": ""} == {
        "status": "ERROR",
        "request_id": "",
        "error": "the data server did not answer in time",
    }
    # Nothing listens on the discard port: the connection is refused.
    refused = RestRelay("http://127.0.0.1:9", KEY, PUBLIC, tmp_path / "r.sqlite3")
    try:
        status, _, body = await refused.handle(SEED)
    finally:
        await refused.aclose()
    assert status == 502
    assert json.loads(body)["error"].startswith("cannot reach the data server")


async def test_requests_outside_the_rest_api_are_refused_without_reaching_upstream(
    relay: RestRelay, upstream: Upstream
) -> None:
    cases = {
        "/": 404,
        "/stocks": 404,
        "//evil.example/v2/aggs": 404,
        "/v2/../admin": 400,
        "/v2/aggs/%2E%2E/%2e%2e/admin": 400,
        "/v2/aggs//ticker": 400,
        "/v2/" + "a" * 9000: 414,
    }
    for target, want in cases.items():
        status, headers, body = await relay.handle(target)
        assert status == want, target
        assert ("Content-Type", "application/json") in headers
        assert json.loads(body)["status"] in ("ERROR", "NOT_FOUND")
    assert upstream.requests == []
    assert relay.stats()["refused"] == len(cases)


async def test_other_rest_paths_pass_through_uncached(tmp_path: Path) -> None:
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body = {"status": "OK", "ticker": "AAPL", "results": [{"c": 170.1, "T": "AAPL"}]}
        return httpx.Response(200, json=body)

    relay = make_relay("https://api.example.test", tmp_path, httpx.MockTransport(api))
    try:
        for _ in range(2):
            status, _, body = await relay.handle("/v2/aggs/ticker/AAPL/prev?adjusted=true")
            assert status == 200 and json.loads(body)["results"][0]["c"] == 170.1
        status, _, _ = await relay.handle("/v3/reference/tickers?search=app&apiKey=tok")
        assert status == 200
    finally:
        await relay.aclose()
    assert seen == [
        "https://api.example.test/v2/aggs/ticker/AAPL/prev?adjusted=true",
        "https://api.example.test/v2/aggs/ticker/AAPL/prev?adjusted=true",
        "https://api.example.test/v3/reference/tickers?search=app",
    ]


def test_canonical_targets_drop_the_key_and_order_parameters() -> None:
    a = parse_target(
        "/v2/aggs/ticker/A/range/1/day/2024-01-02/2024-01-05?sort=asc&apiKey=x&limit=5"
    )
    b = parse_target(
        "/v2/aggs/ticker/A/range/1/day/2024-01-02/2024-01-05?APIKEY=y&limit=5&sort=asc"
    )
    assert a == b
    assert a.key == "/v2/aggs/ticker/A/range/1/day/2024-01-02/2024-01-05?limit=5&sort=asc"


# --- the key --------------------------------------------------------------------------


def live_like_api(public_key_echo: str) -> Callable[[httpx.Request], httpx.Response]:
    """An upstream that behaves like the live API at its worst: the key in next_url
    (as ``apiKey``), and echoed in an error message."""

    def api(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        url = urlsplit(str(request.url))
        if "cursor=2" in url.query:
            return httpx.Response(200, json={"status": "OK", "results": [{"t": 2}]})
        if url.path.endswith("/prev"):
            return httpx.Response(401, json={"status": "ERROR", "error": public_key_echo})
        nxt = f"https://api.example.test{url.path}?cursor=2&apiKey={KEY}"
        return httpx.Response(200, json={"status": "OK", "results": [{"t": 1}], "next_url": nxt})

    return api


async def test_the_key_reaches_no_client_no_log_and_no_cache_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    api = live_like_api(f"Unknown API Key {KEY}")
    relay = make_relay("https://api.example.test", tmp_path, httpx.MockTransport(api))
    received = b""
    try:
        pages = await page_through(relay, "/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05")
        assert [b["t"] for b in bars(pages)] == [1, 2]
        assert "apikey" not in pages[0]["next_url"].lower()
        for target in (
            "/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05",  # from the cache
            f"/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-05?cursor=2&apiKey={KEY}",
            "/v2/aggs/ticker/AAPL/prev",
            "/nowhere",
        ):
            status, headers, body = await relay.handle(target)
            received += f"{status} {headers}".encode() + body
        received += json.dumps(pages).encode() + repr(relay.stats()).encode()
    finally:
        await relay.aclose()
    assert b"the data server rejected the hub's API key (Unknown API Key ****)" in received
    assert KEY.encode() not in received
    assert files_holding(tmp_path, KEY.encode()) == []
    assert KEY not in caplog.text


def files_holding(folder: Path, data: bytes) -> list[str]:
    """Names of the files in ``folder`` (the cache, its WAL, ...) whose bytes contain ``data``."""
    files = list(folder.iterdir())
    assert any(f.name == "rest.sqlite3" for f in files)
    return [f.name for f in files if data in f.read_bytes()]


# --- ticktape's own client ---------------------------------------------------------------


def through(relay: RestRelay) -> Callable[[httpx.Request], Any]:
    """An httpx transport handler that answers by calling the relay, as the hub does."""

    async def handle(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        status, headers, body = await relay.handle(target)
        return httpx.Response(status, headers=headers, content=body)

    return handle


async def test_ticktape_rest_client_pages_through_the_relay(
    sim: Simulator, relay: RestRelay
) -> None:
    async def bars_from(client: RestClient) -> list[Any]:
        async with client:
            pages = client.iter_pages("AAPL", 1, "minute", "2024-03-04", "2024-03-05", limit=400)
            return [p async for p in pages]

    via_hub = await bars_from(
        RestClient(PUBLIC, "hub-token", transport=httpx.MockTransport(through(relay)))
    )
    direct = await bars_from(RestClient(sim.rest_url, KEY))
    assert len(via_hub) >= 3
    assert via_hub == direct


@contextmanager
def http_front(relay: RestRelay, loop: asyncio.AbstractEventLoop) -> Iterator[str]:
    """A minimal HTTP server on 127.0.0.1 that answers GETs with ``relay.handle`` (the
    hub's HTTP layer does this for real); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            reply = asyncio.run_coroutine_threadsafe(relay.handle(self.path), loop)
            status, headers, body = reply.result(30)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def test_the_official_client_pages_aggregates_through_the_relay(
    sim: Simulator, relay: RestRelay
) -> None:
    def listing(base: str, key: str) -> list[tuple[int, float, float]]:
        rest = RESTClient(key, base=base, retries=0)
        aggs = rest.list_aggs("AAPL", 1, "minute", "2024-03-01", "2024-03-05", limit=500)
        return [(a.timestamp, a.close, a.volume) for a in aggs]

    with http_front(relay, asyncio.get_running_loop()) as hub:
        via_hub = await asyncio.to_thread(listing, hub, "hub-token")
        pages = sim.rest_requests
        again = await asyncio.to_thread(listing, hub, "hub-token")
        assert sim.rest_requests == pages >= 3  # the second listing came from the cache
    direct = await asyncio.to_thread(listing, sim.rest_url, KEY)
    assert len(via_hub) > 1000 and via_hub == direct == again


async def test_a_corrupt_cache_file_is_moved_aside_and_the_relay_still_caches(
    sim: Simulator, tmp_path: Path, upstream: Upstream
) -> None:
    (tmp_path / "rest.sqlite3").write_bytes(b"this is not a database " * 200)
    relay = make_relay(sim.rest_url, tmp_path, upstream)
    try:
        replies = [await relay.handle(SEED) for _ in range(2)]
        stats = relay.stats()
    finally:
        await relay.aclose()
    assert [status for status, _, _ in replies] == [200, 200]
    assert len(upstream.requests) == 1
    assert stats["cache_recovered"] == 1
    assert (tmp_path / "rest.sqlite3.corrupt").read_bytes().startswith(b"this is not")


def test_the_cached_seed_benchmark_reports_its_figures() -> None:
    from benchmarks import bench_hub_rest

    result = bench_hub_rest.run(rounds=1)
    for key in ("hub_rest_cached_ms", "hub_rest_cached_client_ms", "hub_rest_upstream_ms"):
        value = result[key]
        assert isinstance(value, float) and value > 0, key
    assert result["hub_rest_pages"] == 5 and result["hub_rest_bars"] == 4800

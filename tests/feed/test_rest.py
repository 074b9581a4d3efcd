"""RestClient against a real HTTP server on 127.0.0.1 that records every request."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ticktape.config import Secret
from ticktape.feed.events import Agg
from ticktape.feed.rest import (
    AuthError,
    NetworkError,
    NotEntitledError,
    RateLimitedError,
    RestClient,
    RestError,
    RetryWait,
    ServerError,
)

KEY = "sk_TEST_6f1d0c9e2b"
AGGS_PATH = "/v2/aggs/ticker/AAPL/range/1/minute/2024-01-02/2024-01-03"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    target: str  # the request line's target: path and query
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


HANG = None  # a script returning this never answers (until the test ends)
Script = Callable[[Seen, int], Reply | None]


def ok(results: Any = (), next_url: str | None = None, **extra: Any) -> Reply:
    body: dict[str, Any] = {"status": "OK", "ticker": "AAPL", **extra}
    body["results"] = None if results is None else list(results)
    if next_url is not None:
        body["next_url"] = next_url
    return Reply(200, json.dumps(body).encode())


def error(status: int, obj: dict[str, str], *headers: tuple[str, str]) -> Reply:
    return Reply(status, json.dumps(obj).encode(), headers)


def bar(t: int, close: float = 100.0) -> dict[str, Any]:
    return {"o": close, "h": close + 1, "l": close - 1, "c": close, "v": 10, "t": t, "n": 3}


class FakeApi:
    """A threaded HTTP/1.1 server answering from ``script(request, index)``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.script: Script = lambda seen, n: Reply(404, b'{"error":"no script"}')
        self.released = threading.Event()
        self._cond = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                with api._cond:
                    index = len(api.requests)
                    api.requests.append(seen)
                    api._cond.notify_all()
                reply = api.script(seen, index)
                if reply is None:
                    api.released.wait(30)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval keeps shutdown (once per test) quick.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[Seen]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.requests) >= n, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


class Recorder:
    """Instant, recorded sleeps and waits: retries run without real delays."""

    def __init__(self) -> None:
        self.waits: list[RetryWait] = []
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def client(api: FakeApi, rec: Recorder | None = None, **kw: Any) -> RestClient:
    rec = rec or Recorder()
    kw.setdefault("timeout", 5.0)
    return RestClient(api.url, KEY, on_wait=rec.waits.append, sleep=rec.sleep, **kw)


async def collect(rest: RestClient, **kw: Any) -> list[Agg]:
    args: dict[str, Any] = {"from_": "2024-01-02", "to": "2024-01-03", **kw}
    async with rest:
        return [b async for b in rest.iter_aggs("AAPL", 1, "minute", **args)]


def assert_key_only_in_header(requests: list[Seen]) -> None:
    assert requests
    for seen in requests:
        assert KEY not in seen.target
        assert "apikey" not in seen.target.lower()
        assert seen.headers["authorization"] == f"Bearer {KEY}"


def assert_no_key(err: BaseException) -> None:
    assert KEY not in str(err)
    assert KEY not in repr(err)


async def test_follows_next_url_across_three_pages_without_leaking_the_key(api: FakeApi) -> None:
    # The real server puts apiKey in next_url; we must drop it and still page on.
    def script(seen: Seen, n: int) -> Reply:
        cursor = seen.query.get("cursor", ["p1"])[0]
        page = {"p1": 0, "p2": 1, "p3": 2}[cursor]
        nxt = {
            "p1": f"{api.url}{AGGS_PATH}?cursor=p2&apiKey={KEY}",
            "p2": f"{api.url}{AGGS_PATH}?apiKey={KEY}&cursor=p3",
            "p3": None,
        }[cursor]
        return ok([bar(page * 2), bar(page * 2 + 1)], nxt)

    api.script = script
    rest = client(api)
    async with rest:
        pages = [p async for p in rest.iter_pages("AAPL", 1, "minute", "2024-01-02", "2024-01-03")]
    assert [[b.timestamp for b in p] for p in pages] == [[0, 1], [2, 3], [4, 5]]
    assert pages[0][0] == Agg(100.0, 101.0, 99.0, 100.0, 10, 0, transactions=3)
    requests = api.wait_for_requests(3)
    assert len(requests) == 3
    assert [s.query.get("cursor") for s in requests] == [None, ["p2"], ["p3"]]
    assert requests[0].target == f"{AGGS_PATH}?adjusted=true&sort=asc&limit=50000"
    assert_key_only_in_header(requests)


async def test_iter_aggs_flattens_pages(api: FakeApi) -> None:
    api.script = lambda seen, n: (
        ok([bar(1), bar(2)], f"{api.url}{AGGS_PATH}?cursor=c") if n == 0 else ok([bar(3)])
    )
    assert [b.timestamp for b in await collect(client(api))] == [1, 2, 3]


async def test_next_url_on_another_host_is_followed_on_the_configured_host(api: FakeApi) -> None:
    # next_url is untrusted wire text: the key must never go to a host the user did not choose.
    api.script = lambda seen, n: (
        ok([bar(1)], f"https://elsewhere.invalid{AGGS_PATH}?cursor=x&APIKEY={KEY}")
        if n == 0
        else ok([bar(2)])
    )
    assert [b.timestamp for b in await collect(client(api))] == [1, 2]
    requests = api.wait_for_requests(2)
    assert requests[1].target == f"{AGGS_PATH}?cursor=x"
    assert_key_only_in_header(requests)


async def test_a_repeated_cursor_ends_paging_instead_of_looping(api: FakeApi) -> None:
    api.script = lambda seen, n: ok([bar(n)], f"{api.url}{AGGS_PATH}?cursor=same")
    assert [b.timestamp for b in await collect(client(api))] == [0, 1]


async def test_429_waits_for_retry_after_then_succeeds(api: FakeApi) -> None:
    body = {"status": "ERROR", "error": "You've exceeded the maximum requests per minute"}
    limited = error(429, body, ("Retry-After", "7"))
    api.script = lambda seen, n: limited if n == 0 else ok([bar(5)])
    rec = Recorder()
    bars = await collect(client(api, rec))
    assert [b.timestamp for b in bars] == [5]
    assert rec.waits == [RetryWait("rate_limited", 7.0, 1)]
    assert rec.slept == [7.0]
    assert_key_only_in_header(api.wait_for_requests(2))


async def test_429_without_retry_after_backs_off_and_finally_gives_up(api: FakeApi) -> None:
    body = {"status": "ERROR", "error": "You've exceeded the maximum requests per minute"}
    api.script = lambda seen, n: error(429, body)
    rec = Recorder()
    with pytest.raises(RateLimitedError) as info:
        await collect(client(api, rec, max_retries=2, rand=lambda: 1.0, backoff_base=3.0))
    assert [(w.reason, w.seconds, w.attempt) for w in rec.waits] == [
        ("rate_limited", 3.0, 1),
        ("rate_limited", 6.0, 2),
    ]
    assert "maximum requests per minute" in str(info.value)
    assert info.value.status == 429
    assert len(api.wait_for_requests(3)) == 3
    assert_no_key(info.value)


async def test_500_is_retried_with_jittered_backoff(api: FakeApi) -> None:
    replies = [error(500, {"error": "boom"}), error(502, {"error": "bad gateway"}), ok([bar(9)])]
    api.script = lambda seen, n: replies[n]
    rec = Recorder()
    bars = await collect(client(api, rec, rand=lambda: 0.5, backoff_base=1.0))
    assert [b.timestamp for b in bars] == [9]
    assert rec.waits == [RetryWait("server_error", 0.5, 1), RetryWait("server_error", 1.0, 2)]
    assert rec.slept == [0.5, 1.0]


async def test_backoff_is_capped_and_server_errors_end_in_server_error(api: FakeApi) -> None:
    api.script = lambda seen, n: error(503, {"error": "maintenance"})
    rec = Recorder()
    rest = client(api, rec, max_retries=6, rand=lambda: 1.0, backoff_base=1.0, backoff_cap=4.0)
    with pytest.raises(ServerError) as info:
        await collect(rest)
    assert rec.slept == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert "after 7 attempts" in str(info.value)
    assert "maintenance" in str(info.value)


async def test_401_says_the_key_was_rejected_and_is_not_retried(api: FakeApi) -> None:
    api.script = lambda seen, n: error(401, {"status": "ERROR", "error": "Unknown API Key"})
    rec = Recorder()
    with pytest.raises(AuthError) as info:
        await collect(client(api, rec))
    message = str(info.value)
    assert message.startswith("the API key was rejected")
    assert "Unknown API Key" in message
    assert "POLYGON_API_KEY" in message
    assert info.value.status == 401
    assert rec.waits == []
    assert len(api.requests) == 1


async def test_error_text_echoing_the_key_is_masked(api: FakeApi) -> None:
    api.script = lambda seen, n: error(401, {"error": f"Unknown API Key {KEY}"})
    with pytest.raises(AuthError) as info:
        await collect(client(api))
    assert "Unknown API Key ****" in str(info.value)
    assert_no_key(info.value)


async def test_403_carries_the_servers_message(api: FakeApi) -> None:
    text = "You are not entitled to this data. Please upgrade your plan at https://massive.com"
    api.script = lambda seen, n: error(403, {"status": "NOT_AUTHORIZED", "message": text})
    with pytest.raises(NotEntitledError) as info:
        await collect(client(api))
    assert info.value.server_message == text
    assert text in str(info.value)
    assert "your plan does not include this data" in str(info.value)
    assert len(api.requests) == 1


async def test_other_4xx_is_a_plain_rest_error_with_the_server_text(api: FakeApi) -> None:
    api.script = lambda seen, n: Reply(400, b"multiplier must be positive")
    with pytest.raises(RestError) as info:
        await collect(client(api))
    assert type(info.value) is RestError
    assert "HTTP 400" in str(info.value)
    assert "multiplier must be positive" in str(info.value)


@pytest.mark.parametrize(
    "reply",
    [ok([]), ok(None), Reply(200, b'{"status":"OK","ticker":"AAPL","resultsCount":0}')],
    ids=["empty", "null", "missing"],
)
async def test_no_results_means_no_bars_not_an_error(api: FakeApi, reply: Reply) -> None:
    api.script = lambda seen, n: reply
    rest = client(api)
    async with rest:
        pages = [p async for p in rest.iter_pages("AAPL", 1, "minute", "2024-01-02", "2024-01-03")]
    assert pages == []


async def test_unreadable_200_body_is_a_rest_error(api: FakeApi) -> None:
    api.script = lambda seen, n: Reply(200, b"<html>proxy login</html>")
    with pytest.raises(RestError, match="cannot read"):
        await collect(client(api))


async def test_timeouts_are_retried_then_raise_network_error(api: FakeApi) -> None:
    api.script = lambda seen, n: HANG
    rec = Recorder()
    with pytest.raises(NetworkError) as info:
        await collect(client(api, rec, timeout=0.2, max_retries=2, rand=lambda: 0.25))
    assert [(w.reason, w.attempt) for w in rec.waits] == [("timeout", 1), ("timeout", 2)]
    assert "timed out" in str(info.value)
    assert_key_only_in_header(api.wait_for_requests(3))
    assert_no_key(info.value)


async def test_connection_refused_is_retried_then_raises_network_error() -> None:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        rec = Recorder()
        rest = RestClient(url, KEY, max_retries=1, on_wait=rec.waits.append, sleep=rec.sleep)
        with pytest.raises(NetworkError, match="connection failed"):
            await collect(rest)
    assert [w.reason for w in rec.waits] == ["connection"]


async def test_request_shape_for_each_kind_of_date_bound(api: FakeApi) -> None:
    api.script = lambda seen, n: ok([])
    rest = client(api)
    async with rest:
        bounds: list[tuple[Any, Any]] = [
            (date(2024, 1, 2), datetime(2024, 1, 3, 14, 30, tzinfo=UTC)),
            ("2024-01-02", 1704292200000),
        ]
        for from_, to in bounds:
            pages = rest.iter_pages(
                "C:EURUSD", 5, "hour", from_, to, adjusted=False, sort="desc", limit=10
            )
            assert [p async for p in pages] == []
    path = "/v2/aggs/ticker/C:EURUSD/range/5/hour/2024-01-02/1704292200000"
    query = "adjusted=false&sort=desc&limit=10"
    assert [s.target for s in api.wait_for_requests(2)] == [f"{path}?{query}"] * 2


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("AAPL", 1, "fortnight", "2024-01-02", "2024-01-03"), "timespan"),
        (("AAPL", 0, "minute", "2024-01-02", "2024-01-03"), "multiplier"),
        (("AAPL", 1, "minute", "01/02/2024", "2024-01-03"), "YYYY-MM-DD"),
        (("", 1, "minute", "2024-01-02", "2024-01-03"), "ticker"),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    api: FakeApi, args: tuple[Any, ...], problem: str
) -> None:
    async with client(api) as rest:
        with pytest.raises(ValueError, match=problem):
            await anext(rest.iter_aggs(*args))
    assert api.requests == []


async def test_a_masked_secret_key_is_still_sent_for_real(api: FakeApi) -> None:
    api.script = lambda seen, n: ok([bar(1)])
    async with RestClient(api.url, Secret(KEY)) as rest:
        bars = [b async for b in rest.iter_aggs("AAPL", 1, "minute", "2024-01-02", "2024-01-03")]
    assert len(bars) == 1
    assert_key_only_in_header(api.wait_for_requests(1))


async def test_a_key_echoed_across_the_length_clip_is_still_masked(api: FakeApi) -> None:
    padding = "x" * (300 - len(KEY) // 2)  # the key straddles the 300-character clip
    api.script = lambda seen, n: error(401, {"error": f"{padding}{KEY} rejected"})
    with pytest.raises(AuthError) as info:
        await collect(client(api))
    assert KEY[: len(KEY) // 2] not in str(info.value)

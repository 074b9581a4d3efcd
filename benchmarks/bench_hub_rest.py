"""REST through the hub: a 5-day minute-bar seed answered from the hub's sqlite3 cache.

    .venv/bin/python -m benchmarks hub_rest [--rounds N]

The simulator (in this process, on 127.0.0.1) is the upstream. One relay pages
the seed once, which fills the cache; then, each round, a *new* relay on the
same cache file (a restarted hub: cold connections, nothing in memory) answers
every page of the same seed. Figures (medians):

* ``hub_rest_cached_ms``: the relay answering all pages (cache read, the
  ``next_url`` rewrite, the reply) with the client side following ``next_url``.
  Target ≤ 20 ms. Upstream requests during these rounds must be zero.
* ``hub_rest_cached_client_ms``: the same seed as the app gets it, through
  ticktape's ``RestClient`` (decoding every bar), with the relay answering
  in-process instead of over a socket.
* ``hub_rest_upstream_ms``: the first, uncached pass through the relay, for scale.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Final

import httpx
import msgspec

from benchmarks import Result, median, require

SEED: Final = "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-04/2024-03-08"
LIMIT: Final = 1000  # several pages, as a plan with a small page size would get
PUBLIC: Final = "http://127.0.0.1:1"
KEY: Final = "bench-key-not-a-secret"


class _Page(msgspec.Struct):
    next_url: str | None = None
    resultsCount: int = 0


_page: Final = msgspec.json.Decoder(_Page)


async def _page_through(relay: object) -> tuple[int, int]:
    """(pages, bars) a client gets by following next_url through the relay."""
    from ticktape.hub.rest import RestRelay

    assert isinstance(relay, RestRelay)
    # The query ticktape's RestClient sends, so both measurements read the same pages.
    target: str | None = f"{SEED}?adjusted=true&sort=asc&limit={LIMIT}"
    pages = bars = 0
    while target is not None:
        status, _, body = await relay.handle(target)
        if status != 200:
            raise RuntimeError(f"the relay answered {status}: {body[:200]!r}")
        page = _page.decode(body)
        pages, bars = pages + 1, bars + page.resultsCount
        target = page.next_url[len(PUBLIC) :] if page.next_url else None
    return pages, bars


async def _measure(rounds: int) -> Result:
    from ticktape.feed.rest import RestClient
    from ticktape.hub.rest import RestRelay
    from ticktape.sim.server import Simulator

    with tempfile.TemporaryDirectory(prefix="ticktape-bench-") as tmp:
        cache = Path(tmp) / "rest.sqlite3"
        async with Simulator(api_key=KEY) as sim:
            warm = RestRelay(sim.rest_url, KEY, PUBLIC, cache)
            t0 = time.perf_counter()
            pages, bars = await _page_through(warm)
            upstream_ms = (time.perf_counter() - t0) * 1000
            await warm.aclose()

            cached: list[float] = []
            client_ms: list[float] = []
            upstream_requests = 0
            for _ in range(rounds):
                relay = RestRelay(sim.rest_url, KEY, PUBLIC, cache)
                t0 = time.perf_counter()
                await _page_through(relay)
                cached.append((time.perf_counter() - t0) * 1000)

                async def through(
                    request: httpx.Request, relay: RestRelay = relay
                ) -> httpx.Response:
                    status, headers, body = await relay.handle(request.url.raw_path.decode())
                    return httpx.Response(status, headers=headers, content=body)

                client = RestClient(PUBLIC, "hub-token", transport=httpx.MockTransport(through))
                async with client:
                    t0 = time.perf_counter()
                    got = [
                        b
                        async for b in client.iter_aggs(
                            "AAPL", 1, "minute", "2024-03-04", "2024-03-08", limit=LIMIT
                        )
                    ]
                    client_ms.append((time.perf_counter() - t0) * 1000)
                if len(got) != bars:
                    raise RuntimeError(f"the client got {len(got)} bars, not {bars}")
                upstream_requests += int(relay.stats()["upstream_requests"])
                await relay.aclose()
    if upstream_requests:
        raise RuntimeError(f"{upstream_requests} upstream requests while answering from cache")
    return {
        "hub_rest_cached_ms": median(cached),
        "hub_rest_cached_max_ms": max(cached),
        "hub_rest_cached_client_ms": median(client_ms),
        "hub_rest_upstream_ms": upstream_ms,
        "hub_rest_pages": pages,
        "hub_rest_bars": bars,
    }


def run(*, rounds: int = 20) -> Result:
    require("ticktape.hub.rest", "ticktape.sim.server")
    return asyncio.run(_measure(rounds))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<28} {value}")

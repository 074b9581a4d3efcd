"""The official client (PyPI ``massive``) works against the simulator unmodified."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from massive import RESTClient, WebSocketClient
from massive.exceptions import AuthError, BadResponse
from massive.websocket.models import EquityAgg, EquityQuote, EquityTrade

from tests.sim.conftest import DEADLINE
from ticktape.sim.server import Simulator


async def run_until(client: WebSocketClient, enough: Any) -> list[Any]:
    """Run ``client.connect`` until ``enough(messages)``; then close it."""
    got: list[Any] = []
    done = asyncio.Event()

    async def handler(msgs: list[Any]) -> None:
        got.extend(msgs)
        if enough(got):
            done.set()

    task = asyncio.create_task(client.connect(handler))
    waiter = asyncio.create_task(done.wait())
    try:
        finished, _ = await asyncio.wait(
            {task, waiter}, timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED
        )
        if task in finished:
            task.result()  # raise what the client raised
        assert waiter in finished, "the official client did not get what it needed in time"
    finally:
        waiter.cancel()
        await client.close()
        await asyncio.wait({task}, timeout=DEADLINE)
    return got


async def test_websocket_client_gets_typed_trades_quotes_and_minute_bars() -> None:
    async with Simulator(rate=4000, speed=600, api_key="k") as sim:
        ws = WebSocketClient(
            api_key="k",
            feed=sim.ws_url.removeprefix("ws://"),
            market="stocks",
            secure=False,
            subscriptions=["T.AAPL", "Q.AAPL", "AM.AAPL"],
        )
        kinds = (EquityTrade, EquityQuote, EquityAgg)
        got = await run_until(
            ws, lambda msgs: all(any(isinstance(m, k) for m in msgs) for k in kinds)
        )
        assert {type(m) for m in got} <= set(kinds)
        assert {m.symbol for m in got} == {"AAPL"}
        trade = next(m for m in got if isinstance(m, EquityTrade))
        assert trade.price and trade.size and trade.timestamp and trade.event_type == "T"
        quote = next(m for m in got if isinstance(m, EquityQuote))
        assert quote.bid_price and quote.ask_price and quote.bid_price <= quote.ask_price
        bar = next(m for m in got if isinstance(m, EquityAgg))
        assert bar.event_type == "AM" and bar.end_timestamp - bar.start_timestamp == 60_000


async def test_websocket_client_wrong_key_raises_auth_error() -> None:
    async with Simulator(rate=100, api_key="right") as sim:
        ws = WebSocketClient(
            api_key="wrong",
            feed=sim.ws_url.removeprefix("ws://"),
            market="stocks",
            secure=False,
            subscriptions=["T.AAPL"],
        )

        async def handler(msgs: list[Any]) -> None:
            raise AssertionError("no messages expected")

        with pytest.raises(AuthError):
            await asyncio.wait_for(ws.connect(handler), DEADLINE)


async def test_rest_client_lists_every_bar_across_pages() -> None:
    now = int(time.time() * 1000)
    frm, to = now - 4 * 3_600_000, now
    async with Simulator(api_key="k") as sim:
        rest = RESTClient("k", base=sim.rest_url, retries=3)
        sim.faults.rest_errors(429, 2, retry_after=0)  # it retries through rate limits
        paged = await asyncio.to_thread(
            lambda: list(rest.list_aggs("AAPL", 1, "minute", frm, to, limit=60))
        )
        pages = sim.rest_requests - 2
        whole = await asyncio.to_thread(
            lambda: list(rest.list_aggs("AAPL", 1, "minute", frm, to, limit=50_000))
        )
        assert pages >= 4
        assert len(paged) == len(whole) >= 200
        assert [(a.timestamp, a.close, a.volume) for a in paged] == [
            (a.timestamp, a.close, a.volume) for a in whole
        ]
        bad = RESTClient("nope", base=sim.rest_url, retries=0)
        with pytest.raises(BadResponse, match="Unknown API Key"):
            await asyncio.to_thread(
                lambda: list(bad.list_aggs("AAPL", 1, "day", "2024-01-02", "2024-01-05"))
            )

"""The README's lines for the official client, run as written against a hub on 127.0.0.1:
its WebSocket gets trades through the hub's one upstream connection, its REST pages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from massive.websocket.models import EquityTrade

from tests.commands.test_bars_hub import announce
from tests.hub.conftest import REAL_KEY, hub_on_sim
from tests.sim.test_official_client import run_until
from ticktape.hub.rest import RestRelay

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_lines() -> str:
    """The Python block of the README's hub section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The hub") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_readmes_lines_connect_the_official_client_through_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    async with hub_on_sim() as (sim, hub):
        hub.rest = relay = RestRelay(sim.rest_url, REAL_KEY, hub.rest_url, tmp_path / "c.sqlite3")
        try:
            announce(tmp_path / "ticktape", hub.server.port, sim.rest_url)
            scope: dict[str, Any] = {}
            exec(compile(readme_lines(), str(README), "exec"), scope)
            ws, rest = scope["ws"], scope["rest"]
            ws.subscribe("T.AAPL")
            got = await run_until(ws, lambda m: sum(isinstance(x, EquityTrade) for x in m) >= 3)
            days = ("2024-06-10", "2024-06-11")
            aggs = await asyncio.to_thread(
                lambda: list(rest.list_aggs("AAPL", 1, "minute", *days, limit=500))
            )
        finally:
            await relay.aclose()
    assert {m.symbol for m in got if isinstance(m, EquityTrade)} == {"AAPL"}
    assert len(aggs) > 1000 and sim.rest_requests >= 3  # pages, through the hub
    assert sim.stats.accepted == 1  # one upstream connection, the hub's

"""A ticktape app on an edge hub: live data from the origin through NATS, and the status
bar says "origin unreachable" while NATS is down, never a silent stall."""

from __future__ import annotations

from pathlib import Path

from tests.link.test_hub_chain import chain
from tests.ui.conftest import until
from ticktape.config import Settings
from ticktape.link.connect import NatsOptions
from ticktape.link.natsserver import NatsServer
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp

SYMBOLS = ("AAPL", "MSFT", "NVDA")


async def test_an_app_on_an_edge_is_live_and_says_when_the_origin_is_unreachable(
    sim: Simulator, nats_options: NatsOptions, nats_server: NatsServer, tmp_path: Path
) -> None:
    async with chain(sim, nats_options) as (_, edge, _other):
        settings = Settings(
            config_path=tmp_path / "config.toml", watchlist=SYMBOLS, theme="ticktape-dark"
        ).with_(ws_url=edge.ws_url, rest_url=edge.rest_url, api_key="edge-token-0")
        app = TicktapeApp(settings, feed_label="LIVE via hub")
        async with app.run_test(size=(120, 36)) as pilot:
            bar = app.main.status
            await until(pilot, lambda: app.state.get("AAPL") is not None, within=20)
            assert "LIVE via hub" in bar.plain
            nats_server.stop()
            await until(
                pilot, lambda: "origin unreachable" in bar.plain, within=20, seen=lambda: bar.plain
            )
            nats_server.start()
            await until(pilot, lambda: "upstream" not in bar.plain, within=30)
            assert app.feed.session is not None
            decoded = app.feed.session.stats.decode
            seen = decoded.events
            await until(pilot, lambda: decoded.events > seen, within=20)  # data resumes
            assert app.feed.session.connections == 1  # the app never had to reconnect

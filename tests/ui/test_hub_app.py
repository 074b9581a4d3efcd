"""The app through a hub: it shares the upstream with other clients and says what the
hub's upstream is doing."""

from __future__ import annotations

from tests.hub.conftest import TOKEN, hub_on_sim
from tests.sim.conftest import client
from ticktape.config import Settings
from ticktape.feed.backoff import Backoff
from ticktape.feed.events import Trade
from ticktape.ui.app import TicktapeApp

from .conftest import until

SYMBOLS = ("AAPL", "MSFT", "NVDA")


async def test_app_and_raw_client_share_the_hub_and_the_app_says_upstream_reconnecting(
    settings: Settings,
) -> None:
    slow_retry = {"backoff": Backoff(base=1.5, cap=1.5, jitter=0.0)}  # long enough to see
    async with (
        hub_on_sim(
            sim={"symbols": SYMBOLS, "rate": 300.0, "speed": 1.0}, session_options=slow_retry
        ) as (sim, hub),
        client(hub, key=TOKEN) as raw,
    ):
        app = TicktapeApp(
            settings.with_(
                ws_url=hub.ws_url, rest_url=hub.rest_url, api_key=TOKEN, watchlist=SYMBOLS
            ),
            feed_label="LIVE via hub",
        )
        async with app.run_test(size=(120, 36)) as pilot:
            bar = app.main.status
            await until(pilot, lambda: app.state.get("AAPL") is not None, within=20)
            await raw.send("subscribe", "T.MSFT")
            got = await raw.events(lambda got: any(isinstance(e, Trade) for e in got))
            assert {e.key for e in got} == {"MSFT"}
            assert sim.stats.accepted == 1  # one upstream connection for both
            assert "upstream" not in bar.plain
            await until(pilot, lambda: "LIVE via hub (2 clients)" in bar.plain)  # app + raw

            sim.faults.kick_all()
            await until(pilot, lambda: "upstream reconnecting" in bar.plain, within=20)
            assert app.feed.session is not None
            decoded = app.feed.session.stats.decode
            await until(pilot, lambda: "upstream" not in bar.plain, within=20)
            seen = decoded.events
            await until(pilot, lambda: decoded.events > seen, within=20)  # data resumes
            assert app.feed.session.connections == 1  # the app never reconnected nor resubscribed
            assert sim.stats.accepted == 2  # the hub reconnected, once


async def test_a_mixed_list_through_the_hub_gets_one_upstream_per_cluster(
    settings: Settings,
) -> None:
    mixed = ("AAPL", "BTC-USD", "EUR/USD")
    async with hub_on_sim(sim={"symbols": mixed, "rate": 300.0, "speed": 1.0}) as (_sim, hub):
        app = TicktapeApp(
            settings.with_(
                ws_url=hub.ws_url, rest_url=hub.rest_url, api_key=TOKEN, watchlist=mixed
            ),
            feed_label="LIVE via hub",
        )
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: all(app.state.get(s) is not None for s in mixed), 20)
            # the hub opened its upstream on each cluster with that cluster's symbols only
            upstream = {c: set(up.session.subscribed) for c, up in hub.upstreams.items()}
            assert upstream["crypto"] == {"XT.BTC-USD", "XQ.BTC-USD", "XA.BTC-USD"}
            assert upstream["forex"] == {"C.EUR/USD", "CA.EUR/USD"}
            assert {p.partition(".")[2] for p in upstream["stocks"]} == {"AAPL"}
            bar = app.main.status
            # three connections, one client: the label counts programs, not sockets
            words = "stocks ● live · forex ● live · crypto ● live │  LIVE via hub (1 client)"
            await until(pilot, lambda: words in bar.plain, seen=lambda: bar.plain)

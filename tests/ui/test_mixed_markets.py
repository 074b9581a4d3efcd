"""A watchlist mixing stocks, crypto and forex: one session per cluster the list needs, each
subscribed to its own symbols, and a status bar that says each cluster's state."""

from __future__ import annotations

import asyncio
import time

from ticktape.config import Settings
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp
from ticktape.ui.watchlist import Watchlist

from .conftest import NOW_MS, MakeApp, build_state, until

MIXED = ("AAPL", "BTC-USD", "EUR/USD")


def server_saw(sim: Simulator) -> dict[str, set[str]]:
    """Each open connection's subscriptions as the simulator holds them, by cluster."""
    seen: dict[str, set[str]] = {}
    for conn in sim.server.clients():
        seen.setdefault(conn.cluster, set()).update(conn.subs.params())
    return seen


def row_text(wl: Watchlist, symbol: str) -> str:
    return wl.render_line(wl.symbols.index(symbol) + 1).text


def drawn_price(wl: Watchlist, symbol: str) -> float | None:
    """The price drawn on ``symbol``'s row (the column after the symbol), if any."""
    words = row_text(wl, symbol).split()
    try:
        return float(words[1].replace(",", "")) if words[0] == symbol else None
    except (IndexError, ValueError):
        return None


def near(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 0.05 * b


async def test_a_mixed_list_subscribes_each_symbol_on_its_own_cluster_and_shows_prices(
    settings: Settings,
) -> None:
    async with Simulator(seed=3, symbols=MIXED, rate=300.0) as sim:
        feed = settings.with_(
            ws_url=sim.ws_url, rest_url=sim.rest_url, api_key="any", watchlist=MIXED, fps=20
        )
        app = TicktapeApp(feed, feed_label="SIMULATED")
        async with app.run_test(size=(120, 36)) as pilot:
            want = {
                "stocks": {f"{ch}.AAPL" for ch in ("T", "Q", "AM", "LULD", "NOI")},
                "crypto": {"XT.BTC-USD", "XQ.BTC-USD", "XA.BTC-USD"},
                "forex": {"C.EUR/USD", "CA.EUR/USD"},
            }
            await until(pilot, lambda: server_saw(sim) == want, seen=lambda: server_saw(sim))
            # one connection per cluster, not one per symbol
            assert sorted(c.cluster for c in sim.server.clients()) == ["crypto", "forex", "stocks"]
            # prices arrive on every row, at each market's own level
            await until(pilot, lambda: all(app.state.get(s) is not None for s in MIXED), 20)
            await until(pilot, lambda: all(app.state.get(s).last for s in MIXED), 20)  # type: ignore[union-attr]
            wl = app.main.watchlist
            btc, eur = app.state.get("BTC-USD"), app.state.get("EUR/USD")
            assert btc is not None and btc.last is not None and btc.last > 10_000
            assert eur is not None and eur.last is not None and 0.5 < eur.last < 2.0
            await until(
                pilot,
                lambda: all(near(drawn_price(wl, s), app.state.get(s).last) for s in MIXED),  # type: ignore[union-attr]
                seen=lambda: [row_text(wl, s) for s in MIXED],
            )
            bar = app.main.status
            words = "stocks ● live · forex ● live · crypto ● live"
            await until(pilot, lambda: words in bar.plain, seen=lambda: bar.plain)

            # the last crypto symbol goes: its session closes, the others stay as they were
            crypto_conn = sim.server.clients("crypto")[0]
            app.main.select_symbol("BTC-USD")
            await pilot.press("d")
            await until(
                pilot, lambda: not sim.server.clients("crypto"), seen=lambda: server_saw(sim)
            )
            assert crypto_conn.closing or crypto_conn not in sim.server.open_connections()
            assert server_saw(sim) == {"stocks": want["stocks"], "forex": want["forex"]}
            await until(pilot, lambda: "stocks ● live · forex ● live" in bar.plain)
            assert "crypto" not in bar.plain

            # and a crypto pair added again opens it again, subscribed to that pair alone
            app.main.add_symbol("ETH-USD")
            eth = {"XT.ETH-USD", "XQ.ETH-USD", "XA.ETH-USD"}
            await until(pilot, lambda: server_saw(sim).get("crypto") == eth)
            await pilot.press("q")
        deadline = time.monotonic() + 10
        while sim.connections:  # every session closed politely on the way out
            assert time.monotonic() < deadline, "the app left a websocket open"
            await asyncio.sleep(0.02)


def row_marks(wl: Watchlist) -> dict[str, str]:
    return {s: wl.render_line(y).text[0] for y, s in enumerate(wl.symbols, 1)}


async def test_the_bar_says_each_clusters_state_and_only_a_down_clusters_rows_go_stale(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app(settings=settings.with_(watchlist=MIXED), state=build_state(MIXED))
    async with app.run_test(size=(80, 24)) as pilot:
        bar, wl = app.main.status, app.main.watchlist
        await until(pilot, lambda: "stocks ● live · forex ● live · crypto ● live" in bar.plain)
        assert row_marks(wl) == {"AAPL": " ", "BTC-USD": " ", "EUR/USD": " "}
        lost = SessionStatus(
            ConnState.RECONNECTING, "connection lost", attempt=1, retry_in=4.0, since_ms=NOW_MS
        )
        app.feed.apply_status(lost, "forex")
        await until(
            pilot,
            lambda: "stocks ● live · forex ▲ retry 4s · crypto ● live" in bar.plain,
            seen=lambda: bar.plain,
        )
        await until(pilot, lambda: row_marks(wl) == {"AAPL": " ", "BTC-USD": " ", "EUR/USD": "~"})
        # the whole line fits 80 columns with the feed label and figures after it
        drawn = bar.render().plain
        assert "SIMULATED" in drawn and drawn.rstrip().endswith("EDT")
        app.feed.apply_status(SessionStatus(ConnState.AUTH_FAILED, "rejected"), "crypto")
        await until(pilot, lambda: "crypto ▲ key rejected" in bar.plain, seen=lambda: bar.plain)
        # the toast names the cluster: which one's key was refused matters
        assert any(n.message.startswith("crypto: API key rejected") for n in app._notifications)
        # a server gone for every cluster at once is one toast, and the bar says all of them
        for cluster in ("stocks", "forex"):
            gone = SessionStatus(ConnState.OFFLINE, "refused", 1, 9.0, since_ms=NOW_MS)
            app.feed.apply_status(gone, cluster)
        await until(pilot, lambda: "stocks ▲ offline 9s · forex ▲ offline 9s" in bar.plain)
        assert [n.message for n in app._notifications if "offline" in n.message] == [
            "stocks: offline — retrying in 9 s: refused"
        ]


async def test_a_forex_pair_on_the_trades_tape_says_where_its_quotes_are(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app(settings=settings.with_(watchlist=("AAPL", "EUR/USD")))
    async with app.run_test(size=(120, 36)) as pilot:
        tape = app.main.tape
        app.main.select_symbol("EUR/USD")
        hint = "forex has no trades: t shows its quotes"
        await until(pilot, lambda: any(hint in line for line in tape.visible_text))
        await pilot.press("t")
        await until(pilot, lambda: not any(hint in line for line in tape.visible_text))


async def test_the_market_view_opens_a_stocks_session_for_a_crypto_list_and_closes_it_after(
    settings: Settings,
) -> None:
    async with Simulator(seed=3, symbols=("BTC-USD",), rate=300.0) as sim:
        feed = settings.with_(
            market="crypto",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            api_key="any",
            watchlist=("BTC-USD",),
            fps=20,
        )
        app = TicktapeApp(feed, feed_label="SIMULATED")
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: set(server_saw(sim)) == {"crypto"})
            await pilot.press("m")
            wide = {"T.*", "AM.*", "LULD.*", "NOI.*"}
            await until(
                pilot, lambda: server_saw(sim).get("stocks") == wide, seen=lambda: server_saw(sim)
            )
            await pilot.press("escape")
            await until(
                pilot, lambda: set(server_saw(sim)) == {"crypto"}, seen=lambda: server_saw(sim)
            )

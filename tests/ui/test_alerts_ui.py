"""Alerts in the app: made from the palette and `!`, fired into the toast, tape, bell and OSC,
edited from the `L` pane; snapshots of the pane."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ticktape.config import Settings
from ticktape.feed.events import Trade
from ticktape.market import MarketState
from ticktape.market.alerts import parse_phrase
from ticktape.ui.alerts import AlertForm, AlertsPane, AlertToasts, suggested_phrase
from ticktape.ui.app import TicktapeApp

from .conftest import NOW_MS, SYMBOLS, MakeApp, build_state, until
from .test_snapshots import SnapCompare, settled

CONFIG = """\
# alerts for the snapshot
[[alerts]]
symbol = "AAPL"
when = "above 600"

[[alerts]]
symbol = "TSLA"
when = "move 5%"

[[alerts]]
symbol = "watchlist"
when = "halt"

[[alerts]]
symbol = "NVDA"
when = "spread 0.05"
snoozed_until = 2025-03-14T15:30:00Z

[[alerts]]
symbol = "SPY"
when = "below 1"
fired = ["SPY"]
"""


def fresh_app(make_app: MakeApp, settings: Settings, **kw: Any) -> TicktapeApp:
    """An app on a state of its own: these tests add events to it."""
    return make_app(state=build_state(), settings=settings, **kw)


def trade(app: TicktapeApp, symbol: str, price: float) -> None:
    state: MarketState = app.state
    state.apply([Trade(symbol=symbol, price=price, size=100, timestamp=NOW_MS)], NOW_MS)


def record_terminal(app: TicktapeApp) -> list[str]:
    """What the app writes to the terminal that rings or notifies (the headless driver
    writes nowhere: listen instead; Textual's own writes, like the pointer shape, are left)."""
    written: list[str] = []
    driver: Any = app._driver
    original = driver.write

    def write(data: str) -> None:
        if "\x1b]9;" in data or data.startswith("\a"):
            written.append(data)
        original(data)

    driver.write = write
    return written


def record_toasts(app: TicktapeApp) -> list[str]:
    """Every toast asked for (a toast expires on the wall clock: a loaded machine could
    let it go before the test looks)."""
    asked: list[str] = []
    notify = app.notify

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        asked.append(message)
        notify(message, *args, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    return asked


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


async def test_alert_from_the_palette_fires_into_toast_tape_bell_and_osc(
    make_app: MakeApp, settings: Settings
) -> None:
    app = fresh_app(make_app, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        written = record_terminal(app)
        toasts = record_toasts(app)
        await pilot.press("ctrl+p")
        await type_text(pilot, "alert AAPL above 1000")
        await until(pilot, lambda: "Add alert" in _palette_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.alerts.book.alerts))
        assert [a.phrase() for a in app.alerts.book.alerts] == ["alert AAPL above 1000"]
        assert 'when = "above 1000"' in settings.config_path.read_text()
        trade(app, "AAPL", 1000.5)
        await until(pilot, lambda: bool(written), seen=lambda: written)
        assert written == [
            "\a\x1b]9;ticktape: AAPL 1000.5 crossed above 1000\x07"
            "\x1b]777;notify;ticktape;AAPL 1000.5 crossed above 1000\x07"
        ]
        line = "ALERT AAPL 1000.5 crossed above 1000"
        await until(pilot, lambda: any(line in t for t in app.main.tape.visible_text))
        assert line in toasts
        trade(app, "AAPL", 1001)
        await pilot.pause(0.3)  # frames run; the alert is fired, not armed: nothing new
        assert len(written) == 1


def _palette_text(app: TicktapeApp) -> str:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    if not lists:
        return ""
    option_list = lists.first()
    return " ".join(
        str(option_list.get_option_at_index(i).prompt) for i in range(option_list.option_count)
    )


async def test_a_bad_phrase_in_the_palette_says_what_is_wrong(
    make_app: MakeApp, settings: Settings
) -> None:
    app = fresh_app(make_app, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "alert AAPL abvoe 3")
        await until(pilot, lambda: "not a condition" in _palette_text(app))
        assert "alert: 'abvoe' is not a condition" in _palette_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.alerts.book.alerts == []


async def test_bang_opens_a_form_for_the_selected_symbol(
    make_app: MakeApp, settings: Settings
) -> None:
    app = fresh_app(make_app, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        await pilot.press("j", "exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, AlertForm))
        form: Any = app.screen
        assert form.query_one("#alert-form-input").value.startswith("MSFT above ")
        form.query_one("#alert-form-input").value = ""
        await type_text(pilot, "move 3%")  # a bare condition is for MSFT
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.alerts.book.alerts))
        assert app.alerts.book.alerts[0].phrase() == "alert MSFT move 3%"


async def test_pane_snoozes_edits_and_deletes(make_app: MakeApp, settings: Settings) -> None:
    settings.config_path.write_text(CONFIG)
    app = fresh_app(make_app, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled()(pilot)
        await pilot.press("L")
        await until(pilot, lambda: bool(app.main.query(AlertsPane)))
        pane = app.main.query_one(AlertsPane)
        assert pane.has_focus
        assert [r[:4] for r in pane.rows()] == [
            ("1", "AAPL", "above 600", "armed"),
            ("2", "TSLA", "move 5%", "armed"),
            ("3", "watchlist", "halt", "armed"),
            ("4", "NVDA", "spread 0.05", "snoozed"),
            ("5", "SPY", "below 1", "fired"),
        ]
        await pilot.press("z")  # snooze AAPL for an hour
        assert pane.rows()[0][3] == "snoozed"
        assert "snoozed_until = 2025-03-14T15:32:00" in settings.config_path.read_text()
        await pilot.press("j", "x")  # delete TSLA's
        assert [r[0] for r in pane.rows()] == ["1", "3", "4", "5"]
        assert 'when = "move 5%"' not in settings.config_path.read_text()
        await pilot.press("e")  # edit the watchlist halt alert
        await until(pilot, lambda: isinstance(app.screen, AlertForm))
        app.screen.query_one("#alert-form-input").value = "watchlist stale 30s"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: pane.rows()[1][2] == "stale 30s")
        assert 'when = "stale 30s"' in settings.config_path.read_text()
        assert settings.config_path.read_text().startswith("# alerts for the snapshot\n")
        await pilot.press("L")
        await until(pilot, lambda: not app.main.query(AlertsPane))


def test_suggested_phrase_is_a_round_level_above() -> None:
    assert suggested_phrase("AAPL", 226.31) == "AAPL above 229"
    assert suggested_phrase("SPY", 567.2) == "SPY above 573"
    assert suggested_phrase("F", 9.87) == "F above 9.97"
    assert suggested_phrase("X", None) == "X above "


def pane_shown() -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled("L")(pilot)
        await until(pilot, lambda: bool(pilot.app.main.query(AlertsPane)))

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_alerts_pane_snapshot(
    snap_compare: SnapCompare, make_app: MakeApp, tmp_path: Path, size: tuple[int, int]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    settings = Settings(config_path=config, watchlist=SYMBOLS, theme="ticktape-dark")
    app = make_app(settings=settings)
    assert snap_compare(app, terminal_size=size, run_before=pane_shown())


def test_a_burst_of_alerts_is_three_toasts_and_a_count() -> None:
    class App:
        def __init__(self) -> None:
            self.toasts: list[str] = []

        def notify(self, text: str, **_: object) -> None:
            self.toasts.append(text)

    app, toasts = App(), AlertToasts()
    toasts.show(app, [f"ALERT S{i}" for i in range(5)], NOW_MS)
    toasts.show(app, ["ALERT late"], NOW_MS + 1_000)  # same window: counted only
    toasts.show(app, ["ALERT later"], NOW_MS + 6_000)  # a new window
    assert app.toasts == [
        "ALERT S0",
        "ALERT S1",
        "ALERT S2",
        "and 2 more alerts (L lists them)",
        "and 1 more alert (L lists them)",
        "ALERT later",
    ]


async def test_an_alert_on_a_symbol_no_list_shows_is_fed_and_fires(settings: Settings) -> None:
    from ticktape.sim.server import Simulator

    from .test_mixed_markets import server_saw

    async with Simulator(seed=3, symbols=("AAPL", "MSFT", "BTC-USD"), rate=300.0) as sim:
        live = settings.with_(
            ws_url=sim.ws_url, rest_url=sim.rest_url, api_key="any", watchlist=("AAPL",), fps=20
        )
        app = TicktapeApp(live, feed_label="SIMULATED")
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: "T.AAPL" in server_saw(sim).get("stocks", set()))
            toasts = record_toasts(app)
            app.app_alerts.service.add(parse_phrase("alert MSFT below 100000"))
            app.app_alerts.service.add(parse_phrase("alert BTC-USD below 10000000"))
            # each alert's symbol is subscribed on its own cluster, the watchlist unchanged
            await until(
                pilot,
                lambda: (
                    "T.MSFT" in server_saw(sim).get("stocks", set())
                    and "XT.BTC-USD" in server_saw(sim).get("crypto", set())
                ),
                seen=lambda: server_saw(sim),
            )
            assert app.main.watchlist.symbols == ("AAPL",)
            fired = ("ALERT MSFT", "ALERT BTC-USD")
            await until(
                pilot,
                lambda: all(any(t.startswith(f) for t in toasts) for f in fired),
                seen=lambda: toasts,
            )
            # deleting the last alert on a pair closes its session again
            crypto = next(a for a in app.alerts.book.alerts if a.symbol == "BTC-USD")
            app.app_alerts.service.remove(crypto.id)
            await until(
                pilot, lambda: "crypto" not in server_saw(sim), seen=lambda: server_saw(sim)
            )

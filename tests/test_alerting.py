"""Alerts persist in the config file (style kept), survive a restart, and reach every outlet."""

from __future__ import annotations

import asyncio
import json
import sys
import tomllib
from pathlib import Path

import pytest

from ticktape.alerting import (
    AlertLog,
    AlertService,
    Delivery,
    clean,
    osc_notification,
)
from ticktape.alertstore import load_alerts, save_alerts
from ticktape.config import Settings, save_watchlist
from ticktape.feed.events import Trade
from ticktape.market import MarketState
from ticktape.market.alerts import Fired, parse_phrase

T0 = 1_741_962_600_000  # Friday 2025-03-14 10:30 New York: the market is open

HAND_WRITTEN = """\
# my settings
watchlist = ["AAPL", "TSLA"]  # the two I trade

# alerts: mine, by hand
[[alerts]]
symbol = "AAPL"
when = "above 230.00"   # breakout
note = "breakout"

[[alerts]]
symbol = "watchlist"
when = "halt"
"""


def fired(text: str = "AAPL 230.01 crossed above 230", symbol: str = "AAPL") -> Fired:
    return Fired("1", symbol, "above", "fired", T0, 230.01, 230.01, text)


def test_hand_written_alerts_load_with_ids_from_their_place(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    loaded = load_alerts(path)
    assert [(a.id, a.phrase(), a.note) for a in loaded.alerts] == [
        ("1", "alert AAPL above 230", "breakout"),
        ("2", "alert watchlist halt", ""),
    ]
    assert loaded.problems == []


def test_a_bad_alert_is_named_skipped_and_left_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN + '\n[[alerts]]\nsymbol = "TSLA"\nwhen = "abvoe 300"\n')
    loaded = load_alerts(path)
    assert len(loaded.alerts) == 2
    assert loaded.problems == [
        f"{path}: alert 3 (TSLA abvoe 300): 'abvoe' is not a condition: use above, below, "
        "move, volume, spread, halt, stale; skipped, left in the file"
    ]
    save_alerts(path, [*loaded.alerts, parse_phrase("alert NVDA spread 0.05", alert_id="4")])
    assert 'when = "abvoe 300"' in path.read_text()


def test_saving_edits_in_place_keeping_comments_and_spelling(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    alerts = load_alerts(path).alerts
    alerts[1].fired = {"TSLA"}
    new = parse_phrase("alert TSLA move 5%", alert_id="3")
    assert save_alerts(path, [*alerts, new])
    text = path.read_text()
    # Same meaning, so the condition is left as typed; the app adds the ids it gave.
    assert text.startswith(HAND_WRITTEN.split('note = "breakout"')[0])
    assert 'when = "halt"\nid = "2"\nfired = ["TSLA"]\n\n[[alerts]]\nid = "3"\n' in text
    assert text.endswith('[[alerts]]\nid = "3"\nsymbol = "TSLA"\nwhen = "move 5%"\n')
    assert (tmp_path / "config.toml.bak").read_text() == HAND_WRITTEN
    assert not save_alerts(path, [*alerts, new])  # nothing changed: nothing written


def test_a_new_alert_before_another_table_keeps_a_blank_line_between(tmp_path: Path) -> None:
    # The app writes named watchlists as tables after the alerts: a new alert must not be glued
    # to the table that follows it.
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN + '\n[watchlists.tech]\nsymbols = ["NVDA"]\n')
    new = parse_phrase("alert TSLA move 5%", alert_id="3")
    assert save_alerts(path, [*load_alerts(path).alerts, new])
    assert 'when = "move 5%"\n\n[watchlists.tech]\nsymbols = ["NVDA"]\n' in path.read_text()


def test_deleting_removes_only_that_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    alerts = load_alerts(path).alerts
    save_alerts(path, alerts[1:], deleted={"1"})
    text = path.read_text()
    assert "above 230" not in text and 'when = "halt"' in text
    assert "# my settings" in text and "# the two I trade" in text
    assert [a.phrase() for a in load_alerts(path).alerts] == ["alert watchlist halt"]


def test_after_the_last_alert_is_deleted_alerts_and_the_watchlist_still_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    save_alerts(path, [parse_phrase("alert BTC-USD above 5", alert_id="1")])
    save_alerts(path, [], deleted={"1"})
    assert path.read_text() == ""  # not "alerts = []", which is no [[alerts]] table
    settings = Settings(config_path=path)
    save_watchlist(settings, ["BTC-USD"])  # the first watchlist save, after the alerts
    assert save_alerts(path, [parse_phrase("alert ETH-USD below 3000", alert_id="2")])
    assert [a.phrase() for a in load_alerts(path).alerts] == ["alert ETH-USD below 3000"]
    assert tomllib.loads(path.read_text())["watchlist"] == ["BTC-USD"]


def test_a_file_left_with_alerts_empty_takes_new_alerts(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('watchlist = ["AAPL"]\nalerts = []\n')  # what deleting the last one wrote
    assert save_alerts(path, [parse_phrase("alert AAPL above 230", alert_id="1")])
    assert [a.phrase() for a in load_alerts(path).alerts] == ["alert AAPL above 230"]


def test_a_fired_alert_survives_a_restart_and_does_not_fire_again(tmp_path: Path) -> None:
    settings = Settings(config_path=tmp_path / "config.toml")
    problems: list[str] = []

    def run(prices: list[float]) -> list[str]:
        state = MarketState()
        service = AlertService(
            settings,
            state,
            watchlist=["AAPL"],
            write=None,
            problem=problems.append,
            log_path=tmp_path / "alerts.jsonl",
        )
        if not service.book.alerts:
            service.add(parse_phrase("alert AAPL above 230"))
        out = []
        for i, p in enumerate(prices):
            state.apply([Trade(symbol="AAPL", price=p, size=1, timestamp=T0 + i)], T0 + i)
            out += [f.text for f in service.frame(T0 + i)]
        return out

    assert run([229.0, 231.0]) == ["AAPL 231 crossed above 230"]
    assert 'fired = ["AAPL"]' in (tmp_path / "config.toml").read_text()
    assert run([232.0]) == []  # restarted: still fired, so no repeat
    assert run([228.0, 230.5]) == ["AAPL 230.5 crossed above 230"]  # re-armed, fires again
    assert problems == []
    logged = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in logged] == [
        "AAPL 231 crossed above 230",
        "AAPL 230.5 crossed above 230",
    ]


def test_bell_and_osc_bytes_with_untrusted_text_cleaned() -> None:
    written: list[str] = []
    Delivery(write=written.append).deliver([fired("EVIL\x1b]0;pwned\x07 up\x9b2J")])
    assert written == [
        "\a\x1b]9;ticktape: EVIL]0;pwned up2J\x07\x1b]777;notify;ticktape;EVIL]0;pwned up2J\x07"
    ]
    assert osc_notification("a;b", "x") == "\x1b]9;a,b: x\x07\x1b]777;notify;a,b;x\x07"
    assert clean("line\none\u202e") == "line one"


def test_bell_and_desktop_can_be_turned_off() -> None:
    written: list[str] = []
    Delivery(write=written.append, bell=False, desktop=False).deliver([fired()])
    assert written == []


def test_log_appends_json_lines(tmp_path: Path) -> None:
    log = AlertLog(tmp_path / "deep" / "alerts.jsonl")
    log.append(fired())
    log.append(fired("AAPL again"))
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert [line["text"] for line in lines] == ["AAPL 230.01 crossed above 230", "AAPL again"]
    assert lines[0]["time"] == "2025-03-14T14:30:00.000+00:00"
    assert lines[0]["symbol"] == "AAPL" and lines[0]["price"] == 230.01


RECORDER = """\
import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("TICKTAPE_ALERT_")}
call = {"argv": sys.argv[2:], "env": env, "key": os.environ.get("POLYGON_API_KEY")}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(call) + "\\n")
"""


def test_command_gets_arguments_and_environment_without_a_shell(tmp_path: Path) -> None:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    out = tmp_path / "calls.jsonl"
    problems: list[str] = []
    delivery = Delivery(
        command=(sys.executable, str(script), str(out), "{symbol}", "{text}", "$(touch x); echo"),
        problem=problems.append,
        env={"PATH": "/usr/bin", "POLYGON_API_KEY": "secret"},
    )

    async def go() -> None:
        delivery.deliver([fired("AAPL 230.01 crossed above 230; rm -rf /")])
        await delivery.drain()

    asyncio.run(go())
    assert problems == []
    call = json.loads(out.read_text())
    assert call["argv"] == ["AAPL", "AAPL 230.01 crossed above 230; rm -rf /", "$(touch x); echo"]
    assert call["env"]["TICKTAPE_ALERT_SYMBOL"] == "AAPL"
    assert call["env"]["TICKTAPE_ALERT_KIND"] == "above"
    assert call["env"]["TICKTAPE_ALERT_PRICE"] == "230.01"
    assert call["key"] is None  # the API key is not handed to the command
    assert not (tmp_path / "x").exists()


def test_a_slow_or_failing_command_is_reported_not_waited_for(tmp_path: Path) -> None:
    problems: list[str] = []
    slow = Delivery(
        command=(sys.executable, "-c", "import time; time.sleep(30)"),
        problem=problems.append,
        timeout_s=0.5,
    )
    failing = Delivery(
        command=(sys.executable, "-c", "import sys; sys.exit('no display')"),
        problem=problems.append,
    )
    missing = Delivery(command=(str(tmp_path / "nope"),), problem=problems.append)

    async def go() -> None:
        for d in (slow, failing, missing):
            d.deliver([fired()])  # returns at once: the loop is never blocked
        assert slow.tasks or problems
        for d in (slow, failing, missing):
            await d.drain()

    asyncio.run(go())
    assert sorted(problems) == sorted(
        [
            f"alert_command {sys.executable} took over 0.5s; stopped",
            f"alert_command {sys.executable} exited 1: no display",
            f"alert_command {tmp_path / 'nope'}: No such file or directory",
        ]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["notify-send", "{text}"], ("notify-send", "{text}")),
        ("notify-send 'ticktape alert' {text}", ("notify-send", "ticktape alert", "{text}")),
    ],
)
def test_alert_command_setting(value: object, expected: tuple[str, ...]) -> None:
    assert Settings().with_(alert_command=value).alert_command == expected


def test_alert_command_setting_error() -> None:
    with pytest.raises(ValueError, match="alert_command = 3: must be a list of arguments"):
        Settings().with_(alert_command=3)

"""``ticktape alerts`` fires headless against the simulator and runs the command, no Textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RECORDER = """\
import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("TICKTAPE_ALERT_")}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({"argv": sys.argv[2:], "env": env}) + "\\n")
"""

#: Runs the command in a fresh interpreter and says whether Textual got imported.
RUN = """\
import sys
from ticktape.cli import main
rc = main(sys.argv[1:])
print("TEXTUAL" if "textual" in sys.modules else "NO-TEXTUAL")
sys.exit(rc)
"""


def test_alerts_fire_headless_against_the_simulator(tmp_path: Path) -> None:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    calls = tmp_path / "calls.jsonl"
    config = tmp_path / "config.toml"
    command = json.dumps([sys.executable, str(script), str(calls), "{symbol}", "{kind}"])
    config.write_text(f"# mine\nalert_command = {command}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("POLYGON_API_KEY", "MASSIVE_API_KEY")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    # the list holds MSFT only: the alert's own symbol is fed all the same
    argv = ["alerts", "--config", str(config), "--add", "AAPL above 0.01", "MSFT"]
    argv += ["--exit-after", "1", "--duration", "60"]
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "added alert 1: alert AAPL above 0.01"
    assert "crossed above 0.01" in lines[1] and " AAPL " in lines[1]
    assert lines[-1] == "NO-TEXTUAL"
    assert "feed: live" in done.stderr
    assert "watching 1 alert on MSFT, AAPL" in done.stderr
    call = json.loads(calls.read_text().splitlines()[0])
    assert call["argv"] == ["AAPL", "above"]
    assert call["env"]["TICKTAPE_ALERT_SYMBOL"] == "AAPL"
    text = config.read_text()
    assert text.startswith(f"# mine\nalert_command = {command}\n")
    assert 'fired = ["AAPL"]' in text  # the next run will not fire it again
    logged = (tmp_path / "data" / "ticktape" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(logged[0])["symbol"] == "AAPL"


def test_a_bad_phrase_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ticktape.commands.alerts import main

    config = tmp_path / "config.toml"
    assert main(["--sim", "--config", str(config), "--add", "AAPL abvoe 3", "--list"]) == 2
    assert capsys.readouterr().err == (
        "ticktape alerts: --add 'AAPL abvoe 3': 'abvoe' is not a condition:"
        " use above, below, move, volume, spread, halt, stale\n"
    )
    assert not config.exists()


def test_headless_alerts_watch_a_mixed_list_on_each_cluster(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("POLYGON_API_KEY", "MASSIVE_API_KEY")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    argv = ["alerts", "--config", str(config), "--add", "BTC-USD above 0.01", "AAPL", "BTC-USD"]
    argv += ["--exit-after", "1", "--duration", "60"]
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv], capture_output=True, text=True, timeout=90, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "crossed above 0.01" in lines[1] and " BTC-USD " in lines[1]
    # one feed per market, each said by name
    assert "stocks feed: live" in done.stderr and "crypto feed: live" in done.stderr

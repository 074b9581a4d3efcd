"""Every bad setting, from every source, is one line naming the setting and where it was.

``ticktape`` exits 2 with that line before the UI starts; no traceback, no bare
``could not convert string to float``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ticktape.commands.run import main
from ticktape.config import ENV_VARS, load_settings, save_watchlist

KEY = "pk_live_9Zq2XbT7"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: private config dir, no .env, no settings in the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for var in (
        "POLYGON_API_KEY",
        "MASSIVE_API_KEY",
        "TICKTAPE_FPS",
        "TICKTAPE_CONFIG",
        "TICKTAPE_WS_URL",
        "TICKTAPE_REST_URL",
        "TICKTAPE_WATCHLIST",
        "TICKTAPE_TZ",
        "TICKTAPE_MARKET",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xdg" / "ticktape").mkdir(parents=True)
    return tmp_path


def config(home: Path) -> Path:
    return home / "xdg" / "ticktape" / "config.toml"


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_directory_as_config(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(["--config", str(home)], capsys) == (
        f"ticktape: --config {home}: is a directory; give the path of a TOML file"
    )


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('watchlist = ["AAPL", 5]', 'watchlist = ["AAPL", 5] in {path}: 5 is not a symbol'),
        ('fps = "fast"', 'fps = "fast" in {path}: not a number'),
        ("fps = true", "fps = true in {path}: not a number"),
        ("fps = 0", "fps = 0 in {path}: fps must be above 0 and at most 60"),
        ('market = "options"', 'market = "options" in {path}: must be one of stocks, forex'),
        ("tz = 5", "tz = 5 in {path}: must be text"),
        ('ws_url = "http://x"', 'ws_url = "http://x" in {path}: not a ws:// or wss:// URL'),
        ('theme = ""', 'theme = "" in {path}: must name a theme'),
    ],
)
def test_a_bad_value_in_the_config_file(
    home: Path, capsys: pytest.CaptureFixture[str], toml: str, says: str
) -> None:
    config(home).write_text(toml + "\n", encoding="utf-8")
    assert refused([], capsys).startswith("ticktape: " + says.format(path=config(home)))


def test_a_bad_value_in_dotenv_and_in_the_environment(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / ".env").write_text("TICKTAPE_FPS=abc\n", encoding="utf-8")
    assert refused([], capsys) == f"ticktape: TICKTAPE_FPS=abc in {home / '.env'}: not a number"
    monkeypatch.setenv("TICKTAPE_FPS", "fast ")
    assert refused([], capsys) == "ticktape: TICKTAPE_FPS='fast ' in the environment: not a number"


def test_a_utf16_dotenv_is_named_with_its_encoding(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".env").write_bytes("TICKTAPE_FPS=5\n".encode("utf-16"))  # Notepad's "Unicode"
    assert refused([], capsys) == (
        f"ticktape: {home / '.env'}: line 1 is not UTF-8 text (byte 0xff);"
        " it looks like UTF-16: save it as UTF-8"
    )


def test_a_bad_flag_names_the_flag(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(["--tz", "Mars/X"], capsys) == (
        "ticktape: --tz Mars/X: unknown time zone (try America/New_York or UTC)"
    )
    assert refused(["--fps", "inf"], capsys) == (
        "ticktape: --fps inf: fps must be above 0 and at most 60"
    )


def test_the_key_is_never_shown_in_a_message(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ticktape.config.PARSERS", {"api_key": _refuse, "fps": float})
    (home / ".env").write_text(f"POLYGON_API_KEY={KEY}\n", encoding="utf-8")
    assert refused([], capsys) == f"ticktape: POLYGON_API_KEY in {home / '.env'}: refused"


def _refuse(value: object) -> object:
    raise ValueError("refused")


@pytest.mark.parametrize("flag", ["--ws-url", "--rest-url"])
def test_sim_and_a_server_url_together_are_refused(
    home: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    # Both typed now: the simulator and a server cannot both be the feed, and
    # silently dropping the URL would show simulated prices as that server's.
    assert refused(["--sim", flag, "ws://127.0.0.1:9"], capsys) == (
        f"ticktape: --sim runs the built-in simulator but {flag} names a server:"
        " give one or the other"
    )


ROOT = Path(__file__).resolve().parents[1]


def _uncommented(text: str, setting: str) -> str:
    """The example with every commented-out setting (lines matching ``setting``) switched on."""
    return "\n".join(line[2:] if re.match(setting, line) else line for line in text.splitlines())


def test_config_example_switched_on_is_a_valid_config_and_saves_in_place(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    example = (ROOT / "config.example.toml").read_text()
    path.write_text(_uncommented(example, r"# (\w+ = |  |\]|\[watchlists)"))
    settings = load_settings(
        {"config_path": str(path)}, env={"POLYGON_API_KEY": KEY}, dotenv_path=None
    )
    assert settings.config_problem == ""
    assert settings.watchlist == ("AAPL", "MSFT", "SPY")
    assert [x.name for x in settings.lists()] == ["default", "tech"]
    assert settings.lists()[1].sort == "change_pct"
    save_watchlist(settings, ("AAPL", "SPY"))
    assert path.read_text().count("#") == (tmp_path / "config.toml.bak").read_text().count("#")


def test_env_example_lists_only_variables_ticktape_reads(tmp_path: Path) -> None:
    text = _uncommented((ROOT / ".env.example").read_text(), r"# [A-Z_]+=")
    names = {line.split("=")[0] for line in text.splitlines() if re.match(r"[A-Z_]+=", line)}
    assert names == set(ENV_VARS) - {"MASSIVE_API_KEY"}
    (tmp_path / ".env").write_text(text.replace("~/.config/ticktape", str(tmp_path)))
    settings = load_settings(env={}, dotenv_path=tmp_path / ".env")
    assert settings.config_path == tmp_path / "config.toml"


def test_sim_beats_a_saved_server_url_and_says_so(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The URL was saved (environment, .env, config); --sim was typed now: the flag wins,
    # by the precedence rule, and the app tells the user the saved URL is not used.
    import ticktape.commands.run as run
    from ticktape.ui.app import TicktapeApp

    class NoSim:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.started = None

        def __enter__(self) -> NoSim:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    told: list[str] = []

    def run_app(app: TicktapeApp) -> None:
        told.extend(text for text, _, _ in app.notices.early)

    monkeypatch.setattr(run, "SimProcess", NoSim)
    monkeypatch.setattr(TicktapeApp, "run", run_app)
    monkeypatch.setenv("POLYGON_API_KEY", KEY)
    monkeypatch.setenv("TICKTAPE_WS_URL", "ws://127.0.0.1:9")
    assert main(["--sim"]) == 0
    assert told == ["--sim: on the built-in simulator; the configured server URL is not used"]

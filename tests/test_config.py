"""Settings: one precedence rule, both key variables, and a key that never prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticktape.config import (
    DEFAULT_REST_URL,
    DEFAULT_WATCHLIST,
    DEFAULT_WS_DELAYED,
    DEFAULT_WS_REALTIME,
    Secret,
    Settings,
    load_settings,
    save_watchlist,
)

KEY = "pk_live_9Zq2XbT7"


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default config path, inside a private XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "ticktape" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def dotenv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(config_file: Path) -> None:
    s = load_settings(env={}, dotenv_path=None)
    assert not s.has_key
    assert s.api_key == ""
    assert (s.market, s.feed, s.tz, s.fps) == ("stocks", "realtime", "America/New_York", 10.0)
    assert s.rest_url == DEFAULT_REST_URL
    assert s.watchlist == DEFAULT_WATCHLIST
    assert s.ws_market_url == f"{DEFAULT_WS_REALTIME}/stocks"
    assert s.config_path == config_file


def test_precedence_cli_over_env_over_dotenv_over_file_over_defaults(
    tmp_path: Path, config_file: Path
) -> None:
    # Every layer sets tz; peeling layers off from the top shows who wins at each step.
    config_file.write_text('tz = "Asia/Tokyo"\ntheme = "from-file"\nfps = 4\n', encoding="utf-8")
    dot = dotenv(tmp_path, "TICKTAPE_TZ=Europe/Paris\nTICKTAPE_MARKET=forex\n")
    env = {"TICKTAPE_TZ": "Europe/London", "TICKTAPE_FEED": "delayed"}
    cli = {"tz": "UTC", "fps": 30.0}

    s = load_settings(cli, env=env, dotenv_path=dot)
    assert (s.tz, s.fps, s.feed) == ("UTC", 30.0, "delayed")
    assert (s.market, s.theme) == ("forex", "from-file")  # lower layers fill the gaps
    assert load_settings(env=env, dotenv_path=dot).tz == "Europe/London"
    assert load_settings(env={}, dotenv_path=dot).tz == "Europe/Paris"
    assert load_settings(env={}, dotenv_path=None).tz == "Asia/Tokyo"
    config_file.unlink()
    assert load_settings(env={}, dotenv_path=None).tz == "America/New_York"


def test_cli_none_means_not_given(config_file: Path) -> None:
    s = load_settings({"tz": None, "market": None}, env={"TICKTAPE_TZ": "UTC"}, dotenv_path=None)
    assert (s.tz, s.market) == ("UTC", "stocks")


def test_dotenv_never_overrides_the_real_environment(tmp_path: Path, config_file: Path) -> None:
    dot = dotenv(tmp_path, "POLYGON_API_KEY=from-dotenv\nTICKTAPE_FPS=2\n")
    s = load_settings(env={"POLYGON_API_KEY": KEY}, dotenv_path=dot)
    assert s.api_key.reveal() == KEY
    assert s.fps == 2.0  # .env still fills what the environment leaves unset


def test_dotenv_polygon_key_does_not_beat_a_real_massive_key(
    tmp_path: Path, config_file: Path
) -> None:
    # The key is one setting: a key in the real environment, under either name, beats .env.
    dot = dotenv(tmp_path, "POLYGON_API_KEY=from-dotenv\n")
    s = load_settings(env={"MASSIVE_API_KEY": KEY}, dotenv_path=dot)
    assert s.api_key.reveal() == KEY


def test_key_from_dotenv_when_the_environment_has_none(tmp_path: Path, config_file: Path) -> None:
    dot = dotenv(tmp_path, f"# comment\nMASSIVE_API_KEY='{KEY}'\n")
    assert load_settings(env={}, dotenv_path=dot).api_key.reveal() == KEY


def test_massive_key_alone_is_used_and_polygon_key_wins_when_both(config_file: Path) -> None:
    assert load_settings(env={"MASSIVE_API_KEY": KEY}, dotenv_path=None).api_key.reveal() == KEY
    both = {"MASSIVE_API_KEY": "the-massive-one", "POLYGON_API_KEY": KEY}
    assert load_settings(env=both, dotenv_path=None).api_key.reveal() == KEY


def test_empty_key_variable_counts_as_unset(config_file: Path) -> None:
    env = {"POLYGON_API_KEY": "", "MASSIVE_API_KEY": KEY}
    assert load_settings(env=env, dotenv_path=None).api_key.reveal() == KEY


def test_key_is_stripped_of_whitespace(config_file: Path) -> None:
    s = load_settings(env={"POLYGON_API_KEY": f"  {KEY}\n"}, dotenv_path=None)
    assert s.api_key.reveal() == KEY


def test_repr_and_str_of_settings_mask_the_key(config_file: Path) -> None:
    s = load_settings(env={"POLYGON_API_KEY": KEY}, dotenv_path=None)
    assert s.has_key
    for shown in (repr(s), str(s), f"{s}", repr(s.api_key), str(s.api_key), f"{s.api_key}"):
        assert KEY not in shown
    assert "****" in repr(s)
    assert s.api_key.reveal() == KEY
    assert s.api_key == KEY  # still usable as the string it is


def test_secret_repr_shows_whether_a_key_is_set() -> None:
    assert repr(Secret("")) == "Secret('')"
    assert str(Secret("x")) == "****"


def test_endpoint_overrides_and_feed_choice(config_file: Path) -> None:
    env = {
        "TICKTAPE_WS_URL": "ws://127.0.0.1:8765/",
        "TICKTAPE_REST_URL": "http://127.0.0.1:8765",
        "TICKTAPE_MARKET": "crypto",
    }
    s = load_settings(env=env, dotenv_path=None)
    assert s.ws_market_url == "ws://127.0.0.1:8765/crypto"
    assert s.rest_url == "http://127.0.0.1:8765"
    delayed = load_settings(env={"TICKTAPE_FEED": "delayed"}, dotenv_path=None)
    assert delayed.ws_market_url == f"{DEFAULT_WS_DELAYED}/stocks"


def test_watchlist_from_env_and_from_toml_list(config_file: Path) -> None:
    s = load_settings(env={"TICKTAPE_WATCHLIST": "aapl, msft,,spy "}, dotenv_path=None)
    assert s.watchlist == ("AAPL", "MSFT", "SPY")
    config_file.write_text('watchlist = ["nvda", "tsla"]\n', encoding="utf-8")
    assert load_settings(env={}, dotenv_path=None).watchlist == ("NVDA", "TSLA")


def test_config_path_can_be_moved_by_env_or_cli(tmp_path: Path, config_file: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('theme = "ansi-dark"\n', encoding="utf-8")
    config_file.write_text('theme = "default-file"\n', encoding="utf-8")
    by_env = load_settings(env={"TICKTAPE_CONFIG": str(other)}, dotenv_path=None)
    assert (by_env.theme, by_env.config_path) == ("ansi-dark", other)
    by_cli = load_settings({"config_path": str(other)}, env={}, dotenv_path=None)
    assert by_cli.theme == "ansi-dark"


def test_broken_toml_names_the_file_and_line_and_is_skipped(config_file: Path) -> None:
    config_file.write_text("tz = \n", encoding="utf-8")
    settings = load_settings(env={}, dotenv_path=None)
    assert f"{config_file}: line 1 is not valid TOML" in settings.config_problem
    assert settings.tz == "America/New_York"


def test_unknown_toml_keys_are_ignored(config_file: Path) -> None:
    config_file.write_text('future_option = 1\ntz = "UTC"\n', encoding="utf-8")
    assert load_settings(env={}, dotenv_path=None).tz == "UTC"


@pytest.mark.parametrize(("field", "value"), [("market", "options"), ("feed", "slow")])
def test_invalid_choices_are_rejected_with_the_allowed_values(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_with_coerces_like_any_other_source() -> None:
    s = Settings().with_(fps="5", watchlist="ibm,ge", api_key=KEY)
    assert (s.fps, s.watchlist) == (5.0, ("IBM", "GE"))
    assert isinstance(s.api_key, Secret)
    assert KEY not in repr(s)


def test_save_watchlist_keeps_other_keys_and_tables(config_file: Path) -> None:
    config_file.write_text('tz = "UTC"\nwatchlist = ["OLD"]\n[ui]\nx = 1\n', encoding="utf-8")
    s = load_settings(env={}, dotenv_path=None)
    save_watchlist(s, ["AAPL", "SPY"])
    again = load_settings(env={}, dotenv_path=None)
    assert (again.watchlist, again.tz) == (("AAPL", "SPY"), "UTC")
    assert "[ui]\nx = 1" in config_file.read_text(encoding="utf-8")


def test_save_watchlist_creates_the_file(config_file: Path) -> None:
    save_watchlist(load_settings(env={}, dotenv_path=None), ("MSFT",))
    assert load_settings(env={}, dotenv_path=None).watchlist == ("MSFT",)


@pytest.mark.parametrize("tz", ["Mars/Base", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused_whatever_its_source(config_file: Path, tz: str) -> None:
    # Caught here it is one line of explanation; inside the app it was a traceback.
    with pytest.raises(ValueError, match="unknown time zone"):
        load_settings(cli={"tz": tz}, env={}, dotenv_path=None)
    with pytest.raises(ValueError, match="unknown time zone"):
        load_settings(env={"TICKTAPE_TZ": tz}, dotenv_path=None)


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), 1000.0])
def test_a_frame_rate_the_timer_cannot_keep_is_refused(config_file: Path, fps: float) -> None:
    with pytest.raises(ValueError, match="fps"):
        load_settings(cli={"fps": fps}, env={}, dotenv_path=None)

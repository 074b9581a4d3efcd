"""``ticktape`` (run): the command line and settings, and what it says before the UI starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticktape.commands.run import build_parser, main, settings_for


def test_command_line_symbols_theme_fps_mixed_markets_and_a_symbol_of_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEXTUAL_FPS", "4")
    args = build_parser().parse_args(
        ["ibm", "--symbols", "aapl,IBM", "--config", str(tmp_path / "c.toml"), "--theme", "x"]
    )
    settings = settings_for(args)
    assert settings.watchlist == ("IBM", "AAPL")
    assert settings.fps == 4  # a lower TEXTUAL_FPS wins when --fps is not given
    assert settings.theme == "x"
    with pytest.raises(SystemExit) as stopped:
        settings_for(build_parser().parse_args(["--market", "forex", "1AB"]))
    # Python prints a string exit code to stderr and exits with status 1
    assert stopped.value.code == "ticktape: '1AB' is not a symbol (e.g. AAPL, BTC-USD, EUR/USD)"
    # a list may mix markets; --market reads the bare words
    mixed = settings_for(build_parser().parse_args(["--market", "forex", "AAPL", "eurgbp"]))
    assert mixed.watchlist == ("AAPL", "EUR/GBP")
    forex = settings_for(build_parser().parse_args(["--market", "crypto", "--fps", "20"]))
    assert forex.watchlist[0] == "BTC-USD" and forex.fps == 20


def test_an_unknown_time_zone_is_one_line_before_the_ui_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # It used to draw the UI, then die with a traceback from the status bar's clock.
    assert main(["--tz", "Mars/X", "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "ticktape: --tz Mars/X: unknown time zone (try America/New_York or UTC)"


def test_a_named_server_without_a_key_is_explained_not_swapped_for_the_simulator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("POLYGON_API_KEY", "MASSIVE_API_KEY", "TICKTAPE_WS_URL", "TICKTAPE_REST_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env with a key
    argv = ["--ws-url", "ws://127.0.0.1:9", "--config", str(tmp_path / "c.toml")]
    assert main(argv) == 2
    assert "no API key" in capsys.readouterr().err


def test_a_saved_mixed_list_is_kept_and_an_explicit_market_it_lacks_starts_from_defaults(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('watchlist = ["AAPL", "BTC-USD", "EUR/USD"]\n')
    for argv in ([], ["--market", "crypto"], ["--market", "forex"]):
        settings = settings_for(build_parser().parse_args([*argv, "--config", str(config)]))
        assert settings.watchlist == ("AAPL", "BTC-USD", "EUR/USD")
    config.write_text('watchlist = ["AAPL", "ABCDEF", "EUR/USD"]\n')
    saved = settings_for(build_parser().parse_args(["--market", "forex", "--config", str(config)]))
    assert saved.watchlist == ("AAPL", "ABCDEF", "EUR/USD")  # a saved six letters stay a stock
    config.write_text('watchlist = ["AAPL", "MSFT"]\n')
    crypto = settings_for(
        build_parser().parse_args(["--market", "crypto", "--config", str(config)])
    )
    assert crypto.watchlist[0] == "BTC-USD"

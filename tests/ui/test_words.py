"""What the status bar says, number formats, symbol rules, themes and the command line."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from ticktape.commands.run import _settings, build_parser, main
from ticktape.feed.rest import AuthError, NotEntitledError, RateLimitedError, RetryWait
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.ui.format import fmt_change, fmt_clock, fmt_pct, fmt_price, fmt_rate, fmt_volume
from ticktape.ui.statusbar import (
    KEY_IN_USE,
    KEY_REJECTED,
    REPLAY_LABEL,
    describe_rest_error,
    describe_retry,
    describe_server_status,
    describe_state,
)
from ticktape.ui.themes import BUILTIN_DIR, load_themes
from ticktape.ui.watchlist import fit_columns, normalize_symbol

from .conftest import STATS, MakeApp

NOW = 1_741_962_600_000


@pytest.mark.parametrize(
    ("status", "words", "severity"),
    [
        (SessionStatus(ConnState.LIVE, "", since_ms=NOW), "connected", "information"),
        (SessionStatus(ConnState.AUTH_FAILED, "x", since_ms=NOW), KEY_REJECTED, "error"),
        (  # offline still retries: say when, as for any other wait
            SessionStatus(
                ConnState.OFFLINE, "cannot reach h", attempt=3, retry_in=8, since_ms=NOW - 2_000
            ),
            "offline — retrying in 6 s: cannot reach h",
            "error",
        ),
        (
            SessionStatus(ConnState.KICKED, "", attempt=1, retry_in=80, since_ms=NOW - 20_000),
            f"{KEY_IN_USE} — retrying in 60 s",
            "error",
        ),
        (
            SessionStatus(ConnState.RECONNECTING, "lost", attempt=2, retry_in=4.2, since_ms=NOW),
            "reconnecting — retrying in 5 s (attempt 2): lost",
            "warning",
        ),
        (
            SessionStatus(ConnState.RECONNECTING, "", attempt=2, retry_in=1, since_ms=NOW - 5_000),
            "reconnecting — retrying now (attempt 2)",
            "warning",
        ),
        (SessionStatus(ConnState.CONNECTING, "", since_ms=NOW), "connecting…", "information"),
    ],
)
def test_connection_states_in_words(status: SessionStatus, words: str, severity: str) -> None:
    assert describe_state(status, NOW) == (words, severity)


def test_server_statuses_in_words() -> None:
    assert describe_server_status("success", "subscribed to: T.AAPL") is None
    assert describe_server_status("auth_failed", "authentication failed") == (KEY_REJECTED, "error")
    text, severity = describe_server_status("max_connections", "Maximum number of ...")  # type: ignore[misc]
    assert KEY_IN_USE in text and severity == "error"
    assert describe_server_status("error", "plan lacks Q") == ("server: plan lacks Q", "warning")


def test_rest_errors_in_words() -> None:
    assert describe_rest_error(AuthError("x", status=401), "AAPL") == (KEY_REJECTED, "error")
    err = NotEntitledError("x", server_message="not entitled")
    assert (
        describe_rest_error(err, "AAPL")[0] == "your plan does not include this data (AAPL history)"
    )
    assert describe_rest_error(RateLimitedError("x"), "AAPL")[1] == "warning"
    assert describe_retry(RetryWait("rate_limited", 11.2, 1)) == "rate limited — retrying in 12 s"


def test_number_formats() -> None:
    assert fmt_price(187.234) == "187.23"
    assert fmt_price(0.51234) == "0.5123"
    assert fmt_price(None) == "" and fmt_price(math.nan) == ""
    assert fmt_change(0.96, 2) == "+0.96"
    assert fmt_pct(-1.234) == "-1.23%"
    assert fmt_volume(950) == "950" and fmt_volume(12_345) == "12.3K"
    assert fmt_volume(1_234_567) == "1.23M" and fmt_volume(123_456_789) == "123M"
    assert fmt_rate(12_400) == "12k/s" and fmt_rate(830) == "830/s"
    assert fmt_clock(NOW, "America/New_York") == "10:30:00 EDT"


@pytest.mark.parametrize(
    ("text", "market", "expected"),
    [
        ("aapl", "stocks", "AAPL"),
        ("brk.b", "stocks", "BRK.B"),
        ("1AB", "stocks", None),
        ("TOOLONGNAME", "stocks", None),
        ("eurusd", "forex", "EUR/USD"),
        ("C:EURUSD", "forex", "EUR/USD"),
        ("AAPL", "forex", None),
        ("btc-usd", "crypto", "BTC-USD"),
        ("X:BTC-USD", "crypto", "BTC-USD"),
        ("BTCUSD", "crypto", None),
    ],
)
def test_symbol_rules(text: str, market: str, expected: str | None) -> None:
    assert normalize_symbol(text, market) == expected


def test_narrow_watchlist_keeps_symbol_last_and_pct() -> None:
    assert [c.key for c, _ in fit_columns(27)] == ["symbol", "last", "change_pct"]
    wide = [c.key for c, _ in fit_columns(84)]
    assert wide == [
        "symbol",
        "last",
        "change",
        "change_pct",
        "bid",
        "ask",
        "spread",
        "volume",
        "vwap",
    ]


def test_builtin_themes_and_a_broken_user_theme(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\nprimary = "#123456"\n[variables]\nup = "#00ff00"\n'
    )
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    themes, errors = load_themes([BUILTIN_DIR, tmp_path, tmp_path / "missing"])
    names = {t.name for t in themes}
    assert {"ticktape-dark", "ticktape-light", "ticktape-contrast", "mine"} <= names
    assert all({"up", "down", "neutral"} <= t.variables.keys() for t in themes if t.name != "mine")
    assert len(errors) == 1 and "broken.toml" in errors[0]


def test_command_line_symbols_theme_fps_and_a_symbol_of_the_wrong_market(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEXTUAL_FPS", "4")
    args = build_parser().parse_args(
        ["ibm", "--symbols", "aapl,IBM", "--config", str(tmp_path / "c.toml"), "--theme", "x"]
    )
    settings = _settings(args)
    assert settings.watchlist == ("IBM", "AAPL")
    assert settings.fps == 4  # a lower TEXTUAL_FPS wins when --fps is not given
    assert settings.theme == "x"
    with pytest.raises(SystemExit) as stopped:
        _settings(build_parser().parse_args(["--market", "forex", "AAPL"]))
    # Python prints a string exit code to stderr and exits with status 1
    assert stopped.value.code == "ticktape: 'AAPL' is not a valid forex symbol"
    forex = _settings(build_parser().parse_args(["--market", "crypto", "--fps", "20"]))
    assert forex.watchlist[0] == "BTC-USD" and forex.fps == 20


def test_an_unknown_time_zone_is_one_line_before_the_ui_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # It used to draw the UI, then die with a traceback from the status bar's clock.
    assert main(["--tz", "Mars/X", "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "ticktape: --tz Mars/X: unknown time zone (try America/New_York or UTC)"


@pytest.mark.parametrize(
    ("status", "message", "words"),
    [
        ("auth_failed", "authentication failed", KEY_REJECTED),
        ("error", "authentication failed", KEY_REJECTED),  # the older servers' wording
        ("auth_timeout", "", "sign-in timed out — reconnecting"),
        ("force_disconnect", "maintenance", "the server closed our connection — reconnecting"),
    ],
)
def test_server_status_words_follow_what_the_session_does(
    status: str, message: str, words: str
) -> None:
    described = describe_server_status(status, message)
    assert described is not None and described[0] == words


def test_a_named_server_without_a_key_is_explained_not_swapped_for_the_simulator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("POLYGON_API_KEY", "MASSIVE_API_KEY", "TICKTAPE_WS_URL", "TICKTAPE_REST_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env with a key
    argv = ["--ws-url", "ws://127.0.0.1:9", "--config", str(tmp_path / "c.toml")]
    assert main(argv) == 2
    assert "no API key" in capsys.readouterr().err


@pytest.mark.parametrize(("silent", "says"), [(12.4, "connected — no data for 12 s"), (1.0, "")])
async def test_a_connection_that_goes_quiet_says_so_in_the_bar(
    make_app: MakeApp, silent: float, says: str
) -> None:
    # A stalled server keeps the socket open; the bar must not keep a green "connected".
    app = make_app(stats=replace(STATS, silent_s=silent))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        text = app.main.status.plain
        assert "connected" in text
        assert (says in text) if says else "no data" not in text


async def test_a_replay_shows_no_lag_figure(make_app: MakeApp) -> None:
    # Recorded events carry their recording's times: the "lag" would be their age.
    app = make_app(feed_label=REPLAY_LABEL)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "REPLAY" in app.main.status.plain
        assert "lag" not in app.main.status.plain

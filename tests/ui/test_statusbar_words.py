"""What the status bar says: connection states, server statuses, REST errors, silence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ticktape.feed.clockwatch import PhaseLine
from ticktape.feed.rest import AuthError, NotEntitledError, RateLimitedError, RetryWait
from ticktape.feed.session import ConnState, SessionStatus
from ticktape.ui.statusbar import (
    KEY_IN_USE,
    KEY_REJECTED,
    REPLAY_LABEL,
    describe_cluster,
    describe_rest_error,
    describe_retry,
    describe_server_status,
    describe_state,
)

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


UP = SessionStatus(ConnState.LIVE, "", since_ms=NOW)


@pytest.mark.parametrize(
    ("status", "quiet_ms", "phase_closed", "upstream", "word", "severity"),
    [
        (UP, 1_000, False, None, "live", "ok"),
        (UP, 12_400, False, None, "quiet 12s", "warning"),
        (UP, 12_400, True, None, "closed", "information"),  # silence while closed: expected
        (UP, 1_000, True, None, "live", "ok"),  # the simulator trades while the market is shut
        (UP, 0, False, "upstream offline", "upstream down", "warning"),
        (SessionStatus(ConnState.RECONNECTING, "lost", 2, 4.0, NOW - 500), None, False, None,
         "retry 4s", "warning"),
        (SessionStatus(ConnState.OFFLINE, "refused", 3, 9.0, NOW), None, False, None,
         "offline 9s", "error"),
        (SessionStatus(ConnState.KICKED, "", 1, 80.0, NOW), None, False, None,
         "key in use 80s", "error"),
        (SessionStatus(ConnState.AUTH_FAILED, "x", since_ms=NOW), None, False, None,
         "key rejected", "error"),
        (SessionStatus(ConnState.CONNECTING, "", since_ms=NOW), None, False, None,
         "connecting", "information"),
        (None, None, False, None, "no feed", "warning"),
    ],
)  # fmt: skip
def test_each_cluster_of_a_mixed_list_in_a_word(
    status: SessionStatus | None,
    quiet_ms: int | None,
    phase_closed: bool,
    upstream: str | None,
    word: str,
    severity: str,
) -> None:
    phase = PhaseLine("closed" if phase_closed else "open", phase_closed)
    said = describe_cluster("forex", status, NOW, phase=phase, quiet_ms=quiet_ms, upstream=upstream)
    assert (said.cluster, said.text, said.severity) == ("forex", word, severity)

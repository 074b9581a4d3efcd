"""The status bar: the truth about the connection, in words a trader can act on.

See docs/ui.md (panes: status bar).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final, Literal

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ticktape.feed.session import REPLAY_FINISHED, ConnState, ending_state
from ticktape.feed.upstream import is_hub_word
from ticktape.ui.format import fmt_clock, fmt_ms, fmt_rate, one_line

if TYPE_CHECKING:
    from ticktape.feed.clockwatch import PhaseLine
    from ticktape.feed.rest import RetryWait
    from ticktape.feed.session import SessionStatus
    from ticktape.feed.stats import FeedSnapshot

Severity = Literal["information", "warning", "error"]

KEY_REJECTED: Final = "API key rejected — check POLYGON_API_KEY (environment or .env) and restart"
KEY_IN_USE: Final = "another session holds this key's connection"
NOT_ENTITLED: Final = "your plan does not include this data"
#: A notice stays in the bar this long (it also went out as a notification).
NOTICE_MS: Final = 30_000
#: The feed label of ``ticktape replay --app``.
REPLAY_LABEL: Final = "REPLAY"
#: Seconds without a frame, while connected, before the bar says the feed went quiet.
QUIET_S: Final = 5.0
#: Silence while the market is closed is expected: said plainly, not counted.
CLOSED_QUIET: Final = "no data — market closed"
#: What the bar says, connected, while the watchlist is empty (so no data is expected).
EMPTY_WATCHLIST: Final = "watchlist empty — press a to add a symbol"
#: Lag p99 above this is drawn in the warning colour even before the trend check fires.
LAG_WARN_MS: Final = 2_000.0


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    severity: Severity
    until_ms: int


def _countdown(status: SessionStatus, now_ms: int) -> str:
    if status.retry_in is None:
        return ""
    left = status.since_ms + status.retry_in * 1000 - now_ms
    return "retrying now" if left <= 0 else f"retrying in {math.ceil(left / 1000)} s"


def describe_state(status: SessionStatus, now_ms: int) -> tuple[str, Severity]:
    """The connection state as a phrase plus how alarming it is."""
    state, reason = status.state, status.reason
    match state:
        case ConnState.LIVE:
            return "connected", "information"
        case ConnState.CONNECTING | ConnState.AUTHENTICATING | ConnState.SUBSCRIBING:
            verb = {ConnState.CONNECTING: "connecting", ConnState.AUTHENTICATING: "signing in"}
            attempt = f" (attempt {status.attempt})" if status.attempt > 1 else ""
            return f"{verb.get(state, 'subscribing')}…{attempt}", "information"
        case ConnState.RECONNECTING:
            when = _countdown(status, now_ms) or "reconnecting"
            text = f"reconnecting — {when}" if when != "reconnecting" else "reconnecting…"
            if status.attempt:
                text += f" (attempt {status.attempt})"
            return (f"{text}: {reason}" if reason else text), "warning"
        case ConnState.AUTH_FAILED:
            return KEY_REJECTED, "error"
        case ConnState.KICKED:
            when = _countdown(status, now_ms)
            return (f"{KEY_IN_USE} — {when}" if when else KEY_IN_USE), "error"
        case ConnState.SLOW_CONSUMER:
            when = _countdown(status, now_ms) or "reconnecting"
            return f"server dropped us for reading too slowly — {when}", "warning"
        case ConnState.OFFLINE:
            when = _countdown(status, now_ms)
            text = f"offline — {when}" if when else "offline"
            return (f"{text}: {reason}" if reason else text), "error"
        case ConnState.STOPPED:
            return "disconnected", "information"
    return (f"{state.value}: {reason}" if reason else state.value), "information"


@dataclass(frozen=True, slots=True)
class ClusterWord:
    """One cluster's state in a word or two, for the bar of a mixed watchlist."""

    cluster: str
    text: str
    severity: str  # "ok", or a Severity


def _short_countdown(status: SessionStatus, now_ms: int) -> str:
    if status.retry_in is None:
        return ""
    left = status.since_ms + status.retry_in * 1000 - now_ms
    return f" {max(0, math.ceil(left / 1000))}s"


_CLUSTER_WORDS: Final[dict[ConnState, tuple[str, Severity]]] = {
    ConnState.CONNECTING: ("connecting", "information"),
    ConnState.AUTHENTICATING: ("signing in", "information"),
    ConnState.SUBSCRIBING: ("subscribing", "information"),
    ConnState.RECONNECTING: ("reconnecting", "warning"),
    ConnState.SLOW_CONSUMER: ("too slow", "warning"),
    ConnState.OFFLINE: ("offline", "error"),
    ConnState.KICKED: ("key in use", "error"),
    ConnState.AUTH_FAILED: ("key rejected", "error"),
    ConnState.STOPPED: ("stopped", "information"),
}


def describe_cluster(
    cluster: str,
    status: SessionStatus | None,
    now_ms: int,
    *,
    phase: PhaseLine | None = None,
    quiet_ms: int | None = None,
    upstream: str | None = None,
) -> ClusterWord:
    """``cluster``'s state as the bar of a mixed list says it, short enough for three in 80
    columns: ``live``, ``closed`` (quiet while its market is closed), ``quiet 12s``,
    ``retry 4s`` (reconnecting), ``offline 9s``, ``key rejected``, ``upstream down`` (a hub's)…
    The toasts and the one-market bar keep the long sentences (:func:`describe_state`)."""
    if status is None:
        return ClusterWord(cluster, "no feed", "warning")
    if status.state is ConnState.LIVE:
        quiet = quiet_ms is not None and quiet_ms >= QUIET_S * 1000
        if upstream:
            return ClusterWord(cluster, "upstream down", "warning")
        if quiet and phase is not None and phase.closed:
            return ClusterWord(cluster, "closed", "information")
        if quiet and quiet_ms is not None:
            return ClusterWord(cluster, f"quiet {quiet_ms // 1000}s", "warning")
        return ClusterWord(cluster, "live", "ok")
    text, severity = _CLUSTER_WORDS.get(status.state, (status.state.value, "information"))
    countdown = _short_countdown(status, now_ms)
    if countdown and status.state in (ConnState.RECONNECTING, ConnState.SLOW_CONSUMER):
        text = "retry" if status.state is ConnState.RECONNECTING else f"{text}, retry"
    return ClusterWord(cluster, text + countdown, severity)


def describe_server_status(status: str, message: str) -> tuple[str, Severity] | None:
    """A server ``status`` event worth telling the user about, or None for routine ones.

    What a status means comes from the session's own classifier, so the words
    here can never disagree with what the session does about it.
    """
    s = status.lower()
    if s in ("connected", "auth_success", "success") or is_hub_word(s):
        return None  # a hub's words are the state line's and the label's to show
    if s == REPLAY_FINISHED:
        return message or "replay finished", "information"
    match ending_state(status, message):
        case ConnState.AUTH_FAILED:
            return KEY_REJECTED, "error"
        case ConnState.KICKED:
            return f"{KEY_IN_USE} (the server allows one per key)", "error"
        case ConnState.SLOW_CONSUMER:
            return "the server says we read too slowly — reconnecting", "warning"
        case ConnState.RECONNECTING if s == "auth_timeout":
            return "sign-in timed out — reconnecting", "warning"
        case ConnState.RECONNECTING:
            return "the server closed our connection — reconnecting", "warning"
    text = f"server: {message}" if message else f"server status: {status}"
    return text, "warning" if s == "error" else "information"


def describe_rest_error(err: Exception, symbol: str) -> tuple[str, Severity]:
    """A failed history download, said the way a trader needs to hear it."""
    # Imported here: httpx (~30 ms) is not needed before the first prices are painted.
    from ticktape.feed.rest import AuthError, NotEntitledError, RateLimitedError

    if isinstance(err, AuthError):
        return KEY_REJECTED, "error"
    if isinstance(err, NotEntitledError):
        return f"{NOT_ENTITLED} ({symbol} history)", "error"
    if isinstance(err, RateLimitedError):
        return f"rate limited — {symbol} history will load later", "warning"
    return f"{symbol} history not loaded: {err}", "warning"


def describe_retry(wait: RetryWait) -> str:
    """A pause before a REST retry."""
    seconds = max(1, math.ceil(wait.seconds))
    what = {
        "rate_limited": "rate limited",
        "server_error": "data server error",
        "timeout": "data server is slow",
        "connection": "cannot reach the data server",
    }.get(wait.reason, wait.reason)
    return f"{what} — retrying in {seconds} s"


class StatusBar(Widget):
    """One line at the bottom; the refresh timer calls :meth:`show`, it repaints on change."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    StatusBar > .statusbar--ok {
        color: $success;
    }
    StatusBar > .statusbar--info {
        color: $foreground;
    }
    StatusBar > .statusbar--warning {
        color: $warning;
        text-style: bold;
    }
    StatusBar > .statusbar--error {
        color: $error;
        text-style: bold;
    }
    StatusBar > .statusbar--feed {
        background: $accent;
        color: $background;
        text-style: bold;
    }
    StatusBar > .statusbar--muted {
        color: $text-muted;
    }
    StatusBar > .statusbar--clock {
        text-style: bold;
    }
    StatusBar > .statusbar--rec {
        background: $error;
        color: $background;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "statusbar--ok",
        "statusbar--info",
        "statusbar--warning",
        "statusbar--error",
        "statusbar--feed",
        "statusbar--muted",
        "statusbar--clock",
        "statusbar--rec",
    }

    def __init__(
        self,
        *,
        feed_label: str = "LIVE",
        market: str = "stocks",
        tz: str = "America/New_York",
        ascii_only: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.feed_label = feed_label
        self.market = market
        self.tz = tz
        self.notice: Notice | None = None
        #: The bandwidth profile, said after the market when it is not the normal one.
        self.profile = ""
        #: Set when the feed said it has nothing more to send ("replay finished"): shown
        #: instead of "no data for N s", which would read as a fault.
        self.ended: str | None = None
        # state marks (ok / bad / info) and the separator, plain ASCII with --ascii
        self._marks = ("*", "!", "o", " | ") if ascii_only else ("●", "▲", "○", " │ ")
        self._dot = " - " if ascii_only else " · "  # between the clusters of a mixed list
        self._key: tuple[object, ...] = ()
        self._left = Text()
        self._right = Text()

    def set_notice(self, text: str, severity: Severity, now_ms: int) -> None:
        """Show ``text`` in the bar for a while (it is also sent as a notification)."""
        clean = one_line(text)  # wire text: one line, no escapes
        self.notice = Notice(clean, severity, now_ms + NOTICE_MS)

    def show(
        self,
        status: SessionStatus | None,
        stats: FeedSnapshot | None,
        now_ms: int,
        *,
        recording: bool = False,
        phase: PhaseLine | None = None,
        empty: bool = False,
        upstream: str | None = None,
        hub_clients: int | None = None,
        clusters: tuple[ClusterWord, ...] | None = None,
    ) -> None:
        """Rebuild the bar if anything it says changed; ``recording`` shows the REC mark;
        ``phase`` is the market clock's word (and whether silence is expected); ``empty``: the
        watchlist is, so silence is expected (see :data:`EMPTY_WATCHLIST`); ``upstream`` is
        what a hub says is wrong with its own upstream, if anything; ``hub_clients`` how many
        clients share that hub. ``clusters``: a mixed list's word per cluster, said instead
        of the one state, market and phase."""
        if self.notice is not None and self.notice.until_ms <= now_ms:
            self.notice = None
        if clusters is not None:
            self._show_clusters(clusters, stats, now_ms, recording, hub_clients)
            return
        state, severity = describe_state(status, now_ms) if status else ("no feed", "warning")
        live = status is not None and status.state is ConnState.LIVE
        if live and upstream:
            # Connected to the hub, but the hub's own connection is not well: that is the
            # truth about the data, so it takes the state line.
            state, severity, live = one_line(upstream), "warning", False
        silent = None if stats is None else stats.silent_s
        if live and self.ended:
            state, severity, live = self.ended, "information", False
        elif live and empty:
            # Nothing subscribed, so nothing arrives: not a feed fault, and says what to do.
            state, severity = f"connected — {EMPTY_WATCHLIST}", "information"
            live = False
        elif live and silent is not None and silent >= QUIET_S and phase and phase.closed:
            state, severity = CLOSED_QUIET, "information"  # nothing trades: nothing is wrong
            live = False
        elif live and silent is not None and silent >= QUIET_S:
            # Connected but nothing arrives: say so now (the watchdog waits far longer).
            state, severity = f"connected — no data for {silent:.0f} s", "warning"
            live = False  # not the "all well" mark
        figures = self._figures(stats)
        clock = fmt_clock(now_ms, self.tz)
        key = (
            state,
            severity,
            figures,
            self.notice,
            clock,
            self.feed_label,
            self.market,
            self.profile,
            recording,
            phase,
            hub_clients,
        )
        if key == self._key:
            return
        self._key = key
        sev = "ok" if live else severity
        words = None if phase is None else phase.text
        label = self._label(hub_clients)
        self._left, self._right = self._build(state, sev, figures, clock, recording, label, words)
        self.refresh()

    def _show_clusters(
        self,
        clusters: tuple[ClusterWord, ...],
        stats: FeedSnapshot | None,
        now_ms: int,
        recording: bool,
        hub_clients: int | None,
    ) -> None:
        figures = self._figures(stats)
        clock = fmt_clock(now_ms, self.tz)
        label = self._label(hub_clients)
        key = (clusters, figures, self.notice, clock, label, self.profile, recording)
        if key == self._key:
            return
        self._key = key
        self._left, self._right = self._build(
            "", "ok", figures, clock, recording, label, clusters=clusters
        )
        self.refresh()

    def _label(self, hub_clients: int | None) -> str:
        label = self.feed_label
        if hub_clients is not None:
            label += f" ({hub_clients} client{'s' if hub_clients != 1 else ''})"
        return label

    @property
    def plain(self) -> str:
        """Everything the bar says, untruncated (for tests and accessibility)."""
        return f"{self._left.plain} {self._right.plain}"

    def _figures(self, stats: FeedSnapshot | None) -> tuple[tuple[str, bool], ...]:
        if stats is None:
            return ()
        parts = [(fmt_rate(stats.events_per_s).replace("/s", " ev/s"), False)]
        # A replay's events carry the recording's times: "lag" would be its age, not ours.
        if stats.lag_p99_ms is not None and self.feed_label != REPLAY_LABEL:
            lagging = stats.warning or stats.lag_p99_ms > LAG_WARN_MS
            parts.append((f"lag p99 {fmt_ms(stats.lag_p99_ms)}", lagging))
        if stats.decode_errors:
            parts.append((f"{stats.decode_errors} decode errors", True))
        if stats.warning and stats.warning_reason:
            parts.append((stats.warning_reason, True))
        return tuple(parts)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"statusbar--{name}")

    def _build(
        self,
        state: str,
        severity: str,
        figures: tuple[tuple[str, bool], ...],
        clock: str,
        recording: bool,
        label: str,
        phase: str | None = None,
        clusters: tuple[ClusterWord, ...] | None = None,
    ) -> tuple[Text, Text]:
        sep = (self._marks[3], self._style("muted"))
        left = Text(no_wrap=True, overflow="ellipsis")
        if clusters is None:
            self._state(left, state, severity)
        else:
            self._clusters(left, clusters)
        left.append(*sep)
        left.append(f" {label} ", self._style("feed"))
        if clusters is None:
            left.append(f" {self.market}", self._style("muted"))
        if phase:
            left.append(f" · {phase}", self._style("muted"))
        if self.profile:
            left.append(*sep)
            left.append(self.profile, self._style("muted"))
        for text, warn in figures:
            left.append(*sep)
            left.append(text, self._style("warning") if warn else Style())
        if self.notice is not None:
            left.append(*sep)
            notice_sev = "info" if self.notice.severity == "information" else self.notice.severity
            left.append(self.notice.text, self._style(notice_sev))
        right = Text(no_wrap=True)
        if recording:  # beside the clock: the right end is never truncated
            right.append(f" {self._marks[0]} REC ", self._style("rec"))
        right.append(f" {clock} ", self._style("clock"))
        return left, right

    def _mark(self, severity: str) -> tuple[str, str]:
        """The mark and style name for a severity ("ok", "information", …)."""
        sev = {"information": "info"}.get(severity, severity)
        ok, bad, info, _ = self._marks
        return (ok if sev == "ok" else info if sev == "info" else bad), sev

    def _state(self, left: Text, state: str, severity: str) -> None:
        mark, sev = self._mark(severity)
        left.append(f" {mark} ", self._style(sev))
        left.append(state, self._style(sev))

    def _clusters(self, left: Text, clusters: tuple[ClusterWord, ...]) -> None:
        """``stocks ● live · crypto ● live · forex ○ reconnecting 4s``."""
        for i, word in enumerate(clusters):
            mark, sev = self._mark(word.severity)
            left.append(self._dot if i else " ", self._style("muted"))
            left.append(f"{word.cluster} ", self._style("muted"))
            left.append(f"{mark} {word.text}", self._style(sev))

    def render(self) -> Text:
        left = self._left.copy()
        left.truncate(max(0, self.size.width - self._right.cell_len), overflow="ellipsis", pad=True)
        return Text.assemble(left, self._right, no_wrap=True)

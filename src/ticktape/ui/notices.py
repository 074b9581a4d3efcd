"""Notices: one-line messages to the user, as a toast and a status-bar line, de-duplicated.

Notices raised before the first screen is painted wait for it. See docs/ui.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from textual.css.query import NoMatches

from ticktape.ui.format import one_line
from ticktape.ui.statusbar import Severity

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp

#: The same notice is not re-notified within this window (a retry loop would spam).
NOTICE_REPEAT_MS: Final = 10_000


class Notices:
    """The app's notices: toasts that do not repeat, the status bar's notice line."""

    def __init__(self, app: TicktapeApp, clock: Callable[[], int]) -> None:
        """Args:
        app: the app whose toasts and status bar say the notices.
        clock: wall time in milliseconds (injected so tests are deterministic).
        """
        self.app = app
        self.clock = clock
        #: Notices raised before the screen was up, ``(text, severity, bar)``;
        #: :meth:`ready` says them in order.
        self.early: list[tuple[str, Severity, bool]] = []
        self._up = False
        self._last: dict[str, int] = {}  # key or text → when it was last toasted

    def ready(self, config_problem: str, theme_errors: list[str], problems: list[str]) -> None:
        """The screen is up: say start-up's problems, then what waited for it, in order.

        Args:
            config_problem: why this run is on defaults ("" if it is not).
            theme_errors: theme files or names that could not be used (toasts only).
            problems: other start-up warnings (e.g. alerts that could not be read).
        """
        self._up = True
        if config_problem:
            self.notice(config_problem, "error")
        for error in theme_errors:
            self.app.notify(error, severity="warning", markup=False)
        for problem in problems:
            self.notice(problem, "warning")
        early, self.early = self.early, []
        for text, severity, bar in early:
            self.notice(text, severity, bar=bar)

    def notice(
        self,
        text: str,
        severity: Severity = "information",
        *,
        bar: bool = True,
        key: str | None = None,
    ) -> None:
        """Tell the user once: a notification plus (``bar``) a line in the status bar.

        The same ``key`` (else the same text) is not toasted again within
        :data:`NOTICE_REPEAT_MS`."""
        if not self._up:  # the feed started before the screen: ready() says it
            self.early.append((text, severity, bar))
            return
        try:
            status = self.app.main.status
        except NoMatches:  # exiting: nobody left to tell
            return
        now = self.clock()
        # Notices carry wire text (server statuses, REST errors): one line, no terminal
        # escapes, and never interpreted as markup (a "[/bold]" from a server would crash).
        text = one_line(text)
        if bar:
            status.set_notice(text, severity, now)
        tag = key or text
        if now - self._last.get(tag, -NOTICE_REPEAT_MS) >= NOTICE_REPEAT_MS:
            self._last[tag] = now
            self.app.notify(
                text, severity=severity, timeout=8 if severity == "error" else 5, markup=False
            )

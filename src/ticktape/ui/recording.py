"""Recording the feed (``--record FILE`` or ``R``): every raw frame, before decoding.

The session hands frames to a redacting :class:`~ticktape.feed.record.RecordSwitch`;
this is the app's side of it (start, stop, the toggle key). See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ticktape.feed.record import RecordSwitch
from ticktape.ui.statusbar import Severity


def default_record_path() -> Path:
    """``ticktape-YYYYmmdd-HHMMSS.jsonl.gz`` in the current directory, in local time."""
    return Path(datetime.now().strftime("ticktape-%Y%m%d-%H%M%S.jsonl.gz"))


class Recording:
    """Starts and stops the recording; the app's status bar shows REC while it runs."""

    def __init__(
        self,
        switch: RecordSwitch,
        path: Path | None,
        *,
        meta: dict[str, str],
        notice: Callable[[str, Severity], None],
        toast: Callable[[str, float | None], None],
        changed: Callable[[], None],
    ) -> None:
        """Args:
        switch: where the session writes frames (it redacts the API key).
        path: the file ``--record`` named, if any (``R`` records there too).
        meta: the recording's header (e.g. which market).
        notice: tells the user a recording could not start.
        toast: a short notification ``(text, timeout_s)`` (None: the usual timeout).
        changed: called when the recording starts or stops (the REC mark).
        """
        self.switch = switch
        self.path = path
        self._meta = meta
        self._notice = notice
        self._toast = toast
        self._changed = changed

    def start(self, path: Path) -> bool:
        """Append every frame received from now on to ``path``; False (and a notice) if it
        cannot be opened. The app keeps running either way: recording is a side job."""
        try:
            self.switch.start(path, meta=self._meta)
        except OSError as err:
            self._notice(f"cannot record to {path}: {err.strerror or err}", "error")
            return False
        self.path = path
        self._changed()
        return True

    def stop(self) -> None:
        """Flush and close the recording (idempotent)."""
        recorder = self.switch.recorder
        self.switch.stop()
        if recorder is not None:
            self._changed()

    def toggle(self) -> None:
        """Start recording (to --record's file, else a new timestamped one) or stop."""
        recorder = self.switch.recorder
        if recorder is not None:
            self.stop()
            self._toast(
                f"recording stopped: {recorder.path.resolve()} ({recorder.frames:,} frames)", None
            )
            return
        path = self.path or default_record_path()
        if self.start(path):
            # The full path: a bare name leaves "where did it go?" to the user.
            self._toast(f"recording to {path.resolve()}", 6)

    def announce(self) -> None:
        """Say where a recording begun before the screen was up is going."""
        if self.switch.recorder is not None:
            self._toast(f"recording to {self.switch.recorder.path.resolve()}", 6)

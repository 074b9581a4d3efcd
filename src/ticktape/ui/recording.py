"""Recording the feed (``--record FILE`` or ``R``): every raw frame, before decoding.

The session hands frames to a redacting :class:`~ticktape.feed.record.RecordSwitch`;
this is the app's side of it (start, stop, the toggle key). See docs/architecture.md.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ticktape.feed.record import RecordSwitch

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp


def default_record_path() -> Path:
    """``ticktape-YYYYmmdd-HHMMSS.jsonl.gz`` in the current directory, in local time."""
    return Path(datetime.now().strftime("ticktape-%Y%m%d-%H%M%S.jsonl.gz"))


class Recording:
    """Starts and stops the recording; the app's status bar shows REC while it runs."""

    def __init__(self, app: TicktapeApp, path: Path | None) -> None:
        """Args:
        app: the app whose settings (market, API key) and status bar the recording uses.
        path: the file ``--record`` named, if any (``R`` records there too).
        """
        key = app.settings.api_key.reveal()
        #: Where the session hands every raw frame; it redacts the API key.
        self.switch = RecordSwitch(redact=[key] if key else [])
        self.path = path
        self.app = app

    def start(self, path: Path) -> bool:
        """Append every frame received from now on to ``path``; False (and a notice) if it
        cannot be opened. The app keeps running either way: recording is a side job."""
        try:
            self.switch.start(path, meta={"market": self.app.settings.market})
        except OSError as err:
            self.app.notice(f"cannot record to {path}: {err.strerror or err}", "error")
            return False
        self.path = path
        self.app.frames.status_now()
        return True

    def begin(self) -> None:
        """Start the recording ``--record`` asked for, if it did."""
        if self.path is not None:
            self.start(self.path)

    def stop(self) -> None:
        """Flush and close the recording (idempotent)."""
        recorder = self.switch.recorder
        self.switch.stop()
        if recorder is not None:
            self.app.frames.status_now()

    def toggle(self) -> None:
        """Start recording (to --record's file, else a new timestamped one) or stop."""
        recorder = self.switch.recorder
        if recorder is not None:
            self.stop()
            text = f"recording stopped: {recorder.path.resolve()} ({recorder.frames:,} frames)"
            self.app.notify(text, markup=False)
            return
        path = self.path or default_record_path()
        if self.start(path):
            # The full path: a bare name leaves "where did it go?" to the user.
            self.app.notify(f"recording to {path.resolve()}", timeout=6, markup=False)

    def announce(self) -> None:
        """Say where a recording begun before the screen was up is going."""
        if self.switch.recorder is not None:
            where = self.switch.recorder.path.resolve()
            self.app.notify(f"recording to {where}", timeout=6, markup=False)

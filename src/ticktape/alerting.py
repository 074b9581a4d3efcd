"""Delivering fired alerts: terminal bell and OSC 9/777 notifications, a JSON-lines log, a command.

No Textual: the app and ``ticktape alerts`` each hand it their writer. See docs/alerts.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ticktape.alertstore import Loaded, load_alerts, save_alerts
from ticktape.config import ConfigFileError, Settings
from ticktape.market.alerts import Alert, AlertBook, Fired
from ticktape.market.state import MarketState
from ticktape.markethours import reading

#: A user command gets this long before it is killed.
COMMAND_TIMEOUT_S: Final = 10.0
#: At most this many user commands run at once; a burst beyond it is dropped (and said).
MAX_COMMANDS: Final = 4
BELL: Final = "\a"
#: Fired/re-armed state is saved at most this often (a busy watchlist alert would
#: otherwise rewrite the config file every frame); edits are saved at once.
SAVE_EVERY_MS: Final = 2_000
TITLE: Final = "ticktape"


def default_log_path() -> Path:
    """``$XDG_DATA_HOME/ticktape/alerts.jsonl`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ticktape" / "alerts.jsonl"


def clean(text: str, limit: int = 200) -> str:
    """``text`` safe inside an OSC sequence: no control or format characters (an ESC or
    BEL from the wire would end the sequence early and let the rest reach the terminal)."""
    out = "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or not unicodedata.category(ch).startswith("C")
    )
    return out[:limit]


def osc_notification(title: str, body: str) -> str:
    """A desktop notification as both common escapes: OSC 9 (iTerm2, WezTerm, Windows
    Terminal, foot) and OSC 777 (urxvt's, kitty's, foot's). A terminal ignores the one it
    does not know. OSC 777 splits on ``;``, so the title may not contain one."""
    title, body = clean(title).replace(";", ","), clean(body)
    return f"\x1b]9;{title}: {body}\x07\x1b]777;notify;{title};{body}\x07"


def fired_record(fired: Fired) -> dict[str, object]:
    """What the log keeps (and the command's environment carries) for one fired alert."""
    return {
        "time": datetime.fromtimestamp(fired.at_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "id": fired.alert_id,
        "symbol": fired.symbol,
        "kind": fired.kind,
        "event": fired.event,
        "price": fired.price,
        "measure": round(fired.measure, 6),
        "text": fired.text,
    }


def command_env(fired: Fired, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus ``TICKTAPE_ALERT_*`` for the command (values as text; no API key)."""
    record = fired_record(fired)
    env = {k: v for k, v in base.items() if k not in ("POLYGON_API_KEY", "MASSIVE_API_KEY")}
    for key, value in record.items():
        env[f"TICKTAPE_ALERT_{key.upper()}"] = "" if value is None else str(value)
    return env


def command_args(argv: Sequence[str], fired: Fired) -> list[str]:
    """``argv`` with ``{symbol}``, ``{text}``, ``{kind}``, ``{event}``, ``{price}``, ``{id}``
    replaced in each argument (plain replacement: no format mini-language, no shell)."""
    values = {k: "" if v is None else str(v) for k, v in fired_record(fired).items()}
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


class AlertLog:
    """Append-only JSON lines; a line is written whole with one ``write`` and flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, fired: Fired) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(fired_record(fired), ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)


@dataclass
class Delivery:
    """Everything but the toast and the tape line (the app's) for each fired alert.

    ``write`` puts text on the terminal (the app's driver, or stdout); ``problem``
    hears one line when something could not be delivered. Commands run as asyncio
    subprocesses, so :meth:`deliver` must be called on the running loop and never waits.
    """

    write: Callable[[str], None] | None = None
    bell: bool = True
    desktop: bool = True
    command: tuple[str, ...] = ()
    log: AlertLog | None = None
    problem: Callable[[str], None] = lambda text: None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout_s: float = COMMAND_TIMEOUT_S
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def deliver(self, fired: Sequence[Fired]) -> None:
        if not fired:
            return
        for f in fired:
            if self.log is not None:
                try:
                    self.log.append(f)
                except OSError as err:
                    self.problem(f"alert log {self.log.path}: {err.strerror or err}")
        if self.write is not None:
            out = BELL if self.bell else ""
            if self.desktop:
                out += "".join(osc_notification(TITLE, f.text) for f in fired)
            if out:
                self.write(out)
        if self.command:
            for f in fired:
                self._spawn(f)

    def _spawn(self, fired: Fired) -> None:
        if len(self.tasks) >= MAX_COMMANDS:
            self.problem(f"alert_command still busy; not run for {fired.symbol}")
            return
        task = asyncio.get_running_loop().create_task(self.run_command(fired))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run_command(self, fired: Fired) -> None:
        """Run ``command`` for one alert; any failure becomes one line for :attr:`problem`."""
        argv = command_args(self.command, fired)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=command_env(fired, self.env),
                start_new_session=True,  # no terminal to write on, no ctrl+c from ours
            )
        except OSError as err:
            self.problem(f"alert_command {argv[0]}: {err.strerror or err}")
            return
        try:
            _, err_out = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            self.problem(f"alert_command {argv[0]} took over {self.timeout_s:g}s; stopped")
            return
        if proc.returncode:
            lines = err_out.decode("utf-8", "replace").strip().splitlines()
            tail = f": {clean(lines[-1])}" if lines else ""
            self.problem(f"alert_command {argv[0]} exited {proc.returncode}{tail}")

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait for the commands still running (on the way out)."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout_s or self.timeout_s + 1)


class AlertService:
    """The alerts of one run, app or headless: the book, its file, and delivery.

    Call :meth:`frame` on each frame (the app's timer, or each received frame when
    headless): it checks the symbols changed since the last call, stale alerts once
    a second, delivers what fired, and saves the alerts' state when it moved.
    """

    def __init__(
        self,
        settings: Settings,
        state: MarketState,
        *,
        watchlist: Sequence[str],
        write: Callable[[str], None] | None,
        problem: Callable[[str], None],
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.problem = problem
        self.writable = True
        try:
            loaded = load_alerts(settings.config_path)
        except ConfigFileError:
            loaded = Loaded()
            self.writable = False  # the app already says why the file is skipped
        self.problems = loaded.problems
        self._open_at = (-1, False)
        self.book = AlertBook(
            loaded.alerts, state=state, watchlist=watchlist, is_open=self._is_open
        )
        self.book.reserved = set(loaded.ids)
        self.deleted: set[str] = set()
        self.delivery = Delivery(
            write=write,
            bell=settings.alert_bell,
            desktop=settings.alert_desktop,
            command=settings.alert_command,
            log=AlertLog(log_path or default_log_path()),
            problem=problem,
        )
        self.listeners: list[Callable[[list[Fired]], None]] = []
        #: Called after an alert is added, changed or deleted (the symbols to feed may change).
        self.changed: list[Callable[[], None]] = []
        self._seen = state.version
        self._stale_at = 0
        self._saved_at = -SAVE_EVERY_MS

    def _is_open(self, now_ms: int) -> bool:
        second = now_ms // 1000
        if self._open_at[0] != second:
            self._open_at = (second, reading(self.settings.market, now_ms).phase == "open")
        return self._open_at[1]

    def frame(self, now_ms: int) -> list[Fired]:
        book = self.book
        state = book.state
        if not book.alerts:
            self._seen = state.version
            return []
        fired: list[Fired] = []
        if state.version != self._seen:
            fired = book.check_since(self._seen, now_ms)
            self._seen = state.version
        if now_ms - self._stale_at >= 1000:
            self._stale_at = now_ms
            fired += book.check_stale(now_ms)
        if fired:
            self.delivery.deliver(fired)
            for listener in tuple(self.listeners):
                listener(fired)
        if book.dirty and now_ms - self._saved_at >= SAVE_EVERY_MS:
            self._saved_at = now_ms
            self.save()
        return fired

    def close(self) -> None:
        """Save what fired or re-armed since the last save (on the way out)."""
        if self.book.dirty:
            self.save()

    # -- editing (each change is saved at once) ------------------------------------------------

    def add(self, alert: Alert) -> Alert:
        alert = self.book.add(alert)
        self.save()
        self._changed()
        return alert

    def update(self, alert_id: str, alert: Alert) -> Alert | None:
        out = self.book.update(alert_id, alert)
        self.save()
        self._changed()
        return out

    def remove(self, alert_id: str) -> Alert | None:
        out = self.book.remove(alert_id)
        if out is not None:
            self.deleted.add(alert_id)
            self.save()
            self._changed()
        return out

    def _changed(self) -> None:
        for listener in tuple(self.changed):
            listener()

    def snooze(self, alert_id: str, until_ms: int) -> Alert | None:
        out = self.book.snooze(alert_id, until_ms)
        self.save()
        return out

    def save(self) -> bool:
        self.book.dirty = False
        if not self.writable:
            return False
        try:
            return save_alerts(self.settings.config_path, self.book.alerts, self.deleted)
        except ConfigFileError as err:
            self.problem(f"alerts not saved — {err}")
        except OSError as err:
            self.problem(f"could not save the alerts: {err.strerror or err}")
        return False

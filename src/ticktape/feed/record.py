"""Recording of a live session: every raw frame as received, gzip JSON lines, key redacted.

See docs/simulator.md (recording and replay).
"""

from __future__ import annotations

import base64
import gzip
import os
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from ticktape.feed import wire

HEADER_TAG: Final = "recording"
FORMAT_VERSION: Final = 1
REDACTED: Final = "****"
GZIP_MAGIC: Final = b"\x1f\x8b"

NOT_A_RECORDING: Final = (
    "it exists and is not a ticktape recording (ticktape never writes into a file it did not"
    " make): choose a new file name"
)
CUT_SHORT: Final = (
    "it is a ticktape recording that was cut short (a crash?), and frames added after the cut"
    " could never be read back: choose a new file name"
)


class NotOurFileError(FileExistsError):
    """An existing file a recording must not write into; the message says why and what to do."""


class _Line(msgspec.Struct, omit_defaults=True, gc=False):
    """One line of a recording: a frame, or (with ``ticktape`` set) a header."""

    t: int = 0
    f: str | None = None
    b: str | None = None
    ticktape: str | None = None


_encode = msgspec.json.Encoder().encode
_decode_line = msgspec.json.Decoder(_Line).decode


def _is_auth_action(text: str) -> bool:
    """True if ``text`` is (or holds) a client ``auth`` action — never to be recorded."""
    if '"action"' not in text:  # cheap test first: server frames have no "action"
        return False
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return True  # unparseable and mentions an action: refuse rather than guess
    items = value if isinstance(value, list) else [value]
    return any(isinstance(i, dict) and i.get("action") == wire.AUTH for i in items)


class Recorder:
    """Appends raw frames to a gzip JSON-lines file; wire it as ``Session(on_frame=rec.write)``.

    :meth:`write` is cheap enough for the read loop (one encode and one
    compress per frame under a lock). Call :meth:`close` (or use ``with``)
    to write the gzip trailer.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        redact: Iterable[str] = (),
        meta: Mapping[str, str | int | float] | None = None,
        flush_interval: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.frames = 0
        self.dropped = 0
        self._redact = tuple(s for s in (str.__str__(r) for r in redact) if s)
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = False
        check_appendable(self.path)
        self._gz = gzip.open(self.path, "ab", compresslevel=6)  # noqa: SIM115 - closed in close()
        header = {"ticktape": HEADER_TAG, "v": FORMAT_VERSION, "started_ms": _now_ms()}
        header.update(meta or {})
        self._gz.write(_encode(header) + b"\n")
        self._gz.flush(zlib.Z_SYNC_FLUSH)
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(flush_interval,), name="ticktape-recorder", daemon=True
        )
        self._flusher.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, frame: bytes | str, recv_ms: int) -> None:
        """Record one received frame (after a :meth:`close`, frames are ignored)."""
        raw = b""
        if isinstance(frame, bytes):
            try:
                text: str | None = frame.decode("utf-8")
            except UnicodeDecodeError:
                text, raw = None, frame
        else:
            text = frame
        if text is not None:
            if _is_auth_action(text):
                self.dropped += 1
                return
            for secret in self._redact:
                if secret in text:
                    text = text.replace(secret, REDACTED)
            line = _Line(t=recv_ms, f=text)
        else:
            for secret_b in (s.encode() for s in self._redact):
                raw = raw.replace(secret_b, REDACTED.encode())
            line = _Line(t=recv_ms, b=base64.b64encode(raw).decode("ascii"))
        data = _encode(line) + b"\n"
        with self._lock:
            if self._closed:
                return
            self._gz.write(data)
            self._dirty = True
            self.frames += 1

    def flush(self) -> None:
        """Make everything written so far readable from the file (a gzip sync flush)."""
        with self._lock:
            if self._closed or not self._dirty:
                return
            self._gz.flush(zlib.Z_SYNC_FLUSH)
            self._dirty = False

    def close(self) -> None:
        """Stop the flusher and finish the gzip member. Idempotent."""
        self._stop.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._gz.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _flush_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()


class RecordSwitch:
    """A fixed ``on_frame`` target that recording can be switched on and off behind.

    A Session takes its ``on_frame`` once, at construction; the app's record
    key needs to start and stop recording later. Hand ``switch.write`` to the
    Session and call :meth:`start` / :meth:`stop`; while stopped, ``write``
    costs one attribute test.
    """

    def __init__(self, *, redact: Iterable[str] = ()) -> None:
        self._redact = tuple(redact)
        self.recorder: Recorder | None = None

    @property
    def active(self) -> bool:
        return self.recorder is not None

    def start(
        self, path: str | Path, *, meta: Mapping[str, str | int | float] | None = None
    ) -> Recorder:
        """Record to ``path`` (appending) from now on; a running recording is stopped first.

        Raises OSError (:class:`NotOurFileError` for a file that is not a whole recording)."""
        self.stop()
        self.recorder = Recorder(path, redact=self._redact, meta=meta)
        return self.recorder

    def stop(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()

    def write(self, frame: bytes | str, recv_ms: int) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.write(frame, recv_ms)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ReadReport:
    """What reading a recording met besides frames, for a reader to tell its user."""

    damaged: int = 0  #: lines skipped because they were not a recording's JSON
    cut_short: bool = False  #: the file ends mid-write (a crash): nothing after it is readable


def iter_lines(path: str | Path, report: ReadReport | None = None) -> Iterator[_Line]:
    """Every complete line of a recording, headers included.

    A file cut short by a crash ends in a partial line and no gzip trailer;
    both are ignored, so everything flushed before the crash is returned.
    ``report`` (if given) counts what was skipped and notes a cut.
    """
    report = report if report is not None else ReadReport()
    with gzip.open(path, "rb") as gz:
        try:
            for raw in gz:
                if not raw.endswith(b"\n"):
                    report.cut_short = True  # the partial last line of a cut file
                    return
                try:
                    yield _decode_line(raw)
                except msgspec.DecodeError:
                    report.damaged += 1  # a damaged line; the rest of the file is still good
        except (EOFError, zlib.error, gzip.BadGzipFile):
            report.cut_short = True


def iter_frames(
    path: str | Path, report: ReadReport | None = None
) -> Iterator[tuple[int, str | bytes]]:
    """``(recv_ms, frame)`` for every frame recorded in ``path``, in file order."""
    for line in iter_lines(path, report):
        if line.f is not None:
            yield line.t, line.f
        elif line.b is not None:
            yield line.t, base64.b64decode(line.b)


def is_recording(path: str | Path) -> bool:
    """True if ``path`` looks like a recording (gzip magic), not e.g. a bars CSV."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def check_appendable(path: str | Path) -> None:
    """Return if a recording may be appended to ``path``, else raise OSError saying why.

    Absent or empty: a new recording. A whole ticktape recording (its first line a
    header, every gzip member complete): appended to. Anything else raises
    :class:`NotOurFileError`: nothing that is not ours is ever written into, and a
    recording cut short would hide everything appended after the cut. It reads the
    whole file, once per start: measured 0.42 s for a 30 MB recording (300,000 frames,
    6 million trades), so a recording kept for days is better split across files.
    """
    try:
        if os.stat(path).st_size == 0:
            return
    except FileNotFoundError:
        return
    if not is_recording(path):
        raise NotOurFileError(NOT_A_RECORDING)
    try:
        with gzip.open(path, "rb") as gz:
            first = gz.readline(4096)
            try:
                header = _decode_line(first)
            except msgspec.DecodeError:
                header = _Line()
            if header.ticktape != HEADER_TAG:
                raise NotOurFileError(NOT_A_RECORDING)
            while gz.read(1 << 20):
                pass
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise NotOurFileError(CUT_SHORT) from None

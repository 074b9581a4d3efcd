"""The hub's on-disk cache of finished REST history: one sqlite3 file, shared by every hub.

Keyed by path and query, never a key; a damaged file is moved aside. See docs/hub-rest.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

#: Bump when the table changes; an older file is then emptied, not misread.
SCHEMA_VERSION: Final = 1
DEFAULT_MAX_BYTES: Final = 512 * 2**20
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS pages_stored_at ON pages (stored_at);
"""
#: Error codes that mean "this file is damaged" (as opposed to busy, read-only, disk full).
_DAMAGED: Final = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def default_path() -> Path:
    """``$XDG_CACHE_HOME/ticktape/rest.sqlite3`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ticktape" / "rest.sqlite3"


@dataclass(frozen=True, slots=True)
class CachedPage:
    """One stored answer: what the relay sends back, minus anything host-specific."""

    status: int
    content_type: str
    body: bytes


def _damaged(err: sqlite3.DatabaseError) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _DAMAGED
    return "malformed" in str(err) or "not a database" in str(err)


class RestCache:
    """Get inline (a WAL read never waits for a writer), put from a worker thread.

    Two connections, one per role, so a put waiting for another hub's write lock
    never holds up a get on the event loop. Any failure degrades to a cache miss
    or a skipped put; a damaged file is renamed to ``<name>.corrupt`` and recreated.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.RLock()  # guards (re)opening and the writer connection
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        #: Times a damaged file was moved aside (for stats and tests).
        self.recovered = 0
        #: Reads and writes that failed for another reason (busy, read-only, disk full).
        self.errors = 0
        with self._lock:
            self._open()

    # --- lifecycle ----------------------------------------------------------------

    def _open(self) -> None:
        """Open both connections; move a damaged file aside once; give up quietly after."""
        for attempt in range(2):
            try:
                self._connect()
                return
            except sqlite3.DatabaseError as err:
                self._close_connections()
                if attempt == 0 and _damaged(err):
                    self._move_aside(err)
                    continue
                self.errors += 1
                log.warning("REST cache disabled: cannot open %s (%s)", self.path, err)
                return
            except OSError as err:
                self._close_connections()
                self.errors += 1
                log.warning("REST cache disabled: cannot create %s (%s)", self.path, err)
                return

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        writer = self._writer = sqlite3.connect(
            self.path, timeout=5.0, check_same_thread=False, isolation_level=None
        )
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)  # market data the user paid for: theirs alone
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA synchronous=NORMAL")  # WAL: durable enough, far fewer fsyncs
        version = writer.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            writer.execute("DROP TABLE IF EXISTS pages")
            writer.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        writer.executescript(_SCHEMA)
        writer.execute(
            "DELETE FROM pages WHERE expires_at IS NOT NULL AND expires_at <= ?", (self._clock(),)
        )
        # A short timeout: a reader only waits in the rare moments a checkpoint needs it.
        reader = self._reader = sqlite3.connect(
            self.path, timeout=0.2, check_same_thread=False, isolation_level=None
        )
        reader.execute("SELECT count(*) FROM pages").fetchone()

    def _move_aside(self, err: sqlite3.DatabaseError) -> None:
        aside = self.path.with_name(self.path.name + ".corrupt")
        log.warning("REST cache %s is damaged (%s); moved to %s", self.path, err, aside.name)
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(self.path.with_name(self.path.name + suffix))
        self.recovered += 1

    def _close_connections(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._reader = self._writer = None

    def close(self) -> None:
        with self._lock:
            self._close_connections()

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn a sqlite failure into a logged miss; recover from a damaged file."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            if _damaged(err):
                with self._lock:
                    self._close_connections()
                    self._move_aside(err)
                    self._open()
            else:
                self.errors += 1
                log.warning("REST cache %s failed (%s)", what, err)

    # --- use ----------------------------------------------------------------------

    def get(self, key: str) -> CachedPage | None:
        """The stored page for ``key``, or None (absent, expired, or the cache is unusable)."""
        reader = self._reader
        if reader is None:
            return None
        row = None
        with self._guard("read"):
            row = reader.execute(
                "SELECT status, content_type, body, expires_at FROM pages WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        status, content_type, body, expires_at = row
        if expires_at is not None and expires_at <= self._clock():
            return None
        return CachedPage(status, content_type, bytes(body))

    def put(self, key: str, page: CachedPage, *, expires_at: float | None = None) -> None:
        """Store ``page`` (blocking: call from a worker thread), then trim to ``max_bytes``."""
        with self._lock:
            writer = self._writer
            if writer is None:
                return
            with self._guard("write"):
                writer.execute(
                    "INSERT OR REPLACE INTO pages"
                    " (key, status, content_type, body, size, stored_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        page.status,
                        page.content_type,
                        page.body,
                        len(page.body),
                        self._clock(),
                        expires_at,
                    ),
                )
                self._trim(writer)

    def _trim(self, writer: sqlite3.Connection) -> None:
        """Drop the oldest pages while the cache is over its size bound."""
        total = writer.execute("SELECT coalesce(sum(size), 0) FROM pages").fetchone()[0]
        if total <= self.max_bytes:
            return
        doomed = []
        for key, size in writer.execute("SELECT key, size FROM pages ORDER BY stored_at"):
            if total <= self.max_bytes:
                break
            doomed.append((key,))
            total -= size
        writer.executemany("DELETE FROM pages WHERE key = ?", doomed)

    def entries(self) -> int:
        """How many pages are stored (for ``hub status``)."""
        reader = self._reader
        if reader is None:
            return 0
        count = 0
        with self._guard("count"):
            count = int(reader.execute("SELECT count(*) FROM pages").fetchone()[0])
        return count

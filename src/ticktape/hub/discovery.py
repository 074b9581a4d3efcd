"""Finding a running hub, and making sure only one runs: hub.json, a token file, a lock.

The hub writes ``$XDG_RUNTIME_DIR/ticktape/hub.json`` (without a runtime dir:
a 0700 directory under the cache dir) with its port, pid and the path of a
0600 token file, never the key, and holds an ``flock`` on ``hub.lock`` for as
long as it runs. See docs/hub.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final
from urllib.parse import urlsplit

import msgspec

INFO_NAME: Final = "hub.json"
LOCK_NAME: Final = "hub.lock"
TOKEN_NAME: Final = "hub.token"
LOG_NAME: Final = "hub.log"
#: Environment variable naming a hub token for ``--hub URL`` (a hub elsewhere).
TOKEN_ENV: Final = "TICKTAPE_HUB_TOKEN"


class HubInfo(msgspec.Struct, forbid_unknown_fields=False):
    """What hub.json holds: enough to connect, nothing secret."""

    host: str
    port: int
    pid: int
    token_file: str
    rest: bool = False  # whether the hub relays REST (else clients go direct)
    feed: str = "realtime"
    #: The servers the hub relays (None: an edge, whose upstream is its origin), so a
    #: client whose settings name other servers goes there rather than to the hub's.
    upstream_rest: str | None = None
    upstream_ws: str | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://{_bracket(self.host)}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{_bracket(self.host)}:{self.port}"


def _bracket(host: str) -> str:
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    return f"[{host}]" if ":" in host else host


def runtime_dir() -> Path:
    """Where hub.json lives: ``$XDG_RUNTIME_DIR/ticktape``, else a 0700 dir in the cache dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        path = Path(runtime) / "ticktape"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(cache) / "ticktape" / "run"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is masked by umask, and the dir may predate us
    return path


class HubLock:
    """An exclusive ``flock`` on hub.lock: held by the one running hub, freed when it dies."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another hub holds it."""
        f = self.path.open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self._file = f
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    path.chmod(0o600)


def new_token(directory: Path) -> Path:
    """A fresh random token in a 0600 file; returns the file's path."""
    path = directory / TOKEN_NAME
    write_private(path, secrets.token_urlsafe(32) + "\n")
    return path


def read_token(path: Path) -> str:
    """The token in ``path`` (raises ValueError naming the file when it is unusable)."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ValueError(f"cannot read the token file {path}: {err.strerror}") from None
    if not token:
        raise ValueError(f"the token file {path} is empty")
    return token


def write_info(directory: Path, info: HubInfo) -> Path:
    path = directory / INFO_NAME
    tmp = directory / (INFO_NAME + ".tmp")
    write_private(tmp, msgspec.json.encode(info).decode())
    tmp.replace(path)  # readers never see half a file
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_info(directory: Path | None = None) -> HubInfo | None:
    """The running hub's hub.json, or None (no file, unreadable, or its process is gone)."""
    path = (directory or runtime_dir()) / INFO_NAME
    try:
        info = msgspec.json.decode(path.read_bytes(), type=HubInfo)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return info if _alive(info.pid) else None


@dataclass(frozen=True, slots=True)
class HubAddress:
    """Where to connect and with which token."""

    ws_url: str
    rest_url: str
    token: str
    pid: int | None = None
    feed: str | None = None  # the upstream feed, when known
    rest: bool = True  # whether it relays REST
    upstream_rest: str | None = None  # the REST server it relays, when known
    upstream_ws: str | None = None  # the WebSocket base it relays, when known

    def relays_rest_of(self, rest_url: str) -> bool:
        """Whether REST through this hub reaches ``rest_url`` (or a server it cannot name)."""
        if not self.rest:
            return False
        return self.upstream_rest is None or self.upstream_rest == rest_url.rstrip("/")

    def relays_ws_of(self, ws_base: str) -> bool:
        """Whether the hub's upstream is ``ws_base`` (or one it cannot name)."""
        return self.upstream_ws is None or self.upstream_ws == ws_base.rstrip("/")


def named_hub(url: str, token: str) -> HubAddress | None:
    """A hub named by the user (``--hub URL``): its WebSocket and REST share one port, so
    ``ws://``, ``wss://``, ``http://`` and ``https://`` all name it. None: not such a URL."""
    parts = urlsplit(url.strip())
    secure = {"ws": False, "http": False, "wss": True, "https": True}.get(parts.scheme)
    if secure is None or not parts.netloc:
        return None
    ws, http = ("wss", "https") if secure else ("ws", "http")
    return HubAddress(f"{ws}://{parts.netloc}", f"{http}://{parts.netloc}", token)


def find_hub(directory: Path | None = None) -> HubAddress | None:
    """The running hub's address and token, if a hub runs."""
    info = read_info(directory)
    if info is None:
        return None
    try:
        token = read_token(Path(info.token_file))
    except ValueError:
        return None
    return HubAddress(
        info.ws_url,
        info.rest_url,
        token,
        info.pid,
        info.feed,
        info.rest,
        info.upstream_rest.rstrip("/") if info.upstream_rest else None,
        info.upstream_ws.rstrip("/") if info.upstream_ws else None,
    )


def start_detached(args: Sequence[str], directory: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``ticktape hub ARGS`` in its own session, outliving the caller.

    Its stderr goes to hub.log in the runtime dir; the key reaches it the usual
    way (environment or config file), never on the command line.
    """
    log_path = (directory or runtime_dir()) / LOG_NAME
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ticktape", "hub", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # no terminal's Ctrl-C or hang-up reaches it
            close_fds=True,
        )


def wait_for_hub(
    timeout: float, directory: Path | None = None, child: subprocess.Popen[bytes] | None = None
) -> HubAddress | None:
    """Poll for a running hub until ``timeout``; a child that exited is not fatal (a
    second start loses the lock to the first and exits, and the first one answers)."""
    deadline = time.monotonic() + timeout
    while True:
        found = find_hub(directory)
        if found is not None or time.monotonic() > deadline:
            return found
        if child is not None and child.poll() not in (None, 0):
            return None  # it failed for real (its reason is in hub.log)
        time.sleep(0.05)


def remove_files(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

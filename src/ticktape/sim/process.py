"""Run ``ticktape sim`` in a child process and learn its URLs.

The app uses this when no API key is set: the simulator gets its own process
(and core) so generating a market never takes time from the UI's event loop.
The child is told to exit when its stdin closes, so it dies with its parent
even when the parent is killed without a chance to clean up.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import Final

#: Environment variable carrying the simulator's key, so it never shows in the process list.
KEY_ENV: Final = "TICKTAPE_SIM_API_KEY"
_URL_LINES: Final = 4  # ws .../stocks, .../forex, .../crypto, http://...


class SimProcessError(RuntimeError):
    """The simulator did not start (its stderr, if any, is in the message)."""


class SimProcess:
    """``with SimProcess("--seed", "3") as sim: sim.ws_url, sim.rest_url``.

    ``args`` are extra ``ticktape sim`` flags; ``--port 0`` is always used.
    ``api_key`` (if any) reaches the child through the environment, not argv,
    so it never shows in the process list.
    """

    def __init__(self, *args: str, api_key: str | None = None, start_timeout: float = 20.0) -> None:
        env = dict(os.environ)
        env.pop(KEY_ENV, None)
        if api_key is not None:
            env[KEY_ENV] = api_key
        # Lives as long as the child; closed in close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ticktape", "sim", "--port", "0", "--watch-stdin", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
        )
        try:
            self.urls = self._read_urls(start_timeout)
        except BaseException:
            self.close()
            raise
        self.ws_url = self.urls[0].rsplit("/", 1)[0]  # "ws://HOST:PORT"
        self.rest_url = self.urls[-1]

    def _read_urls(self, timeout: float) -> list[str]:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while buffer.count(b"\n") < _URL_LINES:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SimProcessError(f"simulator did not start within {timeout} s")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise SimProcessError(f"simulator exited: {self._stderr_text()}")
                buffer += chunk
        return buffer.decode().split()[:_URL_LINES]

    def _stderr_text(self) -> str:
        self._proc.poll()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        return text[-2000:] or f"exit status {self._proc.returncode}"

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self, timeout: float = 5.0) -> int:
        """Stop the simulator (SIGTERM, then SIGKILL after ``timeout``); returns its exit code."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._stderr):
            if stream is not None:
                stream.close()
        return self._proc.returncode

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

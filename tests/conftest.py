"""Shared fixtures for the whole suite. Keep this small and generic."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ticktape.config import ENV_VARS


@pytest.fixture(autouse=True, scope="session")
def _no_real_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the developer's real key and config file out of every test.

    Without this a test that loads settings on a machine with
    ``POLYGON_API_KEY`` set (or a config file under ``~/.config``) would
    depend on that machine, and could even reach the real network.
    Session-scoped so hypothesis tests may use it too.
    """
    with pytest.MonkeyPatch.context() as mp:
        for var in ENV_VARS:
            if var in os.environ:
                mp.delenv(var)
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))  # the alert log
        # No test starts a detached hub, nor finds the developer's running one.
        runtime = tmp_path_factory.mktemp("xdg-runtime")
        runtime.chmod(0o700)
        mp.setenv("XDG_RUNTIME_DIR", str(runtime))
        mp.setenv("TICKTAPE_HUB", "off")
        yield


#: A running ``ticktape serve`` and the URL it printed.
Served = tuple[subprocess.Popen[str], str]
StartServe = Callable[..., Served]


@pytest.fixture
def start_serve(tmp_path: Path) -> Iterator[StartServe]:
    """``start_serve(*args, env={...})`` runs ``python -m ticktape serve --port 0 *args`` (config
    under ``tmp_path``, ``env`` added to the suite's environment) and returns it once it has
    printed its URL. Each one still running after the test gets SIGTERM (serve then stops its
    tabs and simulator), and SIGKILL if it has not gone within 10 s."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Served:
        child = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), **(env or {})}
        argv = [sys.executable, "-m", "ticktape", "serve", "--port", "0", *args]
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child, cwd=tmp_path
        )
        started.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        return proc, url

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

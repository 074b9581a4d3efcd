"""Shared fixtures for the whole suite. Keep this small and generic."""

from __future__ import annotations

import os
from collections.abc import Iterator

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

"""The app and the user's config file: edits land in place, a broken file is left alone."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ticktape.config import load_settings
from ticktape.ui.app import TicktapeApp
from ticktape.ui.prompts import SymbolPrompt

from .conftest import MakeApp, until

SIZE = (120, 36)


def _notices(app: TicktapeApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _add(pilot: Pilot[object], app: TicktapeApp, symbol: str) -> None:
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
    await pilot.press(*symbol.lower(), "enter")
    await until(pilot, lambda: app.screen is app.main)


async def test_adding_a_symbol_keeps_a_hand_written_multi_line_list(
    make_app: MakeApp, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my settings\nwatchlist = [\n  "AAPL",  # apple\n  "MSFT",\n]\n')
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await _add(pilot, app, "NVDA")
        await until(pilot, lambda: "NVDA" in path.read_text())
    assert path.read_text() == (
        '# my settings\nwatchlist = [\n  "AAPL",  # apple\n  "MSFT",\n  "NVDA",\n]\n'
    )
    again = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    assert again.watchlist == ("AAPL", "MSFT", "NVDA")


async def test_the_first_add_to_a_config_that_has_settings_but_no_watchlist(
    make_app: MakeApp, tmp_path: Path
) -> None:
    """It once ended the app: tomlkit cannot insert after a file's last key."""
    path = tmp_path / "config.toml"
    path.write_text('theme = "ticktape-dark"\n')
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await _add(pilot, app, "QQQ")
        await until(pilot, lambda: "QQQ" in path.read_text())
        assert app.is_running
    assert tomllib.loads(path.read_text()) == {
        "theme": "ticktape-dark",
        "watchlist": [*settings.watchlist, "QQQ"],
    }


async def test_a_broken_config_is_reported_and_never_written(
    make_app: MakeApp, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    broken = b'# my settings\nwatchlist = [\n  "AAPL"  # apple\n  "MSFT",\n]\n'
    with pytest.raises(tomllib.TOMLDecodeError):  # a missing comma on line 3
        tomllib.loads(broken.decode())
    path.write_bytes(broken)
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    app = make_app(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("line 4" in n for n in _notices(app)))
        assert app.main.watchlist.symbols == settings.watchlist  # the defaults
        await _add(pilot, app, "IBM")
        await until(pilot, lambda: any("watchlist not saved" in n for n in _notices(app)))
        assert "IBM" in app.main.watchlist.symbols  # the app still works on it
    assert path.read_bytes() == broken
    assert os.listdir(tmp_path) == ["config.toml"]  # no temporary file, no backup

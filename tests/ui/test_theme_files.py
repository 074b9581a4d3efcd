"""User theme files that cannot be used are reported and skipped; ticktape keeps running.

A colour Textual's CSS cannot parse used to crash the app at start (``--theme``)
or live (picked in the palette); a non-UTF-8 file stopped start-up even when
nobody asked for it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.theme import Theme

from ticktape.config import Settings
from ticktape.ui.app import TicktapeApp
from ticktape.ui.themes import BUILTIN_DIR, load_themes, user_theme_dir

from .conftest import MakeApp, until
from .test_palette import _hits, _searching

SIZE = (100, 30)
GOOD = 'name = "mine"\nprimary = "#123456"\n[variables]\nup = "#00ff00"\n'


def _messages(app: TicktapeApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ('up = "garbage"', 'bad.toml: [variables] up = "garbage" is not a colour; theme skipped'),
        ("down = 5", "bad.toml: [variables] down = 5 is not a colour; theme skipped"),
        ('footer-background = "nope"', '[variables] footer-background = "nope" is not a colour'),
        ('link-style = "#fff"', 'link-style = "#fff" is not a text style'),
    ],
)
def test_a_variable_that_is_not_a_colour_skips_the_theme(
    tmp_path: Path, variables: str, says: str
) -> None:
    (tmp_path / "bad.toml").write_text(
        f'name = "bad"\nprimary = "#123456"\n[variables]\n{variables}\n'
    )
    (tmp_path / "mine.toml").write_text(GOOD)
    themes, errors = load_themes([tmp_path])
    assert [t.name for t in themes] == ["mine"]
    assert len(errors) == 1 and says in errors[0]


def test_what_textual_itself_writes_in_variables_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "nordish.toml").write_text(
        'name = "nordish"\nprimary = "#88C0D0"\n[variables]\n'
        'input-selection-background = "#81a1c1 35%"\nbutton-focus-text-style = "b reverse"\n'
        'block-cursor-text-style = "none"\nup = "ansi_green"\n'
    )
    themes, errors = load_themes([tmp_path])
    assert errors == [] and themes[0].name == "nordish"


def test_a_file_that_is_not_utf8_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_bytes(random.Random(4).randbytes(2000).replace(b"\n", b"\xff"))
    (tmp_path / "mine.toml").write_text(GOOD)
    themes, errors = load_themes([BUILTIN_DIR, tmp_path])
    assert "mine" in {t.name for t in themes}
    assert errors == ["d.toml: line 1 is not UTF-8 text; skipped"]


def _user_theme(settings: Settings, name: str, text: str | bytes) -> None:
    folder = user_theme_dir(settings.config_path)
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    (folder / name).write_bytes(data)


async def test_a_broken_theme_asked_for_at_start_leaves_the_default_and_says_why(
    make_app: MakeApp, settings: Settings
) -> None:
    _user_theme(
        settings, "bad.toml", 'name = "bad"\nprimary = "#123"\n[variables]\nup = "garbage"\n'
    )
    _user_theme(settings, "junk.toml", b"\xff\xfe\x00garbage")
    app = make_app(settings=settings.with_(theme="bad"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: len(app._notifications) >= 3)
        assert app.theme == "ticktape-dark"
        messages = _messages(app)
        assert any('up = "garbage" is not a colour' in m for m in messages)
        assert any("junk.toml: line 1 is not UTF-8" in m for m in messages)
        assert any("'bad'" in m and "ticktape-dark" in m for m in messages)


async def test_a_theme_the_css_cannot_take_is_refused_when_picked_live(
    make_app: MakeApp,
) -> None:
    # Registered in code, so no file check ran: the switch itself must refuse it.
    app = make_app()
    app.register_theme(Theme(name="broken", primary="#123456", variables={"panel": "garbage"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"theme", "enter")  # Textual's theme picker
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"broken")
        await until(pilot, lambda: _hits(app)[:1] == ["broken"] and not _searching(app))
        await pilot.press("enter")
        await until(pilot, lambda: any("theme broken cannot be used" in m for m in _messages(app)))
        assert app.theme == "ticktape-dark"
        await until(pilot, lambda: app.screen is app.main)
        await pilot.press("j")  # still running and answering keys
        assert app.main.watchlist.selected == "MSFT"
        assert app.is_running

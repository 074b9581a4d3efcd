"""Themes (every built-in starts and colours prices), an unknown theme, and --ascii."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.color import ColorSystem
from rich.style import Style
from textual.color import Color

from ticktape.config import Settings
from ticktape.ui.app import TicktapeApp
from ticktape.ui.themes import BUILTIN_DIR, load_themes, user_theme_dir

from .conftest import MakeApp, until

EXAMPLE_THEME = Path(__file__).resolve().parents[2] / "themes" / "example-solarized.toml"


@pytest.mark.parametrize("theme", ["ticktape-dark", "ticktape-light", "ticktape-contrast"])
async def test_builtin_theme_runs_and_sets_price_colours(
    make_app: MakeApp, settings: Settings, theme: str
) -> None:
    app = make_app(settings=settings.with_(theme=theme))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.main.status.plain))
        assert app.theme == theme
        up = app.main.watchlist.get_component_rich_style("watchlist--up").color
        expected = Color.parse(app.current_theme.variables["up"])
        assert up is not None and up == expected.rich_color


async def test_unknown_theme_falls_back_and_says_so(make_app: MakeApp, settings: Settings) -> None:
    app = make_app(settings=settings.with_(theme="no-such-theme"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app._notifications))
        assert app.theme == "ticktape-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


async def test_ascii_mode_draws_only_ascii(make_app: MakeApp) -> None:
    app = make_app(ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.main.status.plain and app.main.chart.text_lines))
        await pilot.press("space")  # the paused tape header too
        await until(pilot, lambda: app.main.tape.paused)
        screen = "".join(strip.text for strip in app.screen._compositor.render_strips())
        assert {c for c in screen if ord(c) > 127} == set()


async def test_ascii_mode_draws_the_stacked_panes_in_ascii_too(make_app: MakeApp) -> None:
    app = make_app(ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.main.status.plain and app.main.chart.text_lines))
        await pilot.press("L")  # the alerts pane, focused, above the tape
        await until(pilot, lambda: bool(app.main.query("#alerts")))
        for leave in (False, True):  # its rule focused, then not
            if leave:
                await pilot.press("escape")
                await until(pilot, lambda: not app.main.query_one("#alerts").has_focus)
            await pilot.pause()
            screen = "".join(strip.text for strip in app.screen._compositor.render_strips())
            assert "Alerts" in screen
            assert {c for c in screen if ord(c) > 127} == set()


def _contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours (1 = the same brightness, 21 = black on white)."""

    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _cell_style(app: TicktapeApp, x: int, y: int) -> Style:
    col = 0
    for segment in app.screen._compositor.render_strips()[y]:
        if col <= x < col + len(segment.text):
            assert segment.style is not None
            return segment.style
        col += len(segment.text)
    raise AssertionError(f"no cell at {x},{y}")


# Every truecolour ticktape theme, the example user theme too (the ANSI one draws its
# dividers in the terminal's own text colour).
@pytest.mark.parametrize("theme", ["ticktape-dark", "ticktape-light", "solarized-dark"])
async def test_pane_dividers_are_visible(make_app: MakeApp, settings: Settings, theme: str) -> None:
    user_themes = user_theme_dir(settings.config_path)
    user_themes.mkdir(parents=True)
    shutil.copy(EXAMPLE_THEME, user_themes)
    app = make_app(settings=settings.with_(theme=theme))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.main.status.plain))
        assert app.theme == theme
        watchlist, tape = app.main.watchlist.region, app.main.tape.region
        dividers = {
            "watchlist | chart": (watchlist.right - 1, watchlist.y + 5),
            "chart / tape": (tape.x + 2, tape.y),
        }
        for where, (x, y) in dividers.items():
            style = _cell_style(app, x, y)
            assert style.color is not None and style.bgcolor is not None, where
            fg, bg = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
            assert _contrast(fg, bg) >= 1.8, (where, fg.hex, bg.hex)
            # …and still two colours when Textual maps them to 256 colours.
            assert style.color.downgrade(ColorSystem.EIGHT_BIT) != style.bgcolor.downgrade(
                ColorSystem.EIGHT_BIT
            ), where


def test_builtin_themes_and_a_broken_user_theme(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\nprimary = "#123456"\n[variables]\nup = "#00ff00"\n'
    )
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    themes, errors = load_themes([BUILTIN_DIR, tmp_path, tmp_path / "missing"])
    names = {t.name for t in themes}
    assert {"ticktape-dark", "ticktape-light", "ticktape-contrast", "mine"} <= names
    assert all({"up", "down", "neutral"} <= t.variables.keys() for t in themes if t.name != "mine")
    assert len(errors) == 1 and "broken.toml" in errors[0]

"""Themes (every built-in starts and colours prices), an unknown theme, and --ascii."""

from __future__ import annotations

import pytest
from textual.color import Color

from ticktape.config import Settings

from .conftest import MakeApp, until


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

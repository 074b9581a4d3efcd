"""Page keys in the command palette, pressed before its list is laid out, do not end the app."""

from __future__ import annotations

from textual.command import CommandPalette

from .conftest import MakeApp, until
from .test_keys import SIZE
from .test_typeahead import burst


async def test_page_keys_right_after_the_list_appears(make_app: MakeApp) -> None:
    """Textual's OptionList._move_page raised KeyError on a list shown and highlighted but
    not yet given a size; the key now does nothing until the list has one."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for page in ("pageup", "pagedown") * 4:
            done = burst(app, ["ctrl+p", "down", page, page, "escape"])
            await until(pilot, lambda: app.key_gate.done >= done)  # noqa: B023
            assert app.is_running
            assert not CommandPalette.is_open(app)
        done = burst(app, ["ctrl+p", "down"])
        await until(pilot, lambda: app.key_gate.done >= done)
        await pilot.pause()
        highlighted = app.screen.query_one("CommandList").highlighted  # type: ignore[attr-defined]
        await pilot.press("pagedown")  # laid out now: the page keys still work
        assert app.screen.query_one("CommandList").highlighted != highlighted  # type: ignore[attr-defined]

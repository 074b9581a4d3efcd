"""The command palette: page keys before its list is laid out; theme names shown as typed.

Decision, on a top-level guard that would keep the app up whatever a widget
raises: none. Textual ends the message loop of a widget whose handler raised
(``MessagePump._process_messages_loop`` breaks after reporting it), so an app
that carried on would show a pane that no longer updates or answers keys, and
prices that look live but are not. A fault is fixed where it starts (here,
and in ``TicktapePalette``), and the key-mash test goes looking for more.
"""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.theme import Theme

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


async def test_a_theme_name_with_markup_is_listed_literally(make_app: MakeApp) -> None:
    """A theme's name comes from a user's file: ``[bold red]inject`` must read as typed."""
    app = make_app()
    app.register_theme(Theme("[bold red]inject", primary="#112233", dark=True))
    async with app.run_test(size=SIZE) as pilot:
        app.search_themes()
        await until(pilot, lambda: CommandPalette.is_open(app))
        await pilot.press(*"inject")
        commands = app.screen.query_one(CommandList)
        await until(pilot, lambda: commands.option_count > 0)
        shown = [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]
        assert any("[bold red]inject" in text for text in shown), shown
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "[bold red]inject")

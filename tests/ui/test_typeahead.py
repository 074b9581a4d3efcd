"""Keys typed faster than the screen changes: each goes where the user meant it to.

``burst`` posts keys the way the terminal driver does when a fast typist (or a
paste, or ``tmux send-keys``) delivers many in one read: all at once, with no
pause for the app to catch up. Pilot's ``press`` waits for idle after every key,
so it cannot show these races on its own.
"""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input

from ticktape.config import Settings
from ticktape.ui.app import TicktapeApp
from ticktape.ui.prompts import SymbolPrompt

from .conftest import SYMBOLS, MakeApp, until
from .test_keys import SIZE, saved_watchlist


def saved(settings: Settings) -> list[str]:
    """The watchlist in the config file ([] before the first save)."""
    return saved_watchlist(settings) if settings.config_path.exists() else []


#: Characters of the named keys (what the terminal driver sends with them).
KEY_CHARS = {
    "enter": "\r",
    "escape": "\x1b",
    "tab": "\t",
    "space": " ",
    "slash": "/",
    "question_mark": "?",
    "full_stop": ".",
    "minus": "-",
    "exclamation_mark": "!",
    "backspace": "\x7f",
}


def key_event(key: str) -> events.Key:
    """A key by name (``"enter"``) or character (``"Q"``, ``"/"``), as the driver makes it."""
    if len(key) == 1:
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    return events.Key(key, KEY_CHARS.get(key))


def burst(app: TicktapeApp, keys: list[str]) -> int:
    """Post every key now, in order, without yielding to the app in between; returns the
    gate's count of handled keys to wait for."""
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        app.post_message(event)
    return app.key_gate.done + len(keys)


def typed(text: str) -> list[str]:
    """``"a QAB⏎"`` as key names: a space separates, ``⏎`` is Enter."""
    return ["enter" if c == "⏎" else c for c in text if c != " "]


async def settled(pilot: Pilot[None], app: TicktapeApp, done: int) -> None:
    """``done`` keys handled (every key has taken effect), and the main screen on top."""
    await until(pilot, lambda: app.key_gate.done >= done and app.screen is app.main)


async def test_type_ahead_after_a_goes_to_the_prompt(make_app: MakeApp, settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        done = burst(app, typed("a QAB⏎ a QAC⏎ a QAD⏎"))
        await settled(pilot, app, done)
        await until(pilot, lambda: saved(settings) == [*SYMBOLS, "QAB", "QAC", "QAD"])
        assert app.main.watchlist.symbols == (*SYMBOLS, "QAB", "QAC", "QAD")


async def test_type_ahead_with_pilot_press_and_no_pauses(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = typed("a QAB⏎ a QAC⏎ / Q A C ⏎")
        await pilot.press(*keys)
        await settled(pilot, app, len(keys))
        assert app.main.watchlist.symbols == (*SYMBOLS, "QAB", "QAC")
        assert app.main.watchlist.selected == "QAC"  # "/" went to the go-to prompt, not a search


async def test_keys_after_enter_go_to_the_main_screen_not_the_closing_prompt(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # "j" after the prompt closes moves the cursor: it must not end up in the input.
        done = burst(app, typed("a QAB⏎ j j"))
        await settled(pilot, app, done)
        wl = app.main.watchlist
        assert wl.symbols == (*SYMBOLS, "QAB")
        assert wl.selected == "QAB"  # added symbols are selected; j at the end stays


async def test_double_enter_is_ignored(make_app: MakeApp, settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        done = burst(app, typed("a QAB⏎⏎"))
        await settled(pilot, app, done)
        assert app.is_running and app.main.watchlist.symbols == (*SYMBOLS, "QAB")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code in (None, 0)


async def test_a_prompt_submitted_twice_dismisses_once(make_app: MakeApp) -> None:
    """Two Submitted messages reach the prompt before it is gone (the gate bypassed):
    the second must not pop the main screen (ScreenStackError, the app dies)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        field = app.screen.query_one(Input)
        field.value = "QAB"
        await field.action_submit()
        await field.action_submit()
        await until(pilot, lambda: app.screen is app.main)
        await pilot.pause()
        assert app.is_running and app.main.watchlist.symbols == (*SYMBOLS, "QAB")

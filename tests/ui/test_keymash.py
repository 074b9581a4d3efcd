"""Random keys at machine speed, against the simulator: the app stays up and does what was typed.

The keys go in bursts (each posted at once, as a terminal read of fast typing
delivers them). A model of what a user sees predicts, key by key, which screen
is on top and what each prompt's field holds; after every burst the app must
agree with it exactly, so a key that went to the wrong place fails the test at
once, not only when it happens to damage the watchlist. The model follows the
keymap's documented meaning: on the main screen an unbound letter starts a
search that every letter or digit then extends (the test freezes the search
window's clock for a burst and expires it between bursts), ``a`` and ``/``
open prompts, ``?`` help, ctrl+p the palette. A palette's Enter runs whatever
its search ranked first (known only to the app), so a burst ends there and the
model takes the app's state as it is.

"Typed into a prompt", precisely: the field's value when Enter closed the add
prompt, and every value the palette's field held after a key (the palette adds
the symbol its query names, and its results may lag the query by a key or two).
The saved watchlist may hold only those and the symbols it started with.

Lower-case ``q`` is left out of the keys (it quits, as documented), and so is the
palette's own "Quit" command (a query like ``uit`` finds it). The alerts pane
(``L``) and form (``!``), the lot form (``p``, ``P``) and the order book (``B``) are
switched off here: their keys are not modelled yet.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from textual.app import SystemCommand
from textual.command import CommandInput, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from ticktape.config import Settings
from ticktape.sim.server import Simulator
from ticktape.ui import app as app_module
from ticktape.ui.alerts import AlertCommands
from ticktape.ui.app import TicktapeApp
from ticktape.ui.help import HelpScreen
from ticktape.ui.prompts import SymbolPrompt, symbol_problem
from ticktape.ui.screen import BOUND_KEYS, TYPEAHEAD_S
from ticktape.ui.symbols import normalize_symbol

from .conftest import is_live, until
from .test_keys import saved_watchlist
from .test_live import SYMBOLS, sim_settings
from .test_typeahead import KEY_CHARS, burst

LETTERS = [c for c in string.ascii_letters if c not in "q"]
SPECIAL = ["enter", "escape", "tab", "up", "down", "left", "right", "pageup", "pagedown"]
SPECIAL += ["ctrl+p", "slash", "question_mark", "space"]
#: Every key, plus extra weight on the ones that open and close prompts, so bursts cross
#: screens often.
KEYS = [*LETTERS, *string.digits, *SPECIAL, *["a"] * 6, *["enter"] * 4, *["escape"] * 2]
#: Field length of the symbol prompt (longer than any symbol of any market).
PROMPT_MAX = 16


def char_of(key: str) -> str | None:
    if len(key) == 1:
        return key
    char = KEY_CHARS.get(key)
    return char if char is not None and char.isprintable() else None


@dataclass
class Field:
    """A Textual Input as the model sees it: value, cursor, optional length limit."""

    value: str = ""
    cursor: int = 0
    limit: int | None = None

    def key(self, key: str) -> None:
        char = char_of(key)
        if char is not None:
            if self.limit is None or len(self.value) < self.limit:
                self.value = self.value[: self.cursor] + char + self.value[self.cursor :]
                self.cursor += 1
        elif key == "left":
            self.cursor = max(0, self.cursor - 1)
        elif key == "right":
            self.cursor = min(len(self.value), self.cursor + 1)


@dataclass
class Frame:
    kind: str  # "add", "goto", "palette", "help"
    field: Field | None = None

    def seen(self) -> tuple[str, str | None, int | None]:
        f = self.field
        return (self.kind, None if f is None else f.value, None if f is None else f.cursor)


@dataclass
class Model:
    """What the user expects on screen after each key; see the module docstring."""

    market: str = "stocks"
    stack: list[Frame] = field(default_factory=list)
    searching: bool = False
    unknown: bool = False
    typed: set[str] = field(default_factory=set)

    def open(self, kind: str) -> None:
        if kind == "help":
            self.stack.append(Frame("help"))
        else:
            self.stack.append(Frame(kind, Field(limit=None if kind == "palette" else PROMPT_MAX)))

    def key(self, key: str) -> None:
        top = self.stack[-1] if self.stack else None
        if key == "ctrl+p":
            if top is None or top.kind != "palette":
                self.open("palette")
            return
        if top is None:
            self._main(key)
        elif top.kind == "help":
            if key in ("escape", "question_mark"):
                self.stack.pop()
        elif top.kind == "palette":
            assert top.field is not None
            if key == "escape":
                self.stack.pop()
            elif key == "enter":
                self._maybe_typed(top.field.value)
                self.unknown = True  # the app ran its top hit (if any)
            else:
                top.field.key(key)
                self._maybe_typed(top.field.value)
        else:
            self._prompt(top, key)

    def _main(self, key: str) -> None:
        char = char_of(key)
        if char is not None:
            if self.searching and (char.isalnum() or char in "./-"):
                return
            if char.isalpha() and key not in BOUND_KEYS:
                self.searching = True
                return
            self.searching = False
        opens = {"a": "add", "slash": "goto", "question_mark": "help"}
        if key in opens:
            self.open(opens[key])

    def _prompt(self, top: Frame, key: str) -> None:
        assert top.field is not None
        if key == "escape":
            self.stack.pop()
        elif key == "enter":
            value = top.field.value
            if top.kind == "goto":
                self.stack.pop()
            elif symbol_problem(value, self.market) is None:
                self._maybe_typed(value)
                self.stack.pop()
        else:
            top.field.key(key)

    def _maybe_typed(self, value: str) -> None:
        symbol = normalize_symbol(value, self.market)
        if symbol is not None:
            self.typed.add(symbol)

    def seen(self) -> tuple[object, ...]:
        return (self.searching, [f.seen() for f in self.stack])


def frame_of(screen: Screen[object]) -> Frame:
    if isinstance(screen, SymbolPrompt):
        field_ = screen.query_one(Input)
        return Frame(
            "add" if screen.strict else "goto", Field(field_.value, field_.cursor_position)
        )
    if isinstance(screen, CommandPalette):
        field_ = screen.query_one(CommandInput)
        return Frame("palette", Field(field_.value, field_.cursor_position))
    if isinstance(screen, HelpScreen):
        return Frame("help")
    raise AssertionError(f"a screen the model does not know: {screen!r}")


def observed(app: TicktapeApp) -> tuple[object, ...]:
    return (app.main.searching, [frame_of(s).seen() for s in app.screen_stack[1:]])


def resync(model: Model, app: TicktapeApp) -> None:
    """After a palette ran a command: take the app's screens as they are."""
    model.stack = [frame_of(s) for s in app.screen_stack[1:]]
    for frame in model.stack:
        if frame.field is not None and frame.kind != "palette":
            frame.field.limit = PROMPT_MAX
    model.searching = app.main.searching
    model.unknown = False


class MashApp(TicktapeApp):
    """The app without the palette's Quit command (random letters can find it), and without
    the alerts pane and form, the market view, the lot form and the order book: they have keys
    of their own the model does not cover yet."""

    COMMANDS: ClassVar = TicktapeApp.COMMANDS - {AlertCommands}

    CSS_PATH = str(Path(app_module.__file__).with_name("styles.tcss"))  # relative to this file else

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")

    def action_alert_new(self) -> None:
        """Not in the model (see the class docstring)."""

    def action_alerts_pane(self) -> None:
        """Not in the model (see the class docstring)."""

    def action_market_view(self) -> None:
        """Not in the model (see the class docstring)."""

    def action_position(self) -> None:
        """Not in the model (see the class docstring): the lot form has keys of its own."""

    def action_pnl_columns(self) -> None:
        """Not in the model (see the class docstring)."""

    def action_book_pane(self) -> None:
        """Not in the model (see the class docstring)."""


async def mash(pilot: Pilot[None], app: TicktapeApp, seed: int, count: int) -> Model:
    """``count`` random keys in bursts; after each burst the app must agree with the model."""
    rng = random.Random(seed)
    model = Model()
    now = [1_000.0]
    app.main.clock = lambda: now[0]
    sent: list[str] = []
    bursts: list[list[str]] = []
    while len(sent) < count:
        chunk: list[str] = []
        for _ in range(rng.randint(1, 40)):
            key = rng.choice(KEYS)
            chunk.append(key)
            model.key(key)
            if model.unknown:
                break
        done = burst(app, chunk)
        sent += chunk
        bursts.append(chunk)
        await until(pilot, lambda: app.key_gate.done >= done, within=60)  # noqa: B023
        assert app.is_running, f"seed {seed}: the app ended after {sent[-60:]}"
        if model.unknown:
            # The palette ran a command the model cannot know: let the app go idle (what the
            # command set off has run) before its screens are taken as the truth.
            await pilot.pause()
            resync(model, app)
        else:
            gate = app.key_gate
            why = f"seed {seed} (stalls {gate.stalls}), bursts {bursts[-6:]}"
            assert observed(app) == model.seen(), why
        now[0] += 2 * TYPEAHEAD_S  # a search does not outlive its burst
        model.searching = False
    return model


async def mash_and_quit(settings: Settings, seed: int, count: int) -> None:
    async with Simulator(seed=seed, symbols=SYMBOLS, rate=100.0) as sim:
        # A small screen at a few frames a second: the keys are the work here, not painting.
        app_settings = sim_settings(settings, sim, "any").with_(fps=4)
        app = MashApp(app_settings, feed_label="SIMULATED")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                pilot,
                lambda: is_live(app),
            )
            model = await mash(pilot, app, seed, count)
            assert app.key_gate.overruns == 0  # every key's effects settled
            allowed = set(SYMBOLS) | model.typed
            extra = set(app.main.watchlist.symbols) - allowed
            assert not extra, f"seed {seed}: symbols nobody typed into a prompt: {extra}"
            if settings.config_path.exists():
                assert set(saved_watchlist(settings)) <= allowed
            while len(app.screen_stack) > 1:  # escape closes any prompt, palette or help
                await pilot.press("escape")
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        assert app.return_code in (None, 0)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """R records and the palette's screenshot command saves into the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_key_mash(settings: Settings, in_tmp: Path, seed: int) -> None:
    await mash_and_quit(settings, seed, 150)


@pytest.mark.soak
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("seed", range(100, 104))
async def test_key_mash_soak(settings: Settings, in_tmp: Path, seed: int) -> None:
    """``TICKTAPE_MASH_KEYS`` keys per seed (default 5,000)."""
    await mash_and_quit(settings, seed, int(os.environ.get("TICKTAPE_MASH_KEYS", "5000")))

"""Random keys at machine speed, against the simulator: the app stays up and does what was typed.

The keys go in bursts (each posted at once, as a terminal read of fast typing
delivers them). A model of what a user sees predicts, key by key, which screen
is on top, what each prompt's or form's field holds and whether it shows an
error, which pane has the focus, whether the alerts pane and the order book
show and P&L is on, and which alerts and lots exist; after every burst the
app must agree with it exactly, so a key that went to the wrong place fails the
test at once, not only when it happens to damage the watchlist. The model
follows the keymap's documented meaning (docs/ui.md, keys): on the main screen
an unbound letter starts a search that every letter or digit then extends (the
test freezes the search window's clock for a burst and expires it between
bursts); ``a`` and ``/`` open prompts, ``?`` help, ctrl+p the palette (on any
screen), ``m`` the market view (a modal screen keeps the key from the
app: ``m`` on help or on the market view's question does nothing; on the market
view it goes back), ``!`` and ``p`` the alert and lot forms, ``L`` the alerts
pane (which takes the focus and its own keys: ``j``/``k``, ``e``/Enter edit,
``x`` delete, ``n`` new, escape back), ``P`` and ``B`` the P&L columns and the
book (a real ladder on crypto). A form's Enter makes the alert or lot its phrase
names (the model reads the phrase with the market's own parser, as a user reads
the usage line) or leaves the form up with the error shown and nothing saved;
escape closes every screen, once Textual has had it restore a widget the
palette's Maximize blew up.

Where only the app can know what comes next, a burst ends and the model takes
that part from the app: a palette's Enter runs whatever its search ranked first,
the market view's Enter charts whatever row its board has under the cursor,
and the ``!`` and ``p`` forms start from the selected symbol and its live price
(the model does not follow the watchlist's cursor). The form must be up all the
same; only its starting text is taken.

"Typed into a prompt", precisely: the field's value when Enter closed the add
prompt, every value the palette's field held after a key (the palette adds the
symbol its query names, and its results may lag the query by a key or two), and
a symbol confirmed from the market view. The saved watchlist may hold only those
and the symbols it started with; the config file's alerts and positions.toml's
lots must be what the model made.

Lower-case ``q`` is left out of the keys (it quits, as documented), and so is the
palette's own "Quit" command (a query like ``uit`` finds it). So are ``w`` and ``W``,
which switch between named watchlists: the model does not follow those lists.
"""

from __future__ import annotations

import os
import random
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual.app import SystemCommand
from textual.command import CommandInput, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Label

from ticktape.alertstore import load_alerts
from ticktape.config import Settings
from ticktape.market.alerts import KINDS, Alert, AlertError, parse_phrase
from ticktape.market.positions import LotError, lot_phrase, parse_lot_phrase
from ticktape.positionstore import load_lots, positions_path
from ticktape.sim.server import Simulator
from ticktape.ui import app as app_module
from ticktape.ui.alerts import AlertForm, AlertsPane
from ticktape.ui.app import TicktapeApp
from ticktape.ui.book import BookPane
from ticktape.ui.help import HelpScreen
from ticktape.ui.marketview import ConfirmAdd, MarketScreen
from ticktape.ui.positions import LotForm
from ticktape.ui.prompts import SymbolPrompt, symbol_problem
from ticktape.ui.screen import BOUND_KEYS, TYPEAHEAD_S
from ticktape.ui.symbols import normalize_symbol
from ticktape.ui.tape import TapeView
from ticktape.ui.watchlist import Watchlist

from .conftest import is_live, until
from .test_live import SYMBOLS, sim_settings
from .test_typeahead import KEY_CHARS, burst

LETTERS = [c for c in string.ascii_letters if c not in "qwW"]
SPECIAL = ["enter", "escape", "tab", "up", "down", "left", "right", "pageup", "pagedown"]
SPECIAL += ["ctrl+p", "slash", "question_mark", "space", "exclamation_mark", "backspace"]
#: Every key, plus extra weight on the ones that open and close screens and forms, so bursts
#: cross screens often.
KEYS = [*LETTERS, *string.digits, *SPECIAL, *["a"] * 6, *["enter"] * 5, *["escape"] * 3]
KEYS += [*["m"] * 3, *["exclamation_mark"] * 3, *["L"] * 2, *["p"] * 2, "P", "B", "backspace"]
#: The watchlist each market's run starts with.
PAIRS = ("BTC-USD", "ETH-USD", "SOL-USD")
WATCHLISTS = {"stocks": SYMBOLS, "crypto": PAIRS}
#: Keys a user reaches for on each screen (three keys in ten there): a form is made with
#: Enter or fixed with backspace, the market view left or a row charted, a question answered.
SCREEN_KEYS = {
    "alert": ["enter", "enter", "backspace", "escape"],
    "lot": ["enter", "enter", "backspace", "escape"],
    "market": ["escape", "m", "enter", "j"],
    "confirm": ["y", "n", "enter", "escape"],
}
#: Field length of the symbol prompt (longer than any symbol of any market).
PROMPT_MAX = 16
#: The alerts pane's own keys while it has the focus (they win over the main screen's).
PANE_KEYS = frozenset({"j", "down", "k", "up", "e", "enter", "z", "x", "n", "escape"})


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

    def key(self, key: str) -> bool:
        """Apply one key; True when the value changed (the input then says Changed)."""
        before = self.value
        char = char_of(key)
        if char is not None:
            if self.limit is None or len(self.value) < self.limit:
                self.value = self.value[: self.cursor] + char + self.value[self.cursor :]
                self.cursor += 1
        elif key == "backspace" and self.cursor > 0:
            self.value = self.value[: self.cursor - 1] + self.value[self.cursor :]
            self.cursor -= 1
        elif key == "left":
            self.cursor = max(0, self.cursor - 1)
        elif key == "right":
            self.cursor = min(len(self.value), self.cursor + 1)
        return self.value != before


@dataclass
class Frame:
    """A screen over the main one. For the forms: whether the error line shows, the symbol a
    bare condition is for (or whose lots), the index of the alert being edited."""

    kind: str  # "add", "goto", "palette", "help", "market", "confirm", "alert", "lot"
    field: Field | None = None
    refused: bool = False
    symbol: str | None = None
    target: int | None = None
    adopt: bool = False  # its starting text is the app's (see the module docstring)
    maximized: bool = False  # the palette's Maximize; escape then only restores the widget

    def seen(self) -> tuple[str, str | None, int | None, bool, bool]:
        f = self.field
        value, cursor = (None, None) if f is None else (f.value, f.cursor)
        return (self.kind, value, cursor, self.refused, self.maximized)


def alert_of(frame: Frame, value: str) -> Alert | None:
    """What the alert form makes of ``value``: a bare condition is for the form's symbol."""
    words = value.split()
    if frame.symbol and words and words[0].lower() in (*KINDS, ">", "<"):
        value = f"{frame.symbol} {value}"
    try:
        return parse_phrase(value)
    except AlertError:
        return None


def lot_of(frame: Frame, value: str) -> str | None:
    """The new lot's phrase the lot form makes of ``value`` (None: refused). The keys cannot
    type ``#``, so every accepted phrase adds a lot."""
    assert frame.symbol is not None
    try:
        edit = parse_lot_phrase(frame.symbol, value)
    except LotError:
        return None
    assert edit.index is None and edit.lot is not None, value
    return lot_phrase(edit.lot)


@dataclass
class Model:
    """What the user expects on screen after each key; see the module docstring."""

    market: str = "stocks"
    stack: list[Frame] = field(default_factory=list)
    searching: bool = False
    unknown: bool = False  # only the app knows what the last key did: take its state
    typed: set[str] = field(default_factory=set)
    focus: str = "watchlist"
    pane: bool = False  # the alerts pane shows
    pane_cursor: int = 0
    alerts: list[str] = field(default_factory=list)  # phrases, in the pane's order
    book: bool = False
    pnl_hidden: bool = False
    lots: list[tuple[str, str]] = field(default_factory=list)  # (symbol, lot phrase)
    maximized: bool = False  # a main-screen widget, by the palette's Maximize

    @property
    def ends_burst(self) -> bool:
        return self.unknown or any(f.adopt for f in self.stack)

    def open(self, kind: str, symbol: str | None = None, target: int | None = None) -> None:
        if kind in ("help", "market", "confirm"):
            self.stack.append(Frame(kind))
        else:
            limit = PROMPT_MAX if kind in ("add", "goto") else None
            self.stack.append(Frame(kind, Field(limit=limit), symbol=symbol, target=target))

    def key(self, key: str) -> None:
        top = self.stack[-1] if self.stack else None
        if key == "escape" and (self.maximized if top is None else top.maximized):
            # Textual's rule, before any binding: escape first restores a maximized widget.
            if top is None:
                self.maximized = False
            else:
                top.maximized = False
        elif key == "ctrl+p":
            if top is None or top.kind != "palette":
                self.open("palette")
        elif top is None:
            self._main(key)
        elif top.kind in ("help", "market", "confirm"):
            self._plain_screen(top, key)
        elif top.kind == "palette":
            self._palette(top, key)
        elif top.kind in ("alert", "lot"):
            self._form(top, key)
        else:
            self._prompt(top, key)

    # -- the main screen ------------------------------------------------------------------------

    def _main(self, key: str) -> None:
        if self.focus == "alerts" and key in PANE_KEYS:
            self._pane(key)
            return
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
        elif key == "m":
            self._market_view()
        elif key in ("exclamation_mark", "p"):
            self.stack.append(Frame("alert" if key == "exclamation_mark" else "lot", adopt=True))
        elif key == "L":
            self.pane, self.pane_cursor = not self.pane, 0
            self.focus = "alerts" if self.pane else "watchlist"
        elif key == "P":
            self.pnl_hidden = not self.pnl_hidden
        elif key == "B":
            self.book = not self.book
        elif key == "tab":
            chain = ["watchlist", *(["alerts"] * self.pane), "tape"]
            self.focus = chain[(chain.index(self.focus) + 1) % len(chain)]

    def _market_view(self) -> None:
        """One market screen at a time (the stocks cluster's, whatever the market)."""
        if not any(f.kind == "market" for f in self.stack):
            self.open("market")

    def _pane(self, key: str) -> None:
        n = len(self.alerts)
        if key in ("j", "down", "k", "up"):
            delta = 1 if key in ("j", "down") else -1
            self.pane_cursor = max(0, min(n - 1, self.pane_cursor + delta))
        elif key == "escape":
            self.focus = "watchlist"
        elif key == "n":
            self.open("alert")
        elif n and key in ("e", "enter"):
            self._edit(min(self.pane_cursor, n - 1))
        elif n and key == "x":
            del self.alerts[min(self.pane_cursor, n - 1)]
            self.pane_cursor = max(0, min(self.pane_cursor, n - 2))

    def _edit(self, index: int) -> None:
        """The edit form starts with the alert's phrase, the symbol kept for a bare condition."""
        alert = parse_phrase(self.alerts[index])
        value = self.alerts[index].removeprefix("alert ")
        symbol = None if alert.on_watchlist else alert.symbol
        self.open("alert", symbol=symbol, target=index)
        frame = self.stack[-1]
        assert frame.field is not None
        frame.field.value, frame.field.cursor = value, len(value)

    # -- screens over it ----------------------------------------------------------------------

    def _plain_screen(self, top: Frame, key: str) -> None:
        """Help, the market view and its add-this-symbol question: no fields, a few keys."""
        if top.kind == "help":
            if key in ("escape", "question_mark"):
                self.stack.pop()
        elif top.kind == "market":
            if key in ("escape", "m"):
                self.stack.pop()
            elif key == "enter":
                self.unknown = True  # the focused board's row under the cursor, if any
        elif key in ("n", "escape"):
            self.stack.pop()
        elif key in ("y", "enter"):
            self.stack.pop()
            self.stack.pop()  # the market view closes on the symbol, which joins the watchlist
            assert top.symbol is not None
            self.typed.add(top.symbol)

    def _palette(self, top: Frame, key: str) -> None:
        assert top.field is not None
        if key == "escape":
            self.stack.pop()
        elif key == "enter":
            self._maybe_typed(top.field.value)
            self.unknown = True  # the app ran its top hit (if any)
        else:
            top.field.key(key)
            self._maybe_typed(top.field.value)

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

    def _form(self, top: Frame, key: str) -> None:
        """The alert and lot forms: the phrase is checked as typed; Enter makes it or says why
        not (and then nothing is saved)."""
        assert top.field is not None
        made = alert_of if top.kind == "alert" else lot_of
        if key == "escape":
            self.stack.pop()
        elif key == "enter":
            got = made(top, top.field.value)
            top.refused = got is None
            if got is not None:
                self.stack.pop()
                self._made(top, got)
        elif top.field.key(key):
            value = top.field.value
            top.refused = bool(value.strip()) and made(top, value) is None

    def _made(self, form: Frame, got: Alert | str) -> None:
        if isinstance(got, str):
            assert form.symbol is not None
            self.lots.append((form.symbol, got))
        elif form.target is None:
            self.alerts.append(got.phrase())
        else:
            self.alerts[form.target] = got.phrase()

    def _maybe_typed(self, value: str) -> None:
        symbol = normalize_symbol(value, self.market)
        if symbol is not None:
            self.typed.add(symbol)

    def seen(self) -> tuple[object, ...]:
        pnl = bool(self.lots) and not self.pnl_hidden
        return (
            (self.searching, self.focus, self.pane, self.book, pnl, self.maximized),
            [f.seen() for f in self.stack],
            self.alerts,
            sorted(self.lots),
        )


# -- the app, as the model sees it ------------------------------------------------------------


def error_shown(screen: Screen[Any], selector: str) -> bool:
    return bool(str(screen.query_one(selector, Label).render()).strip())


def frame_of(app: TicktapeApp, screen: Screen[object]) -> Frame:
    """The model's frame for a screen the app shows."""
    frame = _frame_of(app, screen)
    frame.maximized = screen.maximized is not None
    return frame


def _frame_of(app: TicktapeApp, screen: Screen[object]) -> Frame:
    if isinstance(screen, SymbolPrompt):
        field_ = screen.query_one(Input)
        f = Field(field_.value, field_.cursor_position, PROMPT_MAX)
        return Frame("add" if screen.strict else "goto", f)
    if isinstance(screen, CommandPalette):
        field_ = screen.query_one(CommandInput)
        return Frame("palette", Field(field_.value, field_.cursor_position))
    if isinstance(screen, AlertForm):
        field_ = screen.query_one(Input)
        ids = [a.id for a in app.alerts.book.alerts]
        target = ids.index(screen.alert_id) if screen.alert_id else None
        refused = error_shown(screen, "#alert-form-error")
        f = Field(field_.value, field_.cursor_position)
        return Frame("alert", f, refused, screen.symbol, target)
    if isinstance(screen, LotForm):
        field_ = screen.query_one(Input)
        f = Field(field_.value, field_.cursor_position)
        refused = error_shown(screen, "#lot-form-error")
        return Frame("lot", f, refused, screen.symbol)
    kinds = {HelpScreen: "help", MarketScreen: "market", ConfirmAdd: "confirm"}
    kind = kinds.get(type(screen))
    if kind is None:
        raise AssertionError(f"a screen the model does not know: {screen!r}")
    return Frame(kind, symbol=screen.symbol if isinstance(screen, ConfirmAdd) else None)


def focus_of(app: TicktapeApp) -> str:
    focused = app.main.focused
    names = {Watchlist: "watchlist", AlertsPane: "alerts", TapeView: "tape"}
    return names.get(type(focused), repr(focused))


def lots_of(app: TicktapeApp) -> list[tuple[str, str]]:
    held = app.positions.held
    return sorted((symbol, lot_phrase(h.lot)) for symbol in held for h in held[symbol])


def observed(app: TicktapeApp) -> tuple[object, ...]:
    main = app.main
    # P&L on: its columns then show by rank as far as the pane's width allows (a scroll bar
    # can take the cell the last one needed), which the model does not follow.
    pnl = main.watchlist.pnl is not None
    shown = (bool(main.query(AlertsPane)), bool(main.query(BookPane)), pnl)
    maximized = main.maximized is not None
    return (
        (main.searching, focus_of(app), *shown, maximized),
        [frame_of(app, s).seen() for s in app.screen_stack[1:]],
        [a.phrase() for a in app.alerts.book.alerts],
        lots_of(app),
    )


def adopt(model: Model, app: TicktapeApp) -> None:
    """A form the model opened whose starting text only the app knows: it must be up (the lot
    form only with a symbol selected), and its text is taken as the app's."""
    for i, frame in enumerate(model.stack):
        if not frame.adopt:
            continue
        if frame.kind == "lot" and app.main.watchlist.selected is None:
            del model.stack[i:]  # nothing selected: a notice, no form
            return
        screens = app.screen_stack[1:]
        assert i < len(screens), f"no {frame.kind} form came up: {screens}"
        taken = frame_of(app, screens[i])
        assert taken.kind == frame.kind, f"{taken.kind} is up, not the {frame.kind} form"
        model.stack[i] = taken


def resync(model: Model, app: TicktapeApp) -> None:
    """After a command the model cannot know: take the app's state as it is."""
    model.stack = [frame_of(app, s) for s in app.screen_stack[1:]]
    main = app.main
    model.searching = main.searching
    model.focus = focus_of(app)
    panes = main.query(AlertsPane)
    model.pane = bool(panes)
    model.pane_cursor = panes.first().cursor if panes else 0
    model.alerts = [a.phrase() for a in app.alerts.book.alerts]
    model.book = main.book is not None
    model.pnl_hidden = app.pnl.hidden
    model.lots = lots_of(app)
    model.maximized = main.maximized is not None
    model.unknown = False


class MashApp(TicktapeApp):
    """The app without the palette's Quit command (random letters can find it)."""

    CSS_PATH = str(Path(app_module.__file__).with_name("styles.tcss"))  # relative to this file else

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")


def pick(rng: random.Random, model: Model) -> str:
    """A random key; on a form or the market view, often one of its own (else garbage only
    piles up, and few random keys ever leave the market view)."""
    own = SCREEN_KEYS.get(model.stack[-1].kind, []) if model.stack else []
    return rng.choice(own if own and rng.random() < 0.3 else KEYS)


async def mash(pilot: Pilot[None], app: TicktapeApp, seed: int, count: int) -> Model:
    """``count`` random keys in bursts; after each burst the app must agree with the model."""
    rng = random.Random(seed)
    model = Model(market=app.settings.market)
    now = [1_000.0]
    app.main.clock = lambda: now[0]
    sent: list[str] = []
    bursts: list[list[str]] = []
    while len(sent) < count:
        chunk: list[str] = []
        for _ in range(rng.randint(1, 40)):
            key = pick(rng, model)
            chunk.append(key)
            model.key(key)
            if model.ends_burst:
                break
        done = burst(app, chunk)
        sent += chunk
        bursts.append(chunk)
        await until(pilot, lambda: app.key_gate.done >= done, within=60)  # noqa: B023
        assert app.is_running, f"seed {seed}: the app ended after {sent[-60:]}"
        if model.unknown:
            # The app ran a command the model cannot know: let it go idle (what the command
            # set off has run) before its state is taken as the truth.
            await pilot.pause()
            resync(model, app)
        else:
            adopt(model, app)
            gate = app.key_gate
            why = f"seed {seed} (stalls {gate.stalls}), bursts {bursts[-6:]}"
            assert observed(app) == model.seen(), why
        now[0] += 2 * TYPEAHEAD_S  # a search does not outlive its burst
        model.searching = False
    return model


def check_saved(settings: Settings, model: Model, allowed: set[str]) -> None:
    """The config file and positions.toml hold what the keys made, and nothing else."""
    if settings.config_path.exists():  # alerts may have been saved, and no watchlist
        watchlist = tomllib.loads(settings.config_path.read_text()).get("watchlist", [])
        assert set(watchlist) <= allowed
        saved = load_alerts(settings.config_path).alerts
        assert [a.phrase() for a in saved] == model.alerts
    else:
        assert model.alerts == []
    held = load_lots(positions_path(settings.config_path)).held
    assert sorted((h.lot.symbol, lot_phrase(h.lot)) for h in held) == sorted(model.lots)


async def mash_and_quit(settings: Settings, seed: int, count: int, market: str) -> Model:
    """On stocks or crypto (whose pairs have the order book's ladder)."""
    start = WATCHLISTS[market]
    async with Simulator(seed=seed, symbols=(*SYMBOLS, *PAIRS), rate=100.0) as sim:
        # A small screen at a few frames a second: the keys are the work here, not painting.
        app_settings = sim_settings(settings, sim, "any").with_(
            fps=4, market=market, watchlist=start
        )
        app = MashApp(app_settings, feed_label="SIMULATED")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: is_live(app))
            model = await mash(pilot, app, seed, count)
            assert app.key_gate.overruns == 0  # every key's effects settled
            allowed = set(start) | model.typed
            extra = set(app.main.watchlist.symbols) - allowed
            assert not extra, f"seed {seed}: symbols nobody typed into a prompt: {extra}"
            check_saved(app_settings, model, allowed)
            while len(app.screen_stack) > 1:  # escape closes every screen
                await pilot.press("escape")
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        assert app.return_code in (None, 0)
    return model


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """R records and the palette's screenshot command saves into the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


#: Keys per CI run.
CI_KEYS = 100
#: CI's runs. Seeded keys do not make a run repeatable: a form starts from the live price
#: (none yet: no number), a palette's results can lag its query and the market view's rows
#: are live, so what a run reaches varies. Seen in runs here: 16 on stocks opens the alerts
#: pane and leaves the market view, 31 makes a lot, 24 on crypto shows the book's ladder;
#: between them alerts are made and refused. Reaching everything is the soak's job.
CI_RUNS = [(16, "stocks"), (31, "stocks"), (24, "crypto")]


@pytest.mark.parametrize(("seed", "market"), CI_RUNS, ids=[f"{s}-{m}" for s, m in CI_RUNS])
async def test_key_mash(settings: Settings, in_tmp: Path, seed: int, market: str) -> None:
    await mash_and_quit(settings, seed, CI_KEYS, market)


@pytest.mark.soak
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("seed", range(100, 104))
async def test_key_mash_soak(settings: Settings, in_tmp: Path, seed: int) -> None:
    """``TICKTAPE_MASH_KEYS`` keys per seed (default 5,000); odd seeds on crypto."""
    count = int(os.environ.get("TICKTAPE_MASH_KEYS", "5000"))
    await mash_and_quit(settings, seed, count, "crypto" if seed % 2 else "stocks")

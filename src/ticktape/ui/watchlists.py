"""Named watchlists in the app: `w`/`W` cycle them, the palette's ``watchlist …`` phrases
make, rename and delete them, and each keeps its symbols, columns and sort in the config.

The file edits are :mod:`ticktape.watchliststore`. See docs/ui.md (watchlists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Label

from ticktape.config import ConfigFileError
from ticktape.ui.palette import tier_step
from ticktape.ui.symbols import normalize_symbol
from ticktape.watchlists import (
    DEFAULT_NAME,
    NamedList,
    columns_setting,
    find,
    name_problem,
    normal,
)
from ticktape.watchliststore import save_active, save_delete, save_list, save_rename

if TYPE_CHECKING:
    from ticktape.config import Settings
    from ticktape.ui.app import TicktapeApp
    from ticktape.ui.watchlist import Watchlist

USAGE = "watchlist NAME · watchlist new NAME · watchlist rename NEW · watchlist delete"


class Watchlists:
    """Every list of the config, the one shown, and what each remembers this run (the
    selected symbol, the undo stack). The lists here are the truth; each change is written
    to the file at once, and a file that cannot take it is told, never overwritten."""

    def __init__(self, app: TicktapeApp, settings: Settings) -> None:
        """Args:
        app: the app whose watchlist shows the active list.
        settings: the lists and the active one from the config (``Settings.lists``).
        """
        self.app = app
        self.path = settings.config_path
        self.lists = list(settings.lists())
        found = find(self.lists, settings.active_watchlist or "")
        self.index = self.lists.index(found) if found is not None else 0
        #: A list as the file holds it, where it has entries no market takes (a hand edit):
        #: those are not shown, and saving puts them back where they were.
        self.foreign: dict[str, tuple[str, ...]] = {}
        self.selected: dict[str, str | None] = {}
        self.undo: dict[str, list[tuple[str, int]]] = {}
        for i, lst in enumerate(self.lists):
            shown = tuple(s for s in lst.symbols or () if self._ours(s))
            if shown != lst.symbols:
                self.foreign[lst.name] = lst.symbols or ()
            self.lists[i] = replace(lst, symbols=shown)

    @staticmethod
    def _ours(symbol: str) -> bool:
        """A saved symbol is canonical: a bare word is a ticker whatever ``--market`` says,
        and a pair goes to its own market's session (see docs/protocol.md)."""
        return normalize_symbol(symbol) == symbol

    @property
    def active(self) -> NamedList:
        return self.lists[self.index]

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.active.symbols or ()

    def title(self) -> str:
        """``tech 2/3``; empty for the one list there always was (nothing to tell apart)."""
        if len(self.lists) == 1 and self.active.name == DEFAULT_NAME:
            return ""
        return f"{self.active.name} {self.index + 1}/{len(self.lists)}"

    # -- showing ----------------------------------------------------------------------------

    def start(self) -> None:
        """The active list's columns, sort and title, before the first paint."""
        self._show(self.active)
        self.app.alerts.book.set_watchlist(self.symbols)

    def _widget(self) -> Watchlist:
        return self.app.main.watchlist

    def _show(self, lst: NamedList) -> None:
        wl = self._widget()
        wl.set_symbols(lst.symbols or ())
        wl.set_columns(lst.shown_columns)
        wl.set_sort(lst.sort, lst.descending)
        remembered = self.selected.get(lst.name)
        if remembered is None or not wl.select_symbol(remembered):
            wl.cursor_to(0)
        self._title()

    def _title(self) -> None:
        wl = self._widget()
        title = self.title()
        wl.border_title = Content(f" {title}") if title else None  # shown, never parsed
        wl.set_class(bool(title), "-named")

    def _switch(self, index: int) -> None:
        """Show list ``index``: its symbols subscribed, its view, its selection."""
        wl = self._widget()
        target = self.lists[index]
        self.selected[self.active.name] = wl.selected
        self.undo[self.active.name] = self.app.main.swap_undo(self.undo.pop(target.name, []))
        self.index = index
        self._show(self.active)
        self._subscribe(self.symbols)
        self._write(partial(save_active, self.path, self.active.name))
        self.app.notify(self.title() or self.active.name, timeout=2, markup=False)
        self.app.frames.soon()

    def _subscribe(self, symbols: tuple[str, ...]) -> None:
        """What a changed list needs: deep history, its alerts, the feed's subscriptions."""
        app = self.app
        app.state.watch(symbols)
        app.alerts.book.set_watchlist(symbols)
        app.feed.symbols_changed(symbols)

    # -- from the widget ----------------------------------------------------------------------

    def changed(self, symbols: tuple[str, ...]) -> None:
        """Symbols added, removed or moved in the shown list: save it, subscribe to it."""
        self._update(replace(self.active, symbols=symbols))
        self._subscribe(symbols)

    def view_changed(self) -> None:
        """The sort or the columns changed: save them if they are the list's news."""
        wl = self._widget()
        columns = columns_setting(wl.allowed)
        view = normal(
            replace(self.active, columns=columns, sort=wl.sort_key, descending=wl.sort_desc)
        )
        if view != self.active:
            self._update(view)

    def _update(self, lst: NamedList) -> None:
        self.lists[self.index] = lst
        stored = replace(lst, symbols=self._stored(lst.name, lst.symbols or ()))
        self._write(partial(save_list, self.path, stored))

    def _stored(self, name: str, shown: tuple[str, ...]) -> tuple[str, ...]:
        """``shown`` with the list's entries no market takes back in place, each after the
        symbol it followed in the file."""
        out = list(shown)
        full = self.foreign.get(name, ())
        for i, symbol in enumerate(full):
            if not self._ours(symbol) and symbol not in out:
                before = next((p for p in reversed(full[:i]) if p in out), None)
                out.insert(0 if before is None else out.index(before) + 1, symbol)
        return tuple(out)

    def _write(self, save: Callable[[], bool]) -> None:
        try:
            save()
        except ConfigFileError as err:  # the user's file is never replaced by the app's guess
            self.app.notice(f"watchlist not saved — {err}", "warning")
        except OSError as err:
            self.app.notice(f"could not save the watchlist: {err}", "warning")

    # -- commands ----------------------------------------------------------------------------

    def cycle(self, step: int) -> None:
        """``w`` / ``W``: the next (previous) list."""
        if len(self.lists) < 2:
            self.app.notify("one watchlist — ctrl+p: watchlist new NAME makes another", timeout=3)
            return
        self._switch((self.index + step) % len(self.lists))

    def show(self, name: str) -> None:
        found = find(self.lists, name)
        if found is None:
            self.create(name)
        elif found is not self.active:
            self._switch(self.lists.index(found))

    def create(self, name: str) -> None:
        """A new, empty list, shown at once (``a`` fills it)."""
        problem = self.problem(name)
        if problem is not None:
            self.app.notify(problem, severity="warning", markup=False)
            return
        if self.active.name == DEFAULT_NAME:  # written first, if it was only implied so far
            self._update(self.active)
        self.lists.append(NamedList(name))
        self._write(partial(save_list, self.path, NamedList(name)))
        self._switch(len(self.lists) - 1)

    def rename(self, new: str) -> None:
        old = self.active
        problem = self.problem(new, renaming=old)
        if problem is not None:
            self.app.notify(problem, severity="warning", markup=False)
            return
        self.foreign[new] = self.foreign.pop(old.name, ())
        if old.name in self.selected:
            self.selected[new] = self.selected.pop(old.name)
        stored = replace(old, symbols=self._stored(new, old.symbols or ()))
        self.lists[self.index] = replace(old, name=new)
        self._write(partial(save_rename, self.path, stored, new))
        self._title()
        self.app.notify(f"watchlist {old.name} is now {new}", timeout=3, markup=False)

    def delete(self) -> None:
        """Ask first; the last list is never deleted."""
        if len(self.lists) < 2:
            self.app.notify("the only watchlist cannot be deleted", severity="warning", timeout=3)
            return
        doomed = self.active

        def done(yes: bool | None) -> None:
            if yes and doomed in self.lists and len(self.lists) > 1:
                self._delete(doomed)

        self.app.push_screen(ConfirmDelete(doomed), done)

    def _delete(self, doomed: NamedList) -> None:
        at = self.lists.index(doomed)
        self.lists.remove(doomed)
        self.foreign.pop(doomed.name, None)
        self.selected.pop(doomed.name, None)
        self.index = min(at, len(self.lists) - 1) if self.index >= at else self.index
        nxt = self.active
        self._write(partial(save_delete, self.path, doomed.name, nxt.name))
        self.app.main.swap_undo(self.undo.pop(nxt.name, []))
        self._show(nxt)
        self._subscribe(self.symbols)
        self.app.notify(f"deleted watchlist {doomed.name}", timeout=3, markup=False)
        self.app.frames.soon()

    def problem(self, name: str, renaming: NamedList | None = None) -> str | None:
        """Why ``name`` cannot be a new list's name (None if it can)."""
        why = name_problem(name)
        if why is not None:
            return f"watchlist name {why}"
        same = find(self.lists, name)
        if same is not None and same is not renaming:
            return f"there is a watchlist {same.name} already"
        return None


class ConfirmDelete(ModalScreen[bool]):
    """y deletes the list; n or escape keeps it."""

    DEFAULT_CSS = """
    ConfirmDelete { align: center middle; }
    #confirm-delete {
        width: 56; max-width: 100%; height: auto;
        border: thick $error; background: $surface; padding: 0 1;
    }
    #confirm-delete-hint { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, doomed: NamedList) -> None:
        super().__init__()
        self.doomed = doomed
        self._answered = False

    def compose(self) -> ComposeResult:
        count = len(self.doomed.symbols or ())
        with Vertical(id="confirm-delete"):
            yield Label(
                f"Delete watchlist {self.doomed.name} ({count} symbol{'s' * (count != 1)})?",
                markup=False,
                id="confirm-delete-title",
            )
            yield Label("y deletes it · n or escape keeps it", id="confirm-delete-hint")

    def action_answer(self, yes: bool) -> None:
        if not self._answered:  # a second key before the screen is gone must not pop another
            self._answered = True
            self.dismiss(yes)


class WatchlistCommands(Provider):
    """``watchlist NAME`` (show, or make it), ``watchlist new NAME``, ``watchlist rename NEW``
    and ``watchlist delete`` in the command palette."""

    def _book(self) -> Watchlists | None:
        book = getattr(self.app, "watchlists", None)
        return book if isinstance(book, Watchlists) else None

    async def search(self, query: str) -> Hits:
        book = self._book()
        words = query.split()
        if book is None or not words or words[0].lower() != "watchlist":
            return
        score = 3 * tier_step(query)  # above every other hit: Enter must do the phrase
        rest = query.strip()[len(words[0]) :].strip()
        verb = rest.split()[0].lower() if rest else ""
        arg = rest[len(verb) :].strip()
        if verb == "new":
            yield self._named(book, arg, score, book.create, "Create watchlist")
        elif verb == "rename":
            yield self._named(
                book,
                arg,
                score,
                book.rename,
                f"Rename watchlist {book.active.name} to",
                book.active,
            )
        elif verb == "delete" and not arg:
            yield _hit(score, f"Delete watchlist {book.active.name}…", book.delete, "asks first")
        else:
            for hit in self._lists(book, rest, score):
                yield hit

    def _named(
        self,
        book: Watchlists,
        name: str,
        score: float,
        do: Callable[[str], None],
        title: str,
        renaming: NamedList | None = None,
    ) -> Hit:
        if not name:
            return _hit(score, f"{title} … (type its name)", _nothing, USAGE)
        problem = book.problem(name, renaming)
        if problem is not None:
            say = partial(self.app.notify, problem, severity="warning", markup=False)
            return _hit(score, f"watchlist: {problem}", say, USAGE)
        return _hit(score, f"{title} {name}", partial(do, name), "saved in the config file")

    def _lists(self, book: Watchlists, rest: str, score: float) -> list[Hit]:
        """Every list the words match (the exact one first); a new one offered if none is
        called that."""
        hits = []
        matcher = Matcher(rest) if rest else None
        for i, lst in enumerate(book.lists):
            fit = matcher.match(lst.name) if matcher is not None else 1.0
            if fit <= 0:
                continue
            exact = lst.name.lower() == rest.lower()
            count = len(lst.symbols or ())
            hits.append(
                _hit(
                    score + (1.0 if exact else fit / 100),
                    f"Show watchlist {lst.name} ({i + 1}/{len(book.lists)}, {count} symbols)",
                    partial(book.show, lst.name),
                    "w cycles the lists",
                )
            )
        if rest and find(book.lists, rest) is None:
            hits.append(self._named(book, rest, score - 1, book.create, "Create watchlist"))
        return hits


def _hit(score: float, title: str, do: Callable[[], Any], help_text: str) -> Hit:
    return Hit(score, Text(title), do, text=title, help=help_text)


def _nothing() -> None:
    return None

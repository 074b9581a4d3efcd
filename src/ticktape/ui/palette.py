"""Command palette (Ctrl+P) providers: one for symbols, one for every action.

Ranked so Enter runs what was meant; theme names shown literally. See docs/ui.md (keys).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.app import App
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from ticktape.ui.help import key_label
from ticktape.ui.keys import KEYMAP
from ticktape.ui.screen import MainScreen
from ticktape.ui.symbols import normalize_symbol
from ticktape.ui.watchlist import COLUMNS

_WORD = re.compile(r"\w+")


def word_tier(query: str, title: str) -> int:
    """2 if every query word is a whole word of ``title``, 1 if every one at least starts
    a word, else 0 (a fuzzy match only)."""
    words = [w.lower() for w in _WORD.findall(title)]
    wanted = [w.lower() for w in _WORD.findall(query)]
    if not wanted:
        return 0
    if all(q in words for q in wanted):
        return 2
    if all(any(w.startswith(q) for w in words) for q in wanted):
        return 1
    return 0


def tier_step(query: str) -> float:
    """More than any fuzzy score for ``query``: Textual's matcher gives at most 8 per letter
    (a hit, a word-start bonus, ×2 for one contiguous group, ×2 for an exact match)."""
    return 8.0 * len(query) + 1.0


def rank(score: float, query: str, title: str) -> float:
    """A fuzzy ``score`` lifted by the title's word tier; ties go to the title the words
    cover most of ("manual order" before "…, then manual")."""
    tier = word_tier(query, title)
    if tier == 0:
        return score
    coverage = len(_WORD.findall(query)) / max(1, len(_WORD.findall(title)))
    return tier * tier_step(query) + score + coverage


class SymbolCommands(Provider):
    """Jump to any watchlist symbol; offer to add a valid symbol that is not in the list."""

    def _main(self) -> MainScreen | None:
        return self.screen if isinstance(self.screen, MainScreen) else None

    async def discover(self) -> Hits:
        main = self._main()
        if main is None:
            return
        for symbol in main.watchlist.symbols:
            yield DiscoveryHit(symbol, partial(main.select_symbol, symbol), help="show symbol")

    async def search(self, query: str) -> Hits:
        main = self._main()
        if main is None:
            return
        matcher = self.matcher(query)
        symbols = main.watchlist.symbols
        for symbol in symbols:
            score = matcher.match(symbol)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(symbol),
                    partial(main.select_symbol, symbol),
                    help="show chart and tape",
                )
        new = normalize_symbol(query, main.market)
        if new is not None and new not in symbols:
            yield Hit(
                self._add_score(main, query),
                f"Add {new} to the watchlist",
                partial(main.add_symbol, new),
                text=f"Add {new}",
                help="subscribe and load its history",
            )

    def _add_score(self, main: MainScreen, query: str) -> float:
        """Below every hit if a command title has the query's words (every real match scores
        more than 1), else above them all (past any fuzzy score, short of a word tier)."""
        titles = [title for title, _, _ in _actions(main)]
        titles += [command.title for command in self.app.get_system_commands(main)]
        if any(word_tier(query, title) for title in titles):
            return 1.0
        return tier_step(query) - 0.5


def _actions(main: MainScreen) -> list[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for every keymap binding and every sort column.

    A title is "<section>: <text>", unless the text already starts with its section."""
    out: list[tuple[str, str, Callable[[], object]]] = []
    for section, binding, text in KEYMAP:
        out.append(
            (
                text if text.startswith(f"{section}:") else f"{section}: {text}",
                f"key {key_label(binding)}",
                partial(main.run_action, binding.action),
            )
        )
    for col in COLUMNS:
        out.append(
            (
                f"Watchlist: sort by {col.title}",
                "then s cycles, S reverses",
                partial(main.sort_by, col.key),
            )
        )
    out.append(("Watchlist: manual order", "your own order", partial(main.sort_by, None)))
    shown = main.watchlist.allowed
    for col in COLUMNS[1:]:  # the symbol always shows
        verb = "hide" if col.key in shown else "show"
        out.append(
            (
                f"Watchlist: {verb} column {col.title}",
                "kept with this list",
                partial(main.toggle_column, col.key),
            )
        )
    return out


class ActionCommands(Provider):
    """Every action of the main screen, by its help text."""

    async def discover(self) -> Hits:
        if not isinstance(self.screen, MainScreen):
            return
        for title, help_text, callback in _actions(self.screen):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        if not isinstance(self.screen, MainScreen):
            return
        matcher = self.matcher(query)
        for title, help_text, callback in _actions(self.screen):
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    rank(score, query, title),
                    matcher.highlight(title),
                    callback,
                    text=title,
                    help=help_text,
                )


class TicktapePalette(CommandPalette):
    """Textual's command palette; Page Up/Down wait until the list has a size.

    Why: ``OptionList`` maps options to lines only once it has a size
    (``_update_lines`` returns early on an empty region), but ``_move_page`` looks
    the highlighted option's line up regardless. In the palette the list is
    shown, filled and highlighted (``down``) before the next layout, so a Page key
    then raised ``KeyError``. With no size there is no page to move by: the key
    does nothing, as it would on an empty list.
    """

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down"):
            commands = self.query_one(CommandList)
            if not commands.scrollable_content_region:
                return
        super()._action_command_list(action)


def literal_highlight(matcher: Matcher, candidate: str) -> Content:
    """``matcher.highlight`` without reading markup in ``candidate`` (untrusted text)."""
    content = Content(candidate)
    score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    if score:
        for offset in offsets:
            if not candidate[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ThemeCommands(Provider):
    """Every registered theme, by its name shown as typed in its file; picking one applies it."""

    def _themes(self) -> list[tuple[str, Callable[[], object]]]:
        return [
            (name, partial(setattr, self.app, "theme", name))
            for name in sorted(self.app.available_themes)
        ]

    async def discover(self) -> Hits:
        for name, pick in self._themes():
            yield DiscoveryHit(Content(name), pick, text=name)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, pick in self._themes():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, literal_highlight(matcher, name), pick, text=name)


def open_palette(app: App[Any], *, themes: bool = False) -> None:
    """Ctrl+P's palette (every provider), or with ``themes`` the theme list alone."""
    if themes:
        app.push_screen(
            TicktapePalette(providers=[ThemeCommands], placeholder="Search for themes…")
        )
    elif app.use_command_palette and not isinstance(app.screen, CommandPalette):
        app.push_screen(TicktapePalette(id="--command-palette"))

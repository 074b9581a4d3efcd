"""Command palette (Ctrl+P) providers: one for symbols, one for every action.

Why providers and not only keys: a trader who forgets a key types what they
want ("sort volume", "daily", "TSLA"). The action list is generated from the
same keymap as the bindings and the help screen, plus "sort by <column>" for
every column, so the palette can do anything the keyboard can.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ticktape.ui.help import key_label
from ticktape.ui.keys import KEYMAP
from ticktape.ui.screen import MainScreen
from ticktape.ui.watchlist import COLUMNS, normalize_symbol


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
            # "ibm" should offer IBM first, but "sort" should still find the sort actions.
            q = query.strip().lower()
            words = {w.lower() for title, _, _ in _actions(main) for w in title.split()}
            wordlike = any(w.startswith(q) for w in words)
            exact = matcher.match(new)  # the query spelled as the symbol: a top fuzzy score
            yield Hit(
                exact * (0.1 if wordlike else 1.0),
                f"Add {new} to the watchlist",
                partial(main.add_symbol, new),
                text=f"Add {new}",
                help="subscribe and load its history",
            )


def _actions(main: MainScreen) -> list[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for every keymap binding and every sort column."""
    out: list[tuple[str, str, Callable[[], object]]] = []
    for section, binding, text in KEYMAP:
        out.append(
            (
                f"{section}: {text}",
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
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

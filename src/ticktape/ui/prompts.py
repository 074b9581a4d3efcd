"""A modal symbol prompt, for adding a symbol (`a`) and going to one (`/`).

See docs/ui.md (keys).
"""

from __future__ import annotations

import string
from typing import ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label

from ticktape.ui.symbols import normalize_symbol, symbol_hint

#: Characters some market's symbols (or their REST prefixes, ``C:``/``X:``) are written with.
SYMBOL_CHARS: Final = frozenset(string.ascii_letters + string.digits + ".:/-")


def symbol_problem(value: str, market: str) -> str | None:
    """Why ``value`` is not a symbol (a character it cannot hold is named), or None if it is
    one; ``market`` reads bare words first (see ticktape.feed.clusters)."""
    text = value.strip()
    bad = next((c for c in text if c not in SYMBOL_CHARS), None)
    if bad is not None:
        shown = "a space" if bad.isspace() else repr(bad)
        return f"{shown} is not allowed in a symbol"  # fits the prompt: 44 cells
    if normalize_symbol(text, market) is None:
        return f"not a symbol (e.g. {symbol_hint(market)})"
    return None


class SymbolValidator(Validator):
    def __init__(self, market: str) -> None:
        super().__init__()
        self.market = market

    def validate(self, value: str) -> ValidationResult:
        problem = symbol_problem(value, self.market)
        return self.success() if problem is None else self.failure(problem)


#: Under the unvalidated (go-to) prompt: what it searches, and what reaches the rest.
GOTO_NOTE = "searches the watchlist; ctrl+p or a adds any other symbol"


class SymbolPrompt(ModalScreen[str | None]):
    """Ask for one symbol; dismisses with the canonical symbol, or None on escape.

    With ``validate=False`` it is the go-to prompt: any text is accepted (it is a
    search of the watchlist) and :data:`GOTO_NOTE` says so.
    """

    DEFAULT_CSS = """
    SymbolPrompt {
        align: center middle;
    }
    #prompt {
        width: 46;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    #prompt-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    #prompt-error {
        color: $error;
    }
    #prompt-note {
        width: 100%;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, market: str, *, validate: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.market = market
        self.strict = validate
        self._answered = False  # a second Enter before the screen is gone must not pop another

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text, id="prompt-title")
            validators = [SymbolValidator(self.market)] if self.strict else []
            yield Input(
                placeholder=symbol_hint(self.market),
                validators=validators,
                validate_on=["changed", "submitted"],
                id="prompt-input",
                max_length=16,
            )
            yield Label("", id="prompt-error", markup=False)  # names what was typed
            if not self.strict:
                yield Label(GOTO_NOTE, id="prompt-note")

    def on_input_changed(self, event: Input.Changed) -> None:
        error = self.query_one("#prompt-error", Label)
        result = event.validation_result
        show = result is not None and not result.is_valid and bool(event.value)
        error.update(result.failure_descriptions[0] if show and result else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not self.strict:
            self._answer(value.upper() or None)
            return
        problem = symbol_problem(value, self.market)
        if problem is not None:
            self.query_one("#prompt-error", Label).update(problem)
            return
        self._answer(normalize_symbol(value, self.market))

    def action_cancel(self) -> None:
        self._answer(None)

    def _answer(self, result: str | None) -> None:
        """Dismiss once: Textual pops whatever screen is on top, so a repeat would pop ours."""
        if self._answered:
            return
        self._answered = True
        self.dismiss(result)

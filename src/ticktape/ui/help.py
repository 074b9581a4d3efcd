"""The help screen (`?`): every key, generated from the keymap so it cannot go stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ticktape.ui.keys import APP_KEYS, KEYMAP


def key_label(binding: Binding) -> str:
    """Every key of a binding, as a user would type it (``j / down``)."""
    names = [k.strip() for k in binding.key.split(",")]
    pretty = {
        "slash": "/",
        "question_mark": "?",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "minus": "-",
        "plus": "+",
        "equals_sign": "=",
        "exclamation_mark": "!",
    }
    return " / ".join(pretty.get(n, n) for n in names)


def help_rows() -> list[tuple[str, str, str]]:
    """(section, keys, what it does) for every binding, grouped by section in keymap order."""
    rows = [(section, key_label(b), text) for section, b, text in KEYMAP]
    rows += list(APP_KEYS)
    order = list(dict.fromkeys(section for section, _, _ in rows))
    return sorted(rows, key=lambda r: order.index(r[0]))


class HelpScreen(ModalScreen[None]):
    """Lists every binding; any of escape, ? or q closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    #help {
        width: 80;
        max-width: 100%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    #help-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    #help-footer {
        color: $text-muted;
        padding: 1 0 0 0;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold")
        table.add_column()
        section = ""
        for sec, keys, text in help_rows():
            if sec != section:
                if section:
                    table.add_row("", "")
                table.add_row("", Text(sec, style="bold underline"))
                section = sec
            table.add_row(Text(keys), Text(text))
        with VerticalScroll(id="help"):
            yield Static("ticktape — keys", id="help-title")
            yield Static(table, id="help-table")
            yield Static("escape, ? or q closes this screen", id="help-footer")

    def action_close(self) -> None:
        self.dismiss(None)

"""A pane stacked above the tape (alerts, the order book): a titled rule on top, as tall as
its content up to a share of the column. See docs/ui.md."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


class StackedPane(Widget):
    """The look both stacked panes share; each sets its own ``max-height``.

    Args:
        ascii_only: draw the rule with ASCII (``--ascii``), like the tape's.
    """

    DEFAULT_CSS = """
    StackedPane {
        height: auto; min-height: 4;
        border-top: solid $panel-lighten-2;
        border-title-color: $text-muted; border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
    }
    StackedPane.-ascii { border-top: ascii $panel-lighten-2; }
    """

    def __init__(self, *, ascii_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if ascii_only:
            self.add_class("-ascii")

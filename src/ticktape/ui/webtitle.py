"""The browser tab's title under ``ticktape serve``: the selected symbol and its last price.

Written as OSC 2 (set window title) through the driver; the served page's own script sets
``document.title`` from it. See docs/serve.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ticktape.ui.format import fmt_price, symbol_decimals

if TYPE_CHECKING:
    from ticktape.ui.app import TicktapeApp

#: At most one title a second: a price ticking many times a second would only add bytes.
EVERY_S = 1.0
#: Control characters would end the escape early or start another: never in a title.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def title_for(symbol: str | None, last: float | None) -> str:
    """``AAPL 226.31 · ticktape``; ``AAPL · ticktape`` before a price; ``ticktape``."""
    if not symbol:
        return "ticktape"
    price = "" if last is None else fmt_price(last, symbol_decimals(symbol, last))
    return _CONTROL.sub("", " ".join(filter(None, (symbol, price)))) + " · ticktape"


def osc_title(title: str) -> str:
    """The OSC 2 escape that sets a terminal's (or the page's) title to ``title``."""
    return f"\x1b]2;{_CONTROL.sub('', title)}\x07"


class WindowTitle:
    """A frame listener: writes the title when it changed, at most every EVERY_S seconds."""

    def __init__(self, app: TicktapeApp, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._clock = clock
        self._shown = ""
        self._at = float("-inf")

    def __call__(self, _elapsed_ms: float) -> None:
        now = self._clock()
        if now - self._at < EVERY_S:
            return
        symbol = self._app.main.watchlist.selected
        st = self._app.state.get(symbol) if symbol else None
        title = title_for(symbol, None if st is None else st.last)
        if title != self._shown:
            self._app.terminal_write(osc_title(title))
            self._shown, self._at = title, now

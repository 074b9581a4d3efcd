"""The symbol prompt refuses what is not a symbol, and says which character is wrong."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label

from ticktape.ui.prompts import SymbolPrompt, symbol_problem

from .conftest import SYMBOLS, MakeApp, until
from .test_keys import SIZE


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("ÄPL", "'Ä' is not allowed in a symbol"),
        ("A B", "a space is not allowed in a symbol"),
        ("BRK_B", "'_' is not allowed in a symbol"),
        ("TOOLONGSYM", "not a symbol (e.g. AAPL, BTC-USD, EUR/USD)"),
    ],
)
async def test_a_character_no_symbol_holds_is_named_and_nothing_is_added(
    make_app: MakeApp, typed: str, problem: str
) -> None:
    """Dropping such a character silently added another real ticker (``A B`` → AB)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        await pilot.press(*["space" if c == " " else c for c in typed], "enter")
        prompt = app.screen
        assert isinstance(prompt, SymbolPrompt)  # still open: Enter was refused
        assert prompt.query_one(Input).value == typed  # nothing dropped
        error = str(prompt.query_one("#prompt-error", Label).render())
        assert error.startswith(problem)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main)
        assert app.main.watchlist.symbols == SYMBOLS


def test_symbol_problem_accepts_every_market_s_own_spelling() -> None:
    assert symbol_problem("brk.b", "stocks") is None
    assert symbol_problem("C:EURUSD", "forex") is None
    assert symbol_problem("btc-usd", "crypto") is None
    assert symbol_problem("[bold]X", "stocks") == ("'[' is not allowed in a symbol")

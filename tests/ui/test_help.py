"""What the help screen, the README and the go-to prompt promise about finding symbols.

`/` (and type-ahead) only searches the watchlist; Ctrl+P or `a` reaches any
symbol by adding it. Words that promise more send a user to a dead end.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Label

from ticktape.ui.help import help_rows
from ticktape.ui.prompts import SymbolPrompt

from .conftest import MakeApp, until

README = Path(__file__).resolve().parents[2] / "README.md"


def test_help_says_slash_searches_the_watchlist_and_names_what_reaches_any_symbol() -> None:
    rows = {keys: text for _, keys, text in help_rows()}
    assert "watchlist" in rows["/"]
    assert "watchlist" in rows["letters"]
    for keys, text in rows.items():
        if "any symbol" in text:  # only ctrl+p and a can keep that promise
            assert "/" not in keys.split(" / ")
            assert re.search(r"\bctrl\+p\b", keys + " " + text, re.IGNORECASE), (keys, text)
            assert "see /" not in text


def test_readme_says_slash_searches_the_watchlist() -> None:
    usage = README.read_text(encoding="utf-8").split("## Using it", 1)[1].split("```", 1)[0]
    text = " ".join(usage.split())
    start = re.search(r"(?<!\w)`/`", text)  # the `/` key, not the slash in "`j`/`k`"
    assert start is not None
    slash = text[start.start() :].split(";", 1)[0]
    assert "watchlist" in slash
    assert "any symbol" not in slash
    assert "Ctrl+P or `a` reaches any other symbol" in text


async def test_goto_prompt_says_it_searches_the_watchlist(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        note = str(app.screen.query_one("#prompt-note", Label).content)
        assert "watchlist" in note and "ctrl+p" in note
        await until(pilot, lambda: app.screen.query_one("#prompt-note").region.height > 0)
        shown = " ".join(
            " ".join(strip.text.split()) for strip in app.screen._compositor.render_strips()
        )
        assert " ".join(note.split()[-3:]) in shown  # wrapped inside the box, not cut off
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main)
        await pilot.press("a")  # the add prompt validates and needs no such note
        await until(pilot, lambda: isinstance(app.screen, SymbolPrompt))
        assert not app.screen.query("#prompt-note")

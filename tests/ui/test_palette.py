"""The command palette's ranking: what Enter does after typing a word or a ticker."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.worker import WorkerState

from ticktape.ui.app import TicktapeApp
from ticktape.ui.palette import word_tier

from .conftest import MakeApp, until

SIZE = (120, 36)


def _searching(app: TicktapeApp) -> bool:
    group = CommandPalette._GATHER_COMMANDS_GROUP
    done = (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR)
    return any(w.group == group and w.state not in done for w in app.workers)


def _hits(app: TicktapeApp) -> list[str]:
    """The first line (the title) of every result, top first."""
    options = app.screen.query(CommandList)
    if not options:
        return []
    found = options.first()
    return [
        str(found.get_option_at_index(i).prompt).split("\n")[0] for i in range(found.option_count)
    ]


async def search(pilot: Pilot[None], app: TicktapeApp, query: str, expect: str) -> list[str]:
    """Open the palette, type ``query``; the results once ``expect`` is among them and the
    search has finished (the list is only sorted as a whole when it finishes)."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*query)
    await until(pilot, lambda: expect in _hits(app) and not _searching(app))
    return _hits(app)


async def test_a_command_word_outranks_adding_it_as_a_ticker(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hits = await search(pilot, app, "theme", "Add THEME to the watchlist")
        assert hits[0] == "Theme"
        await pilot.press("enter")  # opens Textual's theme picker, adds nothing
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main)
        assert "THEME" not in app.main.watchlist.symbols


async def test_an_exact_word_ranks_the_command_it_names_first(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hits = await search(pilot, app, "manual", "Watchlist: manual order")
        assert hits[0] == "Watchlist: manual order"
        assert hits.index("Watchlist: manual order") < hits.index(
            "Watchlist: Sort: cycle through the columns, then manual"
        )
        add = [h for h in hits if h.startswith("Add ")]
        assert all(hits.index(a) > hits.index("Watchlist: manual order") for a in add)


async def test_a_ticker_that_names_no_command_offers_add_first(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hits = await search(pilot, app, "nflx", "Add NFLX to the watchlist")
        assert hits[0] == "Add NFLX to the watchlist"
        await pilot.press("enter")
        await until(pilot, lambda: "NFLX" in app.main.watchlist.symbols)


async def test_add_stays_available_below_the_commands(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hits = await search(pilot, app, "pause", "Add PAUSE to the watchlist")
        assert hits[0] == "Tape: Pause/resume the tape (scroll back while paused)"
        assert hits[-1] == "Add PAUSE to the watchlist"


def test_word_tiers() -> None:
    assert word_tier("manual", "Watchlist: manual order") == 2
    assert word_tier("man", "Watchlist: manual order") == 1
    assert word_tier("sort vol", "Watchlist: sort by Volume") == 1
    assert word_tier("sort volume", "Watchlist: sort by Volume") == 2
    assert word_tier("anual", "Watchlist: manual order") == 0  # inside a word: fuzzy only
    assert word_tier("pause", "Tape: Pause/resume the tape") == 2

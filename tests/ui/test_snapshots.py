"""SVG snapshots of the screens a user sees (fixed market, frozen clock, no connection).

Regenerate after an intended change with ``make snapshots`` (one Python version only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from ticktape.feed.session import ConnState, SessionStatus
from ticktape.ui.help import HelpScreen

from .conftest import NOW_MS, MakeApp, until

SnapCompare = Callable[..., bool]


def settled(*then: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait until every pane has drawn its first frame, then press ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app

        def drawn() -> bool:
            main = app.main
            return bool(main.query("#chart")) and bool(main.chart.text_lines and main.status.plain)

        await until(pilot, drawn)
        if then:
            await pilot.press(*then)

    return run_before


def test_main_screen_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settled())


def test_main_screen_160x48(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=settled())


def test_help_screen(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled("question_mark")(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(make_app(), terminal_size=(100, 40), run_before=run_before)


def test_auth_failure(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    status = SessionStatus(ConnState.AUTH_FAILED, "auth_failed: bad key", since_ms=NOW_MS)
    app = make_app(status=status, stats=None)
    assert snap_compare(app, terminal_size=(120, 30), run_before=settled())


def test_reconnecting(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    status = SessionStatus(
        ConnState.RECONNECTING, "connection lost", attempt=3, retry_in=8.0, since_ms=NOW_MS - 3_000
    )
    app = make_app(status=status)
    assert snap_compare(app, terminal_size=(120, 30), run_before=settled())

"""Wire text is untrusted: it never becomes markup, terminal escapes or state, and the key
never leaves the process except in the auth action and the REST header."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ticktape.config import Settings
from ticktape.feed.events import Quote, Trade
from ticktape.market import MarketState
from ticktape.sim.process import SimProcess
from ticktape.ui.app import TicktapeApp


@pytest.mark.parametrize(
    "evil", ["\x1b[2J\x1b[31mAAPL", "[/bold]X", "[@click=app.quit]Q", "A B", "", "Z" * 40]
)
def test_a_symbol_that_is_not_a_ticker_never_becomes_state(evil: str) -> None:
    state = MarketState()
    state.apply(
        [
            Trade(symbol=evil, price=1.0, size=100, timestamp=1_700_000_000_000),
            Quote(symbol="AAPL", bid=1.0, ask=1.01, timestamp=1_700_000_000_001),
        ],
        1_700_000_000_002,
    )
    assert list(state.symbols) == ["AAPL"]
    assert state.bad_events == 1


@pytest.mark.parametrize("ok", ["BRK.B", "EUR/USD", "BTC-USD", "I:SPX", "NTEST.Q"])
def test_real_symbol_shapes_are_accepted(ok: str) -> None:
    state = MarketState()
    state.apply([Trade(symbol=ok, price=1.0, size=100, timestamp=1_700_000_000_000)], 1)
    assert ok in state.symbols and state.bad_events == 0


async def test_server_text_in_a_notice_is_shown_literally_and_cannot_crash_the_app(
    tmp_path: Path,
) -> None:
    settings = Settings(config_path=tmp_path / "config.toml")
    app = TicktapeApp(settings, connect=False)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        app.notice("server: [/bold] [@click=app.quit]boom[/] [b]x[/b] \x1b[2J", "warning")
        literal = "server: [/bold] [@click=app.quit]boom[/] [b]x[/b] [2J"  # ESC gone

        def drawn() -> list[str]:
            return [s.text for s in app.screen._compositor.render_strips() if "server" in s.text]

        # what the screen draws, in the toast and in the status bar, is the text as given
        deadline = time.monotonic() + 10
        while sum(literal in line for line in drawn()) != 2:
            assert time.monotonic() < deadline, drawn()
            await pilot.pause(0.02)
        assert app.is_running


def test_the_simulator_child_does_not_inherit_the_real_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", "pk-real-secret")
    monkeypatch.setenv("MASSIVE_API_KEY", "mk-real-secret")
    with SimProcess() as sim:
        environ = Path(f"/proc/{sim.pid}/environ").read_bytes()
    assert b"real-secret" not in environ

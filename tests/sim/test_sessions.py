"""``ticktape sim --clock``: a living market at any hour, or quiet when the real one is closed."""

from __future__ import annotations

from datetime import datetime

import pytest

from ticktape.commands.sim import build_parser
from ticktape.feed.events import MinuteAgg, Quote, Trade
from ticktape.feed.rest import RestClient
from ticktape.sim.market import SimMarket
from ticktape.sim.server import Simulator
from ticktape.sim.sessions import EXTENDED_EVERY, SessionGate, apply_clock
from ticktape.timeutil import zone

ET = zone("America/New_York")


def et(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ET).timestamp() * 1000)


def run(at: str, *, gated: bool, seconds: int = 70) -> list[object]:
    start = et(at)
    market = SimMarket("stocks", seed=3, rate=500.0, start_ms=start)
    if gated:
        market.gate = SessionGate("stocks")
    out: list[object] = []
    for s in range(1, seconds + 1):
        out.extend(market.advance(start + s * 1000))
    return out


@pytest.mark.parametrize("at", ["2026-12-05 11:00", "2026-11-26 11:00", "2026-12-02 22:00"])
def test_a_closed_market_sends_nothing(at: str) -> None:  # weekend, holiday, overnight
    assert run(at, gated=False)  # the default plays on
    assert run(at, gated=True) == []


def test_an_open_market_is_untouched() -> None:
    assert run("2026-12-02 11:00", gated=True) == run("2026-12-02 11:00", gated=False)


def test_extended_hours_are_thin_but_keep_their_bars() -> None:
    full = run("2026-12-02 18:00", gated=False)
    thin = run("2026-12-02 18:00", gated=True)
    ticks = [e for e in full if isinstance(e, Trade | Quote)]
    kept = [e for e in thin if isinstance(e, Trade | Quote)]
    assert len(kept) == len(ticks) // EXTENDED_EVERY
    assert [e for e in thin if isinstance(e, MinuteAgg)] == [
        e for e in full if isinstance(e, MinuteAgg)
    ]


@pytest.mark.parametrize(("mode", "word"), [("always", "open"), ("real", "closed")])
async def test_the_status_endpoint_says_what_the_simulator_plays(mode: str, word: str) -> None:
    saturday = et("2026-12-05 11:00")
    async with Simulator(api_key="k", market_clock=lambda: saturday) as sim:
        apply_clock(sim, mode)  # type: ignore[arg-type]
        async with RestClient(sim.rest_url, "k") as rest:
            status = await rest.market_status()
    assert status.market == word


def test_the_flag_defaults_to_always_and_refuses_other_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert build_parser().parse_args([]).clock == "always"
    assert build_parser().parse_args(["--clock", "real"]).clock == "real"
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--clock", "sometimes"])
    assert exc.value.code == 2
    assert "--clock" in capsys.readouterr().err

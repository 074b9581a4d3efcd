"""One symbol reads the same in every pane: price decimals and volume suffixes agree."""

from __future__ import annotations

import re

from ticktape.config import Settings
from ticktape.feed.events import Agg, Trade
from ticktape.market import Bar, MarketState

from .conftest import START_MS, MakeApp, until
from .test_keys import SIZE


def sub_cent_market() -> MarketState:
    """A replay-like symbol: prices with sub-cent digits over a range of under a cent."""
    state = MarketState()
    bars = [
        Agg(187.2310, 187.2390, 187.2305, 187.2350 + (i % 3) * 0.001, 67_100, START_MS + i * 60_000)
        for i in range(-30, 0)
    ]
    state.seed_bars("QRP", [Bar.from_agg(a) for a in bars], prev_close=187.10)
    trade = Trade(symbol="QRP", price=187.2345, size=153_400, timestamp=START_MS + 1_000)
    state.apply([trade], START_MS + 1_005)
    return state


async def test_decimals_and_volume_agree_across_watchlist_and_chart(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app(state=sub_cent_market(), settings=settings.with_(watchlist=("QRP",)))
    async with app.run_test(size=SIZE) as pilot:
        chart, wl = app.main.chart, app.main.watchlist
        await until(pilot, lambda: len(chart.text_lines) > 5 and "QRP" in wl.render_line(1).text)
        row = wl.render_line(1).text
        assert "187.23" in row and "187.234" not in row
        assert "2.17M" in row  # the day's volume: thirty seeded minutes and the trade
        text = "\n".join(chart.text_lines)
        prices = re.findall(r"\d{3}\.\d+", text)
        assert prices and all(len(p.split(".")[1]) == 2 for p in prices), prices
        assert "V 153K" in text  # the forming minute: the watchlist's suffix, not "153.4k"

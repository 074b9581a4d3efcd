"""The whole-market screen: `m` in and out, boards from known events, Enter to a chart."""

from __future__ import annotations

from typing import Any

from ticktape.config import Settings
from ticktape.feed.events import Event, Imbalance, LimitUpLimitDown, MinuteAgg, Trade
from ticktape.feed.session import ConnState
from ticktape.feed.snapshot import SnapshotBar, TickerSnapshot
from ticktape.market.marketview import MarketBoards
from ticktape.sim.server import Simulator
from ticktape.ui.app import TicktapeApp
from ticktape.ui.marketview import Board, ConfirmAdd, MarketScreen, mover_rows
from ticktape.ui.screen import MainScreen

from .conftest import NOW_MS, MakeApp, build_state, until

SIZE = (160, 48)


def snap(ticker: str, last: float, prev: float, volume: float, vwap: float) -> TickerSnapshot:
    return TickerSnapshot(
        ticker,
        day=SnapshotBar(prev, max(last, prev), min(last, prev), last, volume, vwap),
        prev_day=SnapshotBar(prev, prev, prev, prev, volume),
    )


#: A fixed market: (ticker, last, previous close, volume, VWAP).
SNAPSHOTS = [
    snap("UPUP", 12.0, 10.0, 300_000, 11.5),  # +20 %
    snap("DOWNA", 8.0, 10.0, 900_000, 9.0),  # -20 %
    snap("BIGV", 101.0, 100.0, 5_000_000, 100.5),  # +1 %, most shares
    snap("PRICY", 2_000.0, 1_980.0, 400_000, 1_990.0),  # +1.01 %, most dollars
    snap("FLAT", 50.0, 50.0, 10_000, 50.0),
]


def whole_market_frame(t: int) -> list[Event]:
    """Known events: two blocks (one dark), a small print, a halt, a resume, two imbalances."""
    return [
        Trade(symbol="XYZ", price=50.0, size=25_000, timestamp=t, exchange=4),  # dark, by size
        Trade(symbol="AAPL", price=500.0, size=3_000, timestamp=t + 1, exchange=11),  # by $1.5M
        Trade(symbol="ABC", price=10.0, size=100, timestamp=t + 2, exchange=11),  # not a block
        LimitUpLimitDown(symbol="GME", high=30.0, low=20.0, timestamp=t * 1000, indicators=(17,)),
        LimitUpLimitDown(
            symbol="AMC", high=5.0, low=4.0, timestamp=(t + 5) * 1000, indicators=(18,)
        ),
        Imbalance(symbol="SPY", timestamp=t * 10**6, auction_time=1600, auction_type="C",
                  imbalance=500_000, paired=1_000_000, clearing_price=560.0),
        Imbalance(symbol="QQQ", timestamp=t * 10**6, auction_time=1600, auction_type="C",
                  imbalance=-200_000, paired=300_000, clearing_price=480.0),
        MinuteAgg(symbol="UPUP", open=12.0, high=13.0, low=12.0, close=13.0, volume=1_000,
                  start=t, end=t + 60_000, day_volume=301_000, day_vwap=11.6),
    ]  # fmt: skip


async def open_view(pilot: Any, app: TicktapeApp) -> None:
    """``m``, then wait until the view's boards exist."""
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MarketScreen) and app.screen.ready)


def board(app: TicktapeApp, name: str) -> Board:
    screen = app.screen
    assert isinstance(screen, MarketScreen)
    return screen.board(name)


def drawn(app: TicktapeApp, name: str) -> list[str]:
    """The rows a board draws (its header left out), as the user reads them."""
    return board(app, name).render().plain.splitlines()[1:]


def symbols(app: TicktapeApp, name: str) -> list[str]:
    """The symbol column of every drawn row (after the time on the halts and blocks)."""
    if not board(app, name).rows:
        return []
    at = 1 if name in ("halts", "blocks") else 0
    return [line.split()[at] for line in drawn(app, name)]


def test_movers_rank_a_fixed_market() -> None:
    boards = MarketBoards()
    assert boards.seed(SNAPSHOTS) == 5

    def top(ranking: Any) -> list[str]:
        return [r.symbol for r in mover_rows(boards, ranking, 3)]

    assert top("gainers") == ["UPUP", "PRICY", "BIGV"]
    assert top("losers") == ["DOWNA", "FLAT", "BIGV"]
    assert top("active") == ["BIGV", "DOWNA", "PRICY"]
    assert top("dollar") == ["PRICY", "BIGV", "DOWNA"]
    row = mover_rows(boards, "gainers", 1)[0]
    assert [c[0] for c in row.cells] == [
        "UPUP",
        "12.00",
        "+2.00",
        "+20.00%",
        "300K",
        "$3.45M",
        "1.0x",
    ]


async def test_m_opens_the_view_and_escape_or_m_brings_the_watchlist_back(
    make_app: MakeApp,
) -> None:
    app = make_app(state=build_state())  # its own: frames below change it
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await open_view(pilot, app)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.market_view.screen is None


async def test_known_events_reach_every_board_and_thresholds_filter(make_app: MakeApp) -> None:
    app = make_app(state=build_state())  # its own: frames below change it
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        assert app.market_view.boards is not None
        app.market_view.boards.seed(SNAPSHOTS)
        app.feed.on_events(whole_market_frame(NOW_MS), NOW_MS)
        await until(pilot, lambda: symbols(app, "blocks") == ["AAPL", "XYZ"])
        assert symbols(app, "halts") == ["AMC", "GME"]
        assert drawn(app, "halts")[1].split()[1:3] == ["GME", "HALT"]
        assert symbols(app, "imbalances") == ["SPY", "QQQ"]
        assert drawn(app, "imbalances")[1].split()[:3] == ["QQQ", "sell", "200K"]
        assert symbols(app, "movers")[:2] == ["UPUP", "PRICY"]  # UPUP at 13 now, from AM
        aapl, xyz = drawn(app, "blocks")[:2]
        assert xyz.split()[5] == "dark"  # a TRF print is marked (and drawn in the dark style)
        assert board(app, "blocks").rows[1].cells[5][1] == "dark"
        # AAPL is in the state: placed against its NBBO (and coloured by that side)
        assert aapl.split()[5] in ("ask", "bid", "mid")
        # a whole-market print of a symbol nobody watches never becomes per-symbol state
        assert app.state.get("XYZ") is None and app.state.get("GME") is None
        # thresholds up to 50,000 shares and $5M, shares back to 25,000: only XYZ passes now
        await pilot.press("plus", "plus", "right_square_bracket", "right_square_bracket")
        assert (
            app.market_view.boards.blocks.min_shares,
            app.market_view.boards.blocks.min_notional,
        ) == (50_000, 5_000_000)
        await pilot.press("minus")
        app.feed.on_events(whole_market_frame(NOW_MS + 1000), NOW_MS + 1000)
        await until(pilot, lambda: symbols(app, "blocks") == ["XYZ", "AAPL", "XYZ"])
        assert "25,000 sh or $5.00M" in str(board(app, "blocks").border_title)
        # r cycles the ranking
        await pilot.press("r")
        await until(pilot, lambda: symbols(app, "movers")[0] == "DOWNA")
        assert "losers" in str(board(app, "movers").border_title)


async def test_the_movers_ranking_is_kept_when_the_view_reopens(make_app: MakeApp) -> None:
    app = make_app(state=build_state())
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        assert app.market_view.boards is not None
        app.market_view.boards.seed(SNAPSHOTS)
        await pilot.press("r", "r")  # gainers → losers → most active
        await until(pilot, lambda: "most active" in str(board(app, "movers").border_title))
        shown = symbols(app, "movers")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await open_view(pilot, app)
        await until(pilot, lambda: symbols(app, "movers") == shown)
        assert "most active" in str(board(app, "movers").border_title)


async def test_enter_opens_a_watched_symbol_or_offers_to_add_a_new_one(
    make_app: MakeApp,
) -> None:
    app = make_app(state=build_state())  # its own: frames below change it
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        assert app.market_view.boards is not None
        app.feed.on_events(whole_market_frame(NOW_MS), NOW_MS)
        await until(pilot, lambda: symbols(app, "blocks") == ["AAPL", "XYZ"])
        board(app, "blocks").focus()
        await pilot.press("enter")  # AAPL: in the watchlist, straight to its chart
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.main.watchlist.selected == "AAPL"
        await open_view(pilot, app)
        await until(pilot, lambda: symbols(app, "blocks") == ["AAPL", "XYZ"])
        await pilot.press("right", "right", "right")  # movers → halts → imbalances → blocks
        await until(pilot, lambda: board(app, "blocks").has_focus, seen=lambda: app.screen.focused)
        await pilot.press("j", "enter")  # XYZ: not watched, so the view asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmAdd))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MarketScreen))
        assert "XYZ" not in app.main.watchlist.symbols
        await pilot.press("enter", "y")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.main.watchlist.symbols[-1] == "XYZ"
        assert app.main.watchlist.selected == "XYZ"


async def test_the_selection_stays_on_its_print_as_new_blocks_arrive(make_app: MakeApp) -> None:
    app = make_app(state=build_state())  # its own: frames below change it
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        app.feed.on_events(whole_market_frame(NOW_MS), NOW_MS)
        await until(pilot, lambda: symbols(app, "blocks") == ["AAPL", "XYZ"])
        await pilot.press("right", "right", "right", "down")
        blocks = board(app, "blocks")
        await until(pilot, lambda: blocks.has_focus and blocks.cursor == 1)
        chosen = drawn(app, "blocks")[1]
        app.feed.on_events(whole_market_frame(NOW_MS + 1000), NOW_MS + 1000)  # two newer prints
        await until(pilot, lambda: len(blocks.rows) == 4)
        assert blocks.cursor == 3 and drawn(app, "blocks")[3] == chosen


async def test_wire_text_on_the_boards_is_drawn_literally(make_app: MakeApp) -> None:
    app = make_app(state=build_state())  # its own: frames below change it
    async with app.run_test(size=SIZE) as pilot:
        await open_view(pilot, app)
        halt = LimitUpLimitDown(
            symbol="[b]X\x1b[2J", high=2.0, low=1.0, timestamp=NOW_MS * 1000, indicators=(17,)
        )
        app.feed.on_events([halt], NOW_MS)
        halts = board(app, "halts")
        await until(pilot, lambda: "[b]X" in halts.render().plain)
        assert "\x1b" not in halts.render().plain


async def test_the_view_subscribes_market_wide_only_while_shown(settings: Settings) -> None:
    watch = ("AAPL", "MSFT")
    async with Simulator(seed=3, rate=400.0) as sim:
        app = TicktapeApp(
            settings.with_(
                ws_url=sim.ws_url, rest_url=sim.rest_url, api_key="k", watchlist=watch, fps=20
            ),
            feed_label="SIMULATED",
        )
        async with app.run_test(size=SIZE) as pilot:
            session = app.feed.session
            await until(
                pilot, lambda: session is not None and session.status.state is ConnState.LIVE
            )
            assert session is not None
            assert "T.*" not in session.subscribed
            await until(pilot, lambda: app.feed.rest is not None, within=20)
            await pilot.press("m")
            await until(pilot, lambda: {"T.*", "AM.*", "LULD.*", "NOI.*"} <= session.subscribed)
            assert app.market_view.boards is not None
            boards = app.market_view.boards
            await until(pilot, lambda: boards.blocks.seen > 1000, within=20)
            # seeded from the simulator's snapshots: the whole universe, not the watchlist
            await until(pilot, lambda: len(boards.movers.rows) > 50, within=30)
            assert app.state.get("SPY") is None  # traded all along, never made state
            await pilot.press("m")
            await until(pilot, lambda: "T.*" not in session.subscribed)
            assert {"T.AAPL", "Q.MSFT"} <= session.subscribed

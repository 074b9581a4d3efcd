"""TapeView in a tiny host app, fed a real MarketState: what the user sees on the tape."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.strip import Strip

from ticktape.feed.events import CryptoTrade, ForexQuote, Quote, Trade
from ticktape.market import MarketState
from ticktape.ui.tape import TapeView
from ticktape.ui.themes import theme_colour

from .conftest import NOW_MS, Host, MakeApp, build_state, until

T0 = 1_736_951_400_000  # 2025-01-15 09:30:00.000 New York


def quote(sym: str, bid: float, ask: float, t: int = T0, bs: int = 300, asz: int = 500) -> Quote:
    return Quote(symbol=sym, bid=bid, ask=ask, timestamp=t, bid_size=bs, ask_size=asz)


def trade(sym: str, price: float, size: int, t: int, conditions: tuple[int, ...] = ()) -> Trade:
    return Trade(
        symbol=sym, price=price, size=size, timestamp=t, exchange=12, conditions=conditions
    )


def market() -> MarketState:
    state = MarketState(record_all_quotes=True)  # per-symbol quote history is opt-in
    state.apply([quote("AAPL", 100.00, 100.02), quote("MSFT", 400.00, 400.10)], T0)
    state.apply(
        [
            trade("AAPL", 100.02, 200, T0 + 1),  # at the ask: buy
            trade("AAPL", 100.00, 300, T0 + 2),  # at the bid: sell
            trade("AAPL", 100.01, 100, T0 + 3),  # between: mid
            trade("MSFT", 400.05, 600, T0 + 4),  # a block by notional ($240k)
            trade("AAPL", 100.01, 12_000, T0 + 5),  # a block by size
            trade("AAPL", 100.01, 7, T0 + 6, (37,)),  # odd lot
        ],
        T0 + 10,
    )
    return state


def line_with(tape: TapeView, text: str) -> tuple[str, Strip]:
    for y in range(tape.size.height):
        strip = tape.render_line(y)
        if text in strip.text:
            return strip.text, strip
    raise AssertionError(f"{text!r} not on screen: {tape.visible_text}")


def style_of(strip: Strip, text: str) -> Style:
    for seg in strip:
        if text in seg.text:
            assert seg.style is not None
            return seg.style
    raise AssertionError(f"{text!r} not in {strip.text!r}")


def hex_of(style: Style) -> str:
    assert style.color is not None and style.color.triplet is not None
    return style.color.triplet.hex


async def test_trades_newest_first_with_time_price_size_exchange() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        tape.show(market(), "AAPL")
        await pilot.pause()
        lines = tape.visible_text
        assert lines[0].startswith("Time") and tape.label.strip() == "AAPL trades"
        assert lines[1].startswith("09:30:00.006")  # exchange time with ms, newest on top
        assert "12,000" in lines[2] and "100.01" in lines[2]
        assert "09:30:00.001" in lines[5] and "200" in lines[5] and " 12 " in lines[5]
        assert not any("400.05" in line for line in lines)  # selected symbol only


async def test_trades_are_coloured_by_where_they_hit_the_quote() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        tape.show(market(), "AAPL")
        await pilot.pause()
        variables = app.theme_variables
        up = theme_colour(variables, "up", "success", default="green").hex.lower()
        down = theme_colour(variables, "down", "error", default="red").hex.lower()
        _, buy = line_with(tape, "100.02")
        _, sell = line_with(tape, "100.00")
        _, mid = line_with(tape, "09:30:00.003")
        assert hex_of(style_of(buy, "100.02")) == up
        assert " B " in buy.text and " S " in sell.text  # readable without colour too
        assert hex_of(style_of(sell, "100.00")) == down
        assert hex_of(style_of(mid, "100.01")) not in (up, down)


async def test_blocks_stand_out_and_odd_lots_are_dimmed() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        tape.show(market(), "AAPL")
        await pilot.pause()
        _, block = line_with(tape, "12,000")
        assert style_of(block, "12,000").bold and style_of(block, "12,000").bgcolor is not None
        _, odd = line_with(tape, "09:30:00.006")
        assert style_of(odd, "100.01").dim
        _, plain = line_with(tape, "09:30:00.003")
        assert not style_of(plain, "100.01").bold and not style_of(plain, "100.01").dim


async def test_all_symbols_scope_shows_the_symbol_column_and_notional_blocks() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        state = market()
        tape.show(state, "AAPL")
        tape.scope_all = True
        await pilot.pause()
        assert tape.visible_text[0].startswith("Time") and "Symbol" in tape.visible_text[0]
        text, row = line_with(tape, "400.05")
        assert "MSFT" in text
        assert style_of(row, "400.05").bold  # 600 × $400 ≥ $200k


async def test_minimum_size_filter() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        tape.show(market(), "AAPL")
        tape.min_size = 250
        await pilot.pause()
        rows = [line for line in tape.visible_text[1:] if line.strip()]
        assert len(rows) == 2 and "12,000" in rows[0] and "300" in rows[1]
        assert "≥250" in tape.label


async def test_pause_freezes_rows_and_counts_new_trades() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 12)) as pilot:
        state = market()
        tape.show(state, "AAPL")
        await pilot.pause()
        before = tape.visible_text[1:]
        tape.toggle_pause()
        state.apply([trade("AAPL", 101.5, 100 + i, T0 + 100 + i) for i in range(3)], T0 + 200)
        tape.show(state, "AAPL")
        await pilot.pause()
        assert tape.visible_text[1:] == before
        assert "PAUSED · 3 new" in tape.label
        state.apply([trade("AAPL", 101.6, 100, T0 + 300)], T0 + 300)
        tape.show(state, "AAPL")
        await pilot.pause()
        assert "4 new" in tape.label
        tape.toggle_pause()
        tape.show(state, "AAPL")
        await pilot.pause()
        assert "PAUSED" not in tape.label
        assert "101.60" in tape.visible_text[1] and "101.50" in tape.visible_text[2]


async def test_paused_filtered_tape_counts_only_the_trades_it_will_show(
    make_app: MakeApp,
) -> None:
    """In the app, as a user meets it: ``f`` hides trades under 100 shares, ``space``
    pauses; "N new" counts only what resuming will show, not the trades the filter hides."""
    app = make_app(state=build_state())  # its own market: this test adds trades to it
    async with app.run_test(size=(120, 36)) as pilot:
        tape = app.main.tape
        await pilot.press("f", "space")
        await until(pilot, lambda: "PAUSED · 0 new" in tape.label, seen=lambda: tape.label)
        assert "AAPL trades · ≥100" in tape.label
        frozen = tape.visible_text
        aapl = app.state.get("AAPL")
        assert aapl is not None and aapl.last is not None
        sizes = (5, 100, 50, 250, 99, 12_000)  # three hidden, three shown
        app.state.apply(
            [
                Trade(symbol="AAPL", price=aapl.last, size=n, timestamp=NOW_MS + i, exchange=4)
                for i, n in enumerate(sizes, 1)
            ],
            NOW_MS + 10,
        )
        await until(pilot, lambda: "0 new" not in tape.label, seen=lambda: tape.label)
        drawn = screen_text(app)
        assert "PAUSED · 3 new" in drawn, tape.label
        assert tape.visible_text == frozen  # paused: the rows hold still
        await pilot.press("space")
        await until(pilot, lambda: "PAUSED" not in tape.label)
        newest = [line.split()[2] for line in tape.visible_text[1:4]]
        assert newest == ["12,000", "250", "100"]


def screen_text(app: App[None]) -> str:
    """Everything the screen draws (the tape's title sits on its border, not in its lines)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_paused_tape_scrolls_back() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = MarketState()
        state.apply([trade("AAPL", 100 + i / 100, 100, T0 + i) for i in range(50)], T0 + 60)
        tape.show(state, "AAPL")
        tape.toggle_pause()
        await pilot.pause()
        assert "100.49" in tape.visible_text[1]
        tape.scroll_to(y=40, animate=False, immediate=True)
        await pilot.pause()
        assert "100.09" in tape.visible_text[1]  # the 41st newest
        assert tape.visible_text[0].startswith("Time")  # the header stays put
        state.apply([trade("AAPL", 99.0, 100, T0 + 100 + i) for i in range(2)], T0 + 200)
        tape.show(state, "AAPL")
        await pilot.pause()
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "2 new" in screen and "100.09" in screen  # repainted on the real screen


async def test_quotes_mode_shows_bid_ask_sizes_and_spread() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = market()
        state.apply([quote("AAPL", 100.01, 100.04, T0 + 50, bs=800, asz=1_200)], T0 + 60)
        tape.mode = "quotes"
        tape.show(state, "AAPL")
        await pilot.pause()
        newest = tape.visible_text[1]
        assert "800" in newest and "100.01 × 100.04" in newest and "1,200" in newest
        assert newest.rstrip().endswith("0.03")
        assert "100.00 × 100.02" in tape.visible_text[2]


async def test_bounded_and_only_visible_rows_are_rendered() -> None:
    tape = TapeView(max_rows=100)
    app = Host(tape)
    async with app.run_test(size=(90, 10)) as pilot:
        state = MarketState()
        tape.show(state, "AAPL")
        for frame in range(10):
            batch = [trade("AAPL", 50 + frame, 100, T0 + frame * 100 + i) for i in range(40)]
            state.apply(batch, T0 + frame * 100 + 50)
            tape.show(state, "AAPL")
            await pilot.pause()
        assert tape.virtual_size.height - 1 <= 100 * 5 // 4  # bounded scroll-back
        built = sum(strip is not None for strip in tape._strips)
        assert built <= 10 * 9  # at most the visible rows of each frame were drawn
        assert "59.00" in tape.visible_text[1]


async def test_wire_text_that_is_not_a_symbol_never_reaches_the_tape() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 6)) as pilot:
        state = MarketState()
        state.apply([trade("[b]X", 1.5, 100, T0), trade("BRK.B", 2.5, 200, T0 + 1)], T0)
        tape.scope_all = True
        tape.show(state, None)
        await pilot.pause()
        assert "BRK.B" in tape.visible_text[1]
        assert not [line for line in tape.visible_text if "[b]" in line or "1.50" in line]


async def test_empty_state_and_theme_change_recolours() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        tape.show(MarketState(), "AAPL")
        await pilot.pause()
        assert "no trades yet" in tape.visible_text[1]
        state = market()
        tape.show(state, "AAPL")
        await pilot.pause()
        app.theme = "textual-light"
        await pilot.pause()
        _, buy = line_with(tape, "100.02")
        light_up = theme_colour(app.theme_variables, "up", "success", default="green")
        assert hex_of(style_of(buy, "100.02")) == light_up.hex.lower()


async def test_scrolling_back_while_live_pauses() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = MarketState()
        state.apply([trade("AAPL", 100 + i / 100, 100, T0 + i) for i in range(50)], T0 + 60)
        tape.show(state, "AAPL")
        await pilot.pause()
        tape.focus()
        await pilot.press("pagedown")
        assert tape.paused and "PAUSED · 0 new" in tape.label
        assert "100.49" not in tape.visible_text[1]
        tape.toggle_pause()
        tape.show(state, "AAPL")
        await pilot.pause()
        assert tape.scroll_offset.y == 0 and "100.49" in tape.visible_text[1]


async def test_ascii_mode_avoids_non_ascii_glyphs() -> None:
    tape = TapeView(ascii_only=True)
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = market()
        tape.mode = "quotes"
        tape.show(state, "AAPL")
        tape.toggle_pause()
        await pilot.pause()
        assert all(line.isascii() for line in tape.visible_text)
        assert "100.00 x 100.02" in tape.visible_text[1]


async def test_forex_quotes_keep_fractional_pips_and_show_no_sizes() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = MarketState(record_all_quotes=True)
        state.apply([ForexQuote(pair="EUR/USD", bid=1.04935, ask=1.04947, timestamp=T0)], T0)
        state.apply([ForexQuote(pair="USD/JPY", bid=151.3002, ask=151.3046, timestamp=T0)], T0)
        tape.mode = "quotes"
        tape.show(state, "EUR/USD")
        await pilot.pause()
        assert tape.visible_text[1].split() == [
            "09:30:00.000",
            "1.04935",
            "×",
            "1.04947",
            "0.00012",
        ]
        tape.show(state, "USD/JPY")
        await pilot.pause()
        assert tape.visible_text[1].split() == ["09:30:00.000", "151.300", "×", "151.305", "0.004"]


async def test_crypto_sizes_line_up_right_aligned_apart_from_the_price() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        state = MarketState()
        sizes = (0.0456649, 1.0, 12.5, 0.00012)
        state.apply(
            [
                CryptoTrade(pair="BTC-USD", price=64_444.03, size=s, timestamp=T0 + i)
                for i, s in enumerate(sizes)
            ],
            T0 + 10,
        )
        tape.show(state, "BTC-USD")
        await pilot.pause()
        rows = tape.visible_text[1:5]
        shown = [row.split()[2] for row in rows]
        assert shown == ["0.00012", "12.50000", "1.00000", "0.04566"]  # newest first
        ends = {row.index(size) + len(size) for row, size in zip(rows, shown, strict=True)}
        assert len(ends) == 1, f"sizes right-aligned: {rows}"
        assert all("64,444.03  " in row for row in rows), f"a gap after the price: {rows}"


async def test_title_without_a_symbol_says_so() -> None:
    tape = TapeView()
    app = Host(tape)
    async with app.run_test(size=(90, 8)) as pilot:
        tape.mode = "quotes"
        tape.show(MarketState(), None)
        await pilot.pause()
        assert tape.label.strip() == "quotes · no symbol selected"

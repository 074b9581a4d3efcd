"""Every key binding of the main screen, in one list (bindings, help and palette use it).

See docs/ui.md (keys).
"""

from __future__ import annotations

from typing import Final

from textual.binding import Binding

#: (section, binding, what it does). The binding's short description is the Footer label;
#: ``show=True`` bindings appear in the Footer.
KEYMAP: Final[tuple[tuple[str, Binding, str], ...]] = (
    ("Symbols", Binding("j,down", "cursor(1)", "Down", show=False), "Next symbol"),
    ("Symbols", Binding("k,up", "cursor(-1)", "Up", show=False), "Previous symbol"),
    ("Symbols", Binding("pagedown", "cursor(10)", "Page down", show=False), "Ten symbols down"),
    ("Symbols", Binding("pageup", "cursor(-10)", "Page up", show=False), "Ten symbols up"),
    ("Symbols", Binding("home", "cursor_to(0)", "First", show=False), "First symbol"),
    ("Symbols", Binding("end", "cursor_to(-1)", "Last", show=False), "Last symbol"),
    ("Symbols", Binding("slash", "jump", "Go to", show=False), "Go to a watchlist symbol"),
    ("Watchlist", Binding("a", "add", "Add"), "Add a symbol to the watchlist"),
    ("Watchlist", Binding("d", "remove", "Remove"), "Remove the selected symbol"),
    ("Watchlist", Binding("u", "undo", "Undo", show=False), "Undo the last remove"),
    ("Watchlist", Binding("K,shift+up", "move(-1)", "Move up", show=False), "Move symbol up"),
    ("Watchlist", Binding("J,shift+down", "move(1)", "Move down", show=False), "Move symbol down"),
    ("Watchlist", Binding("s", "sort", "Sort"), "Sort: cycle through the columns, then manual"),
    ("Watchlist", Binding("S", "reverse_sort", "Reverse", show=False), "Reverse the sort"),
    (
        "Watchlist",
        Binding("left_square_bracket", "pane_width(-4)", "Narrower", show=False),
        "Make the watchlist narrower",
    ),
    (
        "Watchlist",
        Binding("right_square_bracket", "pane_width(4)", "Wider", show=False),
        "Make the watchlist wider",
    ),
    (
        "Watchlists",
        Binding("w", "app.next_watchlist(1)", "Next list", show=False),
        "Next watchlist (ctrl+p: watchlist NAME, new, rename…)",
    ),
    (
        "Watchlists",
        Binding("W", "app.next_watchlist(-1)", "Previous list", show=False),
        "Previous watchlist",
    ),
    ("Chart", Binding("1", "timeframe('1m')", "1m", show=False), "1-minute candles"),
    ("Chart", Binding("2", "timeframe('5m')", "5m", show=False), "5-minute candles"),
    ("Chart", Binding("3", "timeframe('15m')", "15m", show=False), "15-minute candles"),
    ("Chart", Binding("4", "timeframe('1h')", "1h", show=False), "1-hour candles"),
    ("Chart", Binding("5", "timeframe('1D')", "1D", show=False), "Daily candles"),
    (
        "Tape",
        Binding("space", "pause", "Pause"),
        "Pause/resume the tape (scroll back while paused)",
    ),
    ("Tape", Binding("t", "tape_mode", "Tape"), "Tape: trades or quotes"),
    (
        "Tape",
        Binding("A", "tape_scope", "All symbols", show=False),
        "Tape: selected symbol or all symbols",
    ),
    (
        "Tape",
        Binding("f", "min_size", "Min size", show=False),
        "Tape: minimum trade size (cycles 0, 100, 500, 1k, 5k, 10k)",
    ),
    ("Tape", Binding("minus", "tape_height(-2)", "Shorter", show=False), "Make the tape shorter"),
    (
        "Tape",
        Binding("plus,equals_sign", "tape_height(2)", "Taller", show=False),
        "Make the tape taller",
    ),
    (
        "Alerts",
        Binding("exclamation_mark", "app.alert_new", "Alert", show=False, key_display="!"),
        "New alert on the selected symbol (a phrase: above 230, move 5%, halt…)",
    ),
    (
        "Alerts",
        Binding("L", "app.alerts_pane", "Alerts", show=False),
        "Show/hide the alerts pane (e edit, z snooze, x delete, n new)",
    ),
    (
        "Positions",
        Binding("p", "app.position", "Position", show=False),
        "Lots of the selected symbol: add (10 @ 187.5 [date] [note]), #N … edits, #N delete",
    ),
    (
        "Positions",
        Binding("P", "app.pnl_columns", "P&L", show=False),
        "Show/hide the P&L columns (Pos, Avg cost, Mkt value, Day/Tot P&L, Tot%) and totals",
    ),
    (
        "Book",
        Binding("B", "app.book_pane", "Book", show=False),
        "Show/hide the selected crypto pair's order book (XL2 ladder, spread, imbalance)",
    ),
    (
        "Market",
        Binding("m", "app.market_view", "Market", show=False),
        "Whole-market view: movers, halts, imbalances, blocks (m or escape comes back)",
    ),
    (
        "General",
        Binding("R", "app.toggle_record", "Record", show=False),
        "Record the feed to a file (ticktape-<time>.jsonl.gz, or --record's); again to stop",
    ),
    ("General", Binding("question_mark", "help", "Help", key_display="?"), "This help"),
)

#: Keys handled by the app rather than the main screen, listed for the help screen.
APP_KEYS: Final[tuple[tuple[str, str, str], ...]] = (
    ("General", "q / ctrl+q", "Quit (closes the connection cleanly)"),
    ("General", "ctrl+p", "Command palette: any symbol, every action, themes"),
    ("General", "tab / shift+tab", "Move focus between watchlist and tape"),
    ("Symbols", "letters", "Type a watchlist symbol to jump to it"),
)

#: Minimum trade sizes the `f` key cycles through (0 = show all).
MIN_SIZES: Final = (0, 100, 500, 1_000, 5_000, 10_000)
TIMEFRAMES: Final = ("1m", "5m", "15m", "1h", "1D")

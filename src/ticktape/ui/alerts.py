"""Alerts in the app: the form (`!`), the pane (`L`) and the palette's ``alert …`` phrases.

Delivery itself is :mod:`ticktape.alerting`. See docs/alerts.md.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ticktape.market.alerts import KINDS, USAGE, Alert, AlertError, Fired, parse_phrase
from ticktape.ui.format import one_line
from ticktape.ui.palette import tier_step
from ticktape.ui.panes import StackedPane

if TYPE_CHECKING:
    from ticktape.alerting import AlertService
    from ticktape.config import Settings
    from ticktape.market import MarketState
    from ticktape.ui.app import TicktapeApp

#: `z` snoozes for this long; on a snoozed alert it wakes it.
SNOOZE_MS: Final = 3_600_000
#: Alert toasts shown at most per window (the rest are counted in one toast).
TOASTS: Final = 3
TOAST_WINDOW_MS: Final = 5_000
#: The pane repaints this often (distances move with prices; the frame timer is not needed).
REFRESH_S: Final = 0.5
FORM_HINT: Final = (
    "above 230 · below 200 · move 5% (+5%, -5%, 5% from 250) · volume 3x · volume 2m\n"
    "spread 0.05 (or 0.1%) · halt · stale 30s — on every symbol: watchlist halt"
)


def suggested_phrase(symbol: str, last: float | None) -> str:
    """What the `!` form starts with: the symbol above a round price 1 % up."""
    if last is None or not math.isfinite(last) or last <= 0:
        return f"{symbol} above "
    step = 10 ** math.floor(math.log10(last * 0.01)) if last >= 1 else 0.0001
    level = math.ceil(last * 1.01 / step) * step
    return f"{symbol} above {level:.{max(0, -math.floor(math.log10(step)))}f}"


class AlertForm(ModalScreen[Alert | None]):
    """One line for the alert as a phrase, checked as it is typed; Enter makes it."""

    DEFAULT_CSS = """
    AlertForm { align: center middle; }
    #alert-form {
        width: 72; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    #alert-form-title { text-style: bold; padding: 0 0 1 0; }
    #alert-form-error { color: $error; width: 100%; }
    #alert-form-hint { color: $text-muted; width: 100%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, value: str, *, alert_id: str = "", symbol: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.alert_id = alert_id
        self.symbol = symbol  # a bare condition ("move 5%") is for this symbol

    def compose(self) -> ComposeResult:
        with Vertical(id="alert-form"):
            yield Label(self.title_text, id="alert-form-title", markup=False)
            yield Input(
                value=self.value,
                placeholder="AAPL above 230",
                select_on_focus=False,  # the suggestion is there to be edited, not replaced
                id="alert-form-input",
            )
            yield Label("", id="alert-form-error", markup=False)
            yield Label(FORM_HINT, id="alert-form-hint", markup=False)

    def _parse(self, value: str) -> Alert | str:
        words = value.split()
        if self.symbol and words and words[0].lower() in (*KINDS, ">", "<"):
            value = f"{self.symbol} {value}"
        try:
            return parse_phrase(value, alert_id=self.alert_id)
        except AlertError as err:
            return str(err)

    def on_input_changed(self, event: Input.Changed) -> None:
        got = self._parse(event.value) if event.value.strip() else ""
        self.query_one("#alert-form-error", Label).update(got if isinstance(got, str) else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        got = self._parse(event.value)
        if isinstance(got, str):
            self.query_one("#alert-form-error", Label).update(got)
            return
        self.dismiss(got)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AlertsPane(StackedPane, can_focus=True):
    """Every alert: id, symbol, condition, state, distance to trigger; keys edit them."""

    DEFAULT_CSS = """
    AlertsPane { max-height: 40%; }
    AlertsPane:focus { border-top: solid $primary; }
    AlertsPane.-ascii:focus { border-top: ascii $primary; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor(1)", "Down", show=False, priority=True),
        Binding("k,up", "cursor(-1)", "Up", show=False, priority=True),
        Binding("e,enter", "edit", "Edit", priority=True),
        Binding("z", "snooze", "Snooze 1h", priority=True),
        Binding("x,delete", "delete", "Delete", priority=True),
        Binding("n", "new", "New", priority=True),
        Binding("escape", "leave", "Back", priority=True),
    ]

    def __init__(self, service: AlertService, clock: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.clock = clock
        self.cursor = 0
        self.border_title = "Alerts"

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.refresh)

    @property
    def alerts(self) -> list[Alert]:
        return self.service.book.alerts

    @property
    def selected(self) -> Alert | None:
        alerts = self.alerts
        return alerts[min(self.cursor, len(alerts) - 1)] if alerts else None

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(id, symbol, condition, state, distance) per alert, as shown."""
        book, now = self.service.book, self.clock()
        out = []
        for a in self.alerts:
            state = a.state(now)
            if state == "fired" and a.on_watchlist:
                state = f"fired {len(a.fired)}"
            distance, _ = book.distance(a, now)
            who = "watchlist" if a.on_watchlist else a.symbol
            out.append((a.id, who, a.condition(), state, one_line(distance)))
        return out

    def render(self) -> Text:
        rows = self.rows()
        self.border_title = f"Alerts ({len(rows)})"
        if not rows:
            dash = "-" if self.has_class("-ascii") else "—"
            return Text(
                f"no alerts {dash} press n (or ! on a symbol, or ctrl+p: alert AAPL above 230)"
            )
        width = self.size.width
        wide = [max(len(r[k]) for r in rows) for k in range(4)]
        wide = [
            max(w, len(t)) for w, t in zip(wide, ("#", "symbol", "condition", "state"), strict=True)
        ]

        def line(cells: tuple[str, ...]) -> str:
            aid, who, cond, state, distance = cells
            return (
                f"{aid:>{wide[0]}} {who:<{wide[1]}} {cond:<{wide[2]}} {state:<{wide[3]}} {distance}"
            )

        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(
            line(("#", "symbol", "condition", "state", "to trigger"))[:width] + "\n",
            style="bold dim",
        )
        cursor = min(self.cursor, len(rows) - 1)
        for i, row in enumerate(rows):
            style = "reverse" if i == cursor and self.has_focus else ""
            if row[3].startswith("fired") and not style:
                style = "bold"
            elif row[3] == "snoozed" and not style:
                style = "dim"
            shown = line(row)[:width]
            text.append(shown.ljust(width) if style == "reverse" else shown, style=style)
            text.append("\n")
        text.rstrip()
        return text

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(1, len(self.alerts) + 1)

    # -- keys ----------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, min(len(self.alerts) - 1, self.cursor + delta))
        self.refresh()

    def action_leave(self) -> None:
        self.screen.query_one("#watchlist").focus()

    def action_new(self) -> None:
        open_new_alert(self.app, self.service)

    def action_edit(self) -> None:
        alert = self.selected
        if alert is None:
            return

        def done(new: Alert | None) -> None:
            if new is not None:
                self.service.update(alert.id, new)
                self.notify(f"alert {alert.id}: {new.phrase()}", timeout=3, markup=False)
                self.refresh()

        symbol = None if alert.on_watchlist else alert.symbol
        form = AlertForm(
            f"Edit alert {alert.id}", alert.phrase()[6:], alert_id=alert.id, symbol=symbol
        )
        self.app.push_screen(form, done)

    def action_snooze(self) -> None:
        alert = self.selected
        if alert is None:
            return
        now = self.clock()
        if alert.snoozed_until_ms > now:
            self.service.snooze(alert.id, 0)
            self.notify(f"alert {alert.id} awake", timeout=2)
        else:
            self.service.snooze(alert.id, now + SNOOZE_MS)
            self.notify(f"alert {alert.id} snoozed for an hour (z again wakes it)", timeout=3)
        self.refresh()

    def action_delete(self) -> None:
        alert = self.selected
        if alert is None:
            return
        self.service.remove(alert.id)
        self.cursor = max(0, min(self.cursor, len(self.alerts) - 1))
        self.notify(f"deleted alert {alert.id}: {alert.phrase()}", timeout=3, markup=False)
        self.refresh()


def open_new_alert(app: Any, service: AlertService, symbol: str | None = None) -> None:
    """The `!` form, for ``symbol`` (the selected one) or empty."""
    last = None
    if symbol:
        s = service.book.state.get(symbol)
        last = s.last if s is not None else None
    value = suggested_phrase(symbol, last) if symbol else ""

    def done(alert: Alert | None) -> None:
        if alert is not None:
            add_alert(app, service, alert)

    title = f"New alert{' on ' + symbol if symbol else ''}"
    app.push_screen(AlertForm(title, value, symbol=symbol), done)


def add_alert(app: Any, service: AlertService, alert: Alert) -> None:
    alert = service.add(alert)
    app.notify(f"alert {alert.id} armed: {alert.phrase()}", timeout=3, markup=False)
    for pane in app.query(AlertsPane):
        pane.refresh()


def toggle_pane(app: Any, service: AlertService, clock: Callable[[], int]) -> None:
    """Show the pane above the tape (and focus it), or take it away."""
    main = app.main
    found = main.query(AlertsPane)
    if found:
        found.remove()
        main.watchlist.focus()
        return
    pane = AlertsPane(service, clock, ascii_only=main.has_class("-ascii"), id="alerts")
    main.query_one("#right").mount(pane, before="#tape")
    pane.focus()


def fired_lines(fired: list[Fired]) -> list[str]:
    """The toast / tape text for what fired (wire text made one safe line)."""
    return [one_line(f"ALERT {f.text}") for f in fired]


class AlertToasts:
    """At most :data:`TOASTS` alert toasts per :data:`TOAST_WINDOW_MS`; what is held back is
    counted in one toast (a watchlist-wide alert must not bury the screen). Every alert
    still gets its tape line, bell, notification and log line."""

    def __init__(self) -> None:
        self.shown: list[int] = []

    def show(self, app: Any, lines: list[str], now_ms: int) -> None:
        self.shown = [t for t in self.shown if now_ms - t < TOAST_WINDOW_MS]
        room = max(0, TOASTS - len(self.shown))
        for line in lines[:room]:
            app.notify(line, severity="warning", timeout=10, markup=False)
            self.shown.append(now_ms)
        held = len(lines) - room
        if held > 0:
            more = f"and {held} more alert{'s' * (held != 1)} (L lists them)"
            app.notify(more, timeout=5, markup=False)


class AppAlerts:
    """The app's side of alerts: the config file's alerts checked each frame, what fires
    marked on the tape and toasted, and the `!` and `L` keys."""

    def __init__(self, app: TicktapeApp, settings: Settings, state: MarketState) -> None:
        """Args:
        app: the app whose tape, toasts and terminal hear fired alerts.
        settings: the alerts and delivery options of the config file.
        state: the market state the alerts are checked against.
        """
        from ticktape.alerting import AlertService

        self.app = app
        self.service = AlertService(
            settings,
            state,
            watchlist=settings.watchlist,
            write=app.terminal_write,
            problem=lambda text: app.notice(text, "warning"),
        )
        self.service.listeners.append(self._fired)
        # An alert on a symbol no list shows still needs its trades and quotes.
        self.service.changed.append(lambda: app.feed.symbols_changed(app.watched()))
        self._toasts = AlertToasts()

    def _fired(self, fired: list[Fired]) -> None:
        lines = fired_lines(fired)
        with contextlib.suppress(NoMatches):
            for line in lines:
                self.app.main.tape.mark(line)
        self._toasts.show(self.app, lines, self.app.clock())

    def new(self) -> None:
        """``!``: a new alert on the selected symbol."""
        open_new_alert(self.app, self.service, self.app.main.watchlist.selected)

    def toggle_pane(self) -> None:
        """``L``: show or hide the alerts pane."""
        toggle_pane(self.app, self.service, self.app.clock)


class AlertCommands(Provider):
    """``alert AAPL above 230`` in the command palette: the phrase, checked as typed."""

    def _service(self) -> AlertService | None:
        return getattr(self.app, "alerts", None)

    async def search(self, query: str) -> Hits:
        service = self._service()
        words = query.split()
        if service is None or not words or words[0].lower() != "alert":
            return
        score = 3 * tier_step(query)  # above every other hit: Enter must make the alert
        try:
            alert = parse_phrase(query)
        except AlertError as err:
            message = str(err)
            yield Hit(
                score,
                Text(f"alert: {message}"),
                partial(self.app.notify, message, severity="warning", markup=False),
                text=f"alert: {message}",
                help=USAGE,
            )
            return
        title = f"Add alert: {alert.phrase().removeprefix('alert ')}"
        yield Hit(
            score,
            Text(title),
            partial(add_alert, self.app, service, alert),
            text=title,
            help="fires once; re-arms when the price moves back",
        )

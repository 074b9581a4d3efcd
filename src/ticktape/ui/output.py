"""The same screen in fewer bytes: the driver sends only the cells that change on screen,
and styles as changes from the style in force.

See docs/ui.md ("Over SSH: how a frame becomes bytes").
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, Final

from rich.cells import cell_len

if TYPE_CHECKING:
    from textual.driver import Driver

#: SGR, any other CSI, OSC (ends with BEL or ST), any other escape, or a run of text.
_TOKEN: Final = re.compile(
    r"\x1b\[([0-9;]*)m|(\x1b\[[0-9;?<>=$ ]*[@-~])|(\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))"
    r"|(\x1b.?)|([^\x1b]+)",
    re.S,
)

#: Attribute code → the code that turns it (and its partners) off.
_OFF: Final = {
    1: 22, 2: 22, 3: 23, 4: 24, 21: 24, 5: 25, 6: 25, 7: 27, 8: 28, 9: 29,
    51: 54, 52: 54, 53: 55,
}  # fmt: skip
#: Off code → every attribute it turns off.
_CLEARS: Final = {22: (1, 2), 23: (3,), 24: (4, 21), 25: (5, 6), 27: (7,), 28: (8,), 29: (9,)}
_CLEARS_MORE: Final = {54: (51, 52), 55: (53,)}

#: (attributes, foreground, background, underline colour); colours as SGR parameter text.
State = tuple[frozenset[int], str, str, str]
DEFAULT: Final[State] = (frozenset(), "", "", "")
#: The terminal's style is not known (after an escape this module does not model).
UNKNOWN: Final = None


_PARSED: dict[tuple[str, State | None], State | None] = {}


def _parse(params: str, state: State | None) -> State | None:
    """The style after ``ESC[params m`` from ``state`` (memoised: a theme has few styles)."""
    key = (params, state)
    try:
        return _PARSED[key]
    except KeyError:
        pass
    if len(_PARSED) > 4096:
        _PARSED.clear()
    parsed = _PARSED[key] = _parse_sgr(params, state)
    return parsed


def _parse_sgr(params: str, state: State | None) -> State | None:
    """The style after ``ESC[params m`` from ``state``; None if it cannot be followed."""
    codes = params.split(";") if params else ["0"]
    if state is None and codes[0] not in ("", "0"):
        return None
    attrs, fg, bg, ul = state if state is not None else DEFAULT
    on = set(attrs)
    i = 0
    try:
        while i < len(codes):
            n = int(codes[i] or 0)
            if n == 0:
                on.clear()
                fg = bg = ul = ""
            elif n in _OFF:
                on.add(n)
            elif n in _CLEARS or n in _CLEARS_MORE:
                on.difference_update(_CLEARS.get(n) or _CLEARS_MORE[n])
            elif 30 <= n <= 37 or 90 <= n <= 97:
                fg = str(n)
            elif 40 <= n <= 47 or 100 <= n <= 107:
                bg = str(n)
            elif n == 39:
                fg = ""
            elif n == 49:
                bg = ""
            elif n == 59:
                ul = ""
            elif n in (38, 48, 58):
                size = {"5": 2, "2": 4}[codes[i + 1]]
                colour = ";".join(codes[i : i + 1 + size])
                if len(colour.split(";")) != size + 1:
                    return None
                if n == 38:
                    fg = colour
                elif n == 48:
                    bg = colour
                else:
                    ul = colour
                i += size
            else:
                return None
            i += 1
    except (ValueError, KeyError, IndexError):
        return None
    return frozenset(on), fg, bg, ul


def _codes(state: State) -> list[str]:
    attrs, fg, bg, ul = state
    return [str(a) for a in sorted(attrs)] + [c for c in (fg, bg, ul) if c]


def transition(have: State | None, want: State) -> str:
    """The shortest SGR sequence that takes the terminal from ``have`` to ``want``."""
    if have == want:
        return ""
    full = "\x1b[" + ";".join(["0", *_codes(want)]) + "m"
    if have is None:
        return full
    attrs, fg, bg, ul = want
    codes: list[str] = []
    lost = have[0] - attrs
    offs = sorted({_OFF[a] for a in lost})
    codes += [str(o) for o in offs]
    cleared = {a for o in offs for a in (_CLEARS.get(o) or _CLEARS_MORE[o])}
    codes += [str(a) for a in sorted((attrs - have[0]) | (attrs & cleared))]
    for mine, theirs, off in ((fg, have[1], "39"), (bg, have[2], "49"), (ul, have[3], "59")):
        if mine != theirs:
            codes.append(mine or off)
    delta = "\x1b[" + ";".join(codes) + "m"
    return delta if len(delta) < len(full) else full


#: Attributes a blank cell shows (a space in bold looks like a space).
_SHOWN_ON_BLANK: Final = frozenset({4, 7, 9, 21, 51, 52, 53})
#: DEC private modes that switch or clear the screen: what it shows is no longer known.
_SCREEN_SWITCH: Final = re.compile(r"\x1b\[\?(?:1049|1047|47)[hl]|\x1b\[[23]?J").fullmatch
_LINES: Final = re.compile(r"[\r\n]+|[^\r\n]+").findall
_MOVE_TO: Final = re.compile(r"\x1b\[(\d*)(?:;(\d*))?[Hf]").fullmatch
#: Cells this many or fewer are sent again rather than skipped with a cursor move.
_RESEND: Final = 3

Cell = tuple[str, State]


def _blank_key(state: State) -> State:
    """What a space in ``state`` shows: its background and the attributes visible on it.

    Reversed, a space shows its foreground colour (made brighter by bold on some
    terminals): then all of the style counts.
    """
    attrs, _, bg, ul = state
    if 7 in attrs:
        return state
    shown = attrs & _SHOWN_ON_BLANK
    return shown, "", bg, ul if shown & {4, 21} else ""


class ScreenDiff:
    """Rewrites a terminal stream to send only the cells that change, in the fewest bytes.

    It keeps what every cell of the screen shows (character and style) as far
    as it knows, applies each write to that picture, and sends only the cells
    that differ: a repainted row whose prices moved by one digit costs that
    digit and a cursor move. Styles are sent as changes from the style in force
    (nothing when runs share a style), lazily, right before a cell is drawn.
    A blank cell compares by what it shows (its background), so a space does
    not need its foreground colour.

    What it does not model (a relative cursor move, an erase, a cursor restore,
    a wide character) makes it send the rest of that write as it is and forget
    the picture, so the next frames start from what Textual sends. Switching or
    clearing the screen, and :meth:`forget` (call it when the terminal is
    resized: the terminal reflows what it shows), forget the picture too.
    """

    def __init__(self) -> None:
        self.have: State | None = DEFAULT  # the style in force on the terminal
        self.want: State | None = DEFAULT  # the style the stream asked for
        self._rows: dict[int, list[Cell | None]] = {}
        self._at: tuple[int, int] | None = None  # the terminal's cursor
        self._pos: tuple[int, int] | None = (0, 0)  # the stream's cursor
        self._moved: list[str] = []  # line ends since the stream's last absolute move

    def forget(self) -> None:
        """Whatever the screen shows is unknown: the next write is sent whole."""
        self._rows.clear()
        self._at = None

    def __call__(self, data: str) -> str:
        out: list[str] = []
        emit = out.append
        tokens = _TOKEN.finditer(data)
        for m in tokens:
            sgr, csi, osc, _other, text = m.groups()
            if sgr is not None:
                self.want = _parse(sgr, self.want)
                if self.want is None:  # not modelled: send it as it is
                    self._verbatim(emit, m.group(0), tokens)
                continue
            if csi is not None:
                move = _MOVE_TO(csi)
                if move is not None:
                    self._pos = (int(move.group(1) or 1) - 1, int(move.group(2) or 1) - 1)
                    self._moved.clear()
                elif _SCREEN_SWITCH(csi):
                    self._cursor(emit)
                    self._style(emit, self.want)  # an erase paints the background in force
                    emit(csi)
                    self.forget()
                    self._at = self._pos = None
                elif csi.startswith("\x1b[?"):  # modes (cursor shown, mouse, sync): no drawing
                    emit(csi)
                else:
                    self._verbatim(emit, csi, tokens)
            elif text is not None:
                rest = self._text(emit, text)
                if rest:
                    self._verbatim(emit, rest, tokens)
            elif osc is not None and not osc.startswith("\x1b]8;"):  # a title, a query
                emit(osc)
            else:  # a hyperlink, a cursor save or restore, ...
                self._verbatim(emit, m.group(0), tokens)
        self._cursor(emit)
        self._style(emit, self.want)
        return "".join(out)

    def _text(self, emit: Any, text: str) -> str:
        """Draw ``text`` at the stream's cursor, sending only changed cells.

        Returns what it could not draw (from a piece it does not model on), or "".
        """
        want = self.want
        done = 0
        for piece in _LINES(text):
            if piece[0] in "\r\n":
                self._moved.append(piece)  # Textual moves the cursor before the next line anyway
                done += len(piece)
                continue
            pos = self._pos
            wide = not piece.isascii() and any(cell_len(ch) != 1 for ch in piece)
            if pos is None or self._moved or want is None or wide:
                return text[done:]
            r, c = pos
            row = self._rows.setdefault(r, [])
            end = c + len(piece)
            if len(row) < end:
                row.extend([None] * (end - len(row)))
            blank = _blank_key(want)
            cells = [(ch, blank if ch == " " else want) for ch in piece]
            self._pos = (r, end)
            done += len(piece)
            if row[c:end] == cells:  # the common case: a run that did not change
                continue
            for i, cell in enumerate(cells):
                x = c + i
                if row[x] == cell:
                    continue
                ch = cell[0]
                self._goto(emit, r, x, row)
                self._style(emit, cell[1], blank=ch == " ")
                emit(ch)
                row[x] = cell
                self._at = (r, x + 1)
        return ""

    def _goto(self, emit: Any, r: int, x: int, row: list[Cell | None]) -> None:
        """Put the terminal's cursor at (r, x): resend a few cells, step forward, or jump."""
        at = self._at
        if at == (r, x):
            return
        if at is not None and at[0] == r and at[1] < x:
            skipped = row[at[1] : x]
            if len(skipped) <= _RESEND and all(
                cell is not None and self._shows(cell) for cell in skipped
            ):
                emit("".join(cell[0] for cell in skipped if cell is not None))
                return
            emit(f"\x1b[{x - at[1]}C" if x - at[1] > 1 else "\x1b[C")
            return
        emit(f"\x1b[{r + 1};{x + 1}H")

    def _shows(self, cell: Cell) -> bool:
        """Whether drawing ``cell`` again in the style in force draws it exactly."""
        have = self.have
        if have is None:
            return False
        return cell[1] == (_blank_key(have) if cell[0] == " " else have)

    def _style(self, emit: Any, want: State | None, *, blank: bool = False) -> None:
        """Put the terminal in ``want`` (for a blank: only what a blank shows)."""
        have = self.have
        if want is None or want == have:
            return
        if blank and have is not None and 7 not in want[0]:
            if _blank_key(have) == want:
                return
            attrs, fg, bg, ul = want
            # keep what a blank does not show as it is: the next text may need it anyway
            hidden = have[0] - _SHOWN_ON_BLANK
            want = (attrs | hidden, fg or have[1], bg, ul or have[3])
        emit(transition(have, want))
        self.have = want

    def _cursor(self, emit: Any) -> None:
        """Leave the terminal's cursor where the stream left it (the app may show it there)."""
        if self._moved:  # the line ends start from where the stream's cursor was
            if self._pos is not None and self._at != self._pos:
                emit(f"\x1b[{self._pos[0] + 1};{self._pos[1] + 1}H")
            emit("".join(self._moved))
            self._moved.clear()
            self._at = self._pos = None
        elif self._pos is not None and self._at != self._pos:
            emit(f"\x1b[{self._pos[0] + 1};{self._pos[1] + 1}H")
            self._at = self._pos

    def _verbatim(self, emit: Any, first: str, rest: Any) -> None:
        """Send ``first`` and the rest of the write as written; the picture is lost."""
        self._cursor(emit)
        self._style(emit, self.want)
        emit(first)
        for m in rest:
            emit(m.group(0))
            if m.group(1) is not None:
                self.want = _parse(m.group(1), self.want)
        self.have = self.want
        self.forget()
        self._pos = None


def _terminal_size() -> os.terminal_size | None:
    """The size of the terminal Textual draws on (its stderr), if it is one."""
    try:
        return os.get_terminal_size(sys.__stderr__.fileno() if sys.__stderr__ else 2)
    except (OSError, ValueError):
        return None


def squeezing(driver_class: type[Driver], diff: ScreenDiff | None = None) -> type[Driver]:
    """``driver_class`` writing through ``diff`` (a new :class:`ScreenDiff` if not given).

    The terminal's size is checked before each write: a resized terminal has
    reflowed what it shows, so the picture is forgotten and the write goes whole
    (every write, when the output is not a terminal whose size can be read).
    """

    class Squeezing(driver_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.screen_diff = diff or ScreenDiff()
            self._size = _terminal_size()

        def write(self, data: str) -> None:
            size = _terminal_size()
            if size is None or size != self._size:  # not a terminal (a web page?): send all
                self._size = size
                self.screen_diff.forget()
            super().write(self.screen_diff(data))

    Squeezing.__name__ = Squeezing.__qualname__ = f"Squeezing{driver_class.__name__}"
    return Squeezing

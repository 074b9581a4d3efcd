"""The diffed terminal stream draws exactly what Textual's own stream draws, in fewer bytes.

A small terminal model (cursor moves, text, SGR, erase) replays both streams
and the resulting screens, every cell's character and style, must be equal.
"""

from __future__ import annotations

import re

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ticktape.ui.output import ScreenDiff, transition


class Screen:
    """Cells of (character, style); a style is the set of SGR attributes in force."""

    def __init__(self, cols: int = 40, rows: int = 4) -> None:
        self.cols, self.rows = cols, rows
        self.cells = [[(" ", frozenset[str]())] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.bold = self.dim = self.italic = self.underline = self.reverse = False
        self.fg = self.bg = ""

    @property
    def style(self) -> frozenset[str]:
        flags = ("bold", "dim", "italic", "underline", "reverse")
        on = {f for f in flags if getattr(self, f)}
        return frozenset(on | {f"fg={self.fg}", f"bg={self.bg}"})

    def feed(self, data: str) -> None:
        for m in re.finditer(r"\x1b\[([0-9;?]*)([A-Za-z])|([^\x1b])", data):
            params, final, char = m.groups()
            if char is not None:
                if char == "\n":
                    self.y += 1
                elif char != "\r":
                    self.cells[self.y][self.x] = (char, self.style)
                    self.x = min(self.x + 1, self.cols - 1)
            elif final == "H":
                row, _, col = params.partition(";")
                self.y, self.x = int(row or 1) - 1, int(col or 1) - 1
            elif final == "C":
                self.x = min(self.x + int(params or 1), self.cols - 1)
            elif final == "K":  # erase to the end of the line, in the current background
                for x in range(self.x, self.cols):
                    self.cells[self.y][x] = (" ", frozenset({f"fg={self.fg}", f"bg={self.bg}"}))
            elif final == "m":
                self._sgr(params.split(";") if params else ["0"])

    def _sgr(self, codes: list[str]) -> None:
        i = 0
        while i < len(codes):
            n = int(codes[i] or 0)
            if n == 0:
                self.bold = self.dim = self.italic = self.underline = self.reverse = False
                self.fg = self.bg = ""
            elif n in (38, 48):
                take = 3 if codes[i + 1] == "5" else 5
                colour = ":".join(codes[i + 1 : i + take])
                if n == 38:
                    self.fg = colour
                else:
                    self.bg = colour
                i += take - 1
            elif n in (39, 49):
                self.fg, self.bg = ("", self.bg) if n == 39 else (self.fg, "")
            elif 30 <= n <= 37 or 90 <= n <= 97:
                self.fg = str(n)
            elif 40 <= n <= 47 or 100 <= n <= 107:
                self.bg = str(n)
            else:
                flag, value = {
                    1: ("bold", True),
                    2: ("dim", True),
                    3: ("italic", True),
                    4: ("underline", True),
                    7: ("reverse", True),
                    23: ("italic", False),
                    24: ("underline", False),
                    27: ("reverse", False),
                }.get(n, ("", False))
                if n == 22:
                    self.bold = self.dim = False
                elif flag:
                    setattr(self, flag, value)
                else:
                    raise AssertionError(f"the model does not know SGR {n}")
            i += 1


def render(*lines: tuple[int, int, list[Segment]]) -> str:
    """What Textual writes for these (row, column, segments) chops."""
    out = []
    for y, x, segments in lines:
        out.append(f"\x1b[{y + 1};{x + 1}H")
        out.append(Strip(segments).render(_console()))
    return "".join(out)


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(color_system="truecolor", force_terminal=True)


def drawn(data: str) -> list[list[tuple[str, frozenset[str]]]]:
    """What each cell shows: a blank shows its background (and reverse or underline), not
    its foreground colour or boldness."""
    screen = Screen()
    screen.feed(data)
    hidden = {"bold", "dim", "italic"}
    return [
        [
            (ch, style - hidden - {s for s in style if s.startswith("fg=")})
            if ch == " " and "reverse" not in style
            else (ch, style)
            for ch, style in row
        ]
        for row in screen.cells
    ]


BG = Style(bgcolor="#0d1117")
UP = Style(color="#3fb950") + BG
DOWN = Style(color="#f85149") + BG
FLASH = Style(bold=True, bgcolor="#1c4328")
MUTED = Style(color="#8f959b") + BG

FRAMES = [
    render(
        (0, 0, [Segment(" ", BG), Segment("AAPL   ", BG), Segment(" ", BG), Segment("226.3", UP)]),
        (1, 0, [Segment(" ", BG), Segment("MSFT   ", BG), Segment(" ", BG), Segment("42.1", DOWN)]),
    ),
    render((0, 12, [Segment("226.4", UP + FLASH), Segment(" ", BG), Segment("+1.2", UP + FLASH)])),
    render((2, 0, [Segment("09:30:01", MUTED), Segment(" 12.5", DOWN), Segment("x", None)])),
    render((3, 0, [Segment("bold", Style(bold=True, dim=True, italic=True, reverse=True))]))
    + render((3, 5, [Segment("plain", Style(bold=True)), Segment("u", Style(underline=True))])),
    "\x1b[1;1H\x1b[1;38;5;196;48;5;16mX\x1b[0m\r\n\x1b[2;1H\x1b[38;5;196;48;5;16mY\x1b[0mZ\x1b[K",
    # reversed blanks show their foreground (and bold): they are drawn in full
    render((3, 10, [Segment("  ", Style(reverse=True, bold=True, color="red")), Segment("x", UP)])),
    render((3, 10, [Segment("  ", Style(reverse=True, color="red")), Segment("x", UP)])),
    # a wide character is not modelled: the rest of that write goes as it is
    render((2, 20, [Segment("A", UP), Segment("株", DOWN), Segment("B", UP)])),
    render((2, 20, [Segment("A", UP), Segment("C", DOWN), Segment("B", UP)])),
]


def test_every_frame_draws_the_same_screen_in_fewer_bytes() -> None:
    squeeze = ScreenDiff()
    original = squeezed = ""
    for frame in FRAMES:
        original += frame
        squeezed += squeeze(frame)
        assert drawn(squeezed) == drawn(original)
    assert len(squeezed) < len(original) * 0.7


def test_runs_of_one_style_cost_one_style_change() -> None:
    frame = render((0, 0, [Segment("a", UP), Segment("b", UP), Segment("c", UP)]))
    squeezed = ScreenDiff()(frame)
    assert squeezed.count("\x1b[") == 3  # the move, the style, the final reset
    assert drawn(squeezed) == drawn(frame)


def test_only_changed_cells_are_sent_again() -> None:
    diff = ScreenDiff()
    row = [Segment(" AAPL   ", BG), Segment("  226.31", UP), Segment(" ", BG), Segment("1.2M", BG)]
    first = diff(render((0, 0, row)))
    assert "AAPL" in first
    assert diff(render((0, 0, row))) == "", "the same row again: nothing to send"
    row[1] = Segment("  226.35", UP)
    again = diff(render((0, 0, row)))
    assert re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", again) == "5", "one digit changed"
    assert drawn(first + again) == drawn(render((0, 0, row)))


def test_a_resized_terminal_gets_the_whole_frame() -> None:
    diff = ScreenDiff()
    frame = render((0, 0, [Segment("AAPL", UP)]))
    diff(frame)
    diff.forget()
    assert "AAPL" in diff(frame)


def test_each_write_leaves_the_terminal_in_the_style_the_original_left() -> None:
    squeeze = ScreenDiff()
    squeeze(render((0, 0, [Segment("a", UP)])))
    # the next write starts with unstyled text: it must not inherit UP
    later = "\x1b[2;1Hplain"
    screen_squeezed = Screen()
    screen_squeezed.feed(squeeze(render((0, 0, [Segment("a", UP)]))) + squeeze(later))
    assert screen_squeezed.cells[1][0] == drawn(later)[1][0]


@pytest.mark.parametrize(
    "have,want",
    [
        ((frozenset({1}), "", "", ""), (frozenset({2}), "", "", "")),  # 22 clears both
        ((frozenset({1, 2}), "31", "", ""), (frozenset({2}), "31", "", "")),
        ((frozenset(), "38;2;1;2;3", "48;5;4", ""), (frozenset(), "", "48;5;4", "")),
    ],
)
def test_transitions_reach_the_wanted_style(
    have: tuple[frozenset[int], str, str, str], want: tuple[frozenset[int], str, str, str]
) -> None:
    def sgr(state: tuple[frozenset[int], str, str, str]) -> str:
        codes = [str(a) for a in sorted(state[0])] + [c for c in state[1:] if c]
        return "\x1b[0;" + ";".join(codes) + "m"

    via_transition = Screen()
    via_transition.feed(sgr(have) + transition(have, want) + "x")
    direct = Screen()
    direct.feed(sgr(want) + "x")
    assert via_transition.cells[0][0] == direct.cells[0][0]


def test_escapes_it_does_not_model_pass_through_and_force_a_full_style() -> None:
    # a cursor restore (ESC 8) restores a style it cannot know: passed on as written...
    unknown = "\x1b[1;1H\x1b[38;5;1mA\x1b7\x1b[0mB\x1b8\x1b[38;5;1mC\x1b[0m"
    squeeze = ScreenDiff()
    assert squeeze(unknown) == unknown
    # ...and the next write is sent whole, its styles as changes again
    out = squeeze("\x1b[1;1H\x1b[38;5;1;1mD\x1b[1;38;5;1mE\x1b[0m")
    assert out == "\x1b[1;1H\x1b[1;38;5;1mDE\x1b[0m"

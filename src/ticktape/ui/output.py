"""The same screen in fewer bytes: rewrites what Textual sends so style changes cost less.

Textual renders every styled run as ``ESC[<all of its style>m text ESC[0m``;
:class:`SgrSqueeze` tracks the style the terminal has and sends only the
change to the next run's style (nothing when runs share a style, one colour
when only the colour changes). What the terminal shows is exactly what it
would have shown. See docs/ui.md ("How a frame becomes bytes").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from textual.driver import Driver

#: SGR, any other CSI, OSC (ends with BEL or ST), any other escape, or a run of text.
_TOKEN: Final = re.compile(
    r"\x1b\[([0-9;]*)m|(\x1b\[[0-9;?<>=$ ]*[@-~])|(\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))"
    r"|(\x1b.?)|([^\x1b]+)",
    re.S,
)
#: CSIs that only move the cursor: they do not depend on the current style.
_MOVES: Final = frozenset("ABCDEFGHdf")
#: Text that paints nothing (Textual starts every line with a cursor move anyway).
_BLANK: Final = re.compile(r"[\r\n]+").fullmatch

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


def _parse(params: str, state: State | None) -> State | None:
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


class SgrSqueeze:
    """Rewrites a terminal stream so each style change sends only what changed.

    The style the stream asks for is applied lazily, right before anything
    that draws (text, an erase); cursor moves do not need it, so a run of
    moves between runs of the same style costs no style bytes at all. The
    state carries over from one write to the next, and each write ends with
    the terminal in the style the original stream would have left it in.
    """

    def __init__(self) -> None:
        self.have: State | None = DEFAULT
        self.want: State | None = DEFAULT

    def __call__(self, data: str) -> str:
        out: list[str] = []
        emit = out.append
        for m in _TOKEN.finditer(data):
            sgr, csi, _osc, other, text = m.groups()
            if sgr is not None:
                self.want = _parse(sgr, self.want)
                if self.want is None:  # not modelled: send it as it is
                    emit(m.group(0))
                    self.have = None
                continue
            if (csi is not None and csi[-1] in _MOVES) or (text is not None and _BLANK(text)):
                emit(m.group(0))  # moves and line ends paint nothing: no style needed yet
                continue
            self._sync(emit)
            emit(m.group(0))
            if other is not None:  # e.g. a cursor restore, which restores a style too
                self.have = self.want = None
        self._sync(emit)
        return "".join(out)

    def _sync(self, emit: Any) -> None:
        want = self.want
        if want is None or want == self.have:
            return
        emit(transition(self.have, want))
        self.have = want


def squeezing(driver_class: type[Driver]) -> type[Driver]:
    """``driver_class`` writing through an :class:`SgrSqueeze`."""

    class Squeezing(driver_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._squeeze = SgrSqueeze()

        def write(self, data: str) -> None:
            super().write(self._squeeze(data))

    Squeezing.__name__ = Squeezing.__qualname__ = f"Squeezing{driver_class.__name__}"
    return Squeezing

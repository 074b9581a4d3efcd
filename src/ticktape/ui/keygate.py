"""Keys are handed on one at a time, each only once the one before it has taken effect.

So quick typing reaches the prompt a key opened; nothing is dropped. See docs/ui.md (keys).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

#: Marks sent behind every key: one takes the key's own path, the next ones follow what it
#: caused (an Input's Submitted, a palette command queued on the app).
MIN_ROUNDS: Final = 2
#: After this many rounds the key's effects are taken as settled (a screen that never settles
#: must not stop the keyboard).
MAX_ROUNDS: Final = 12
#: A mark can be lost only with a widget on its way (removed meanwhile): once one is gone and
#: the mark has been out this long, the next key goes, so the keyboard never stalls. A slow
#: app (a loaded machine) is waited for: only after :data:`GIVE_UP_S` is the mark given up.
LOST_MARK_S: Final = 2.0
GIVE_UP_S: Final = 30.0


class KeyMark(Message):
    """Sent right behind a key to the widget that got it; bubbles back to the app like the key."""

    def __init__(self, round_id: int) -> None:
        super().__init__()
        self.round_id = round_id


def screen_ready(screen: Screen[object]) -> bool:
    """Mounted, and focused on something if it has anything to focus (a prompt's input)."""
    if not screen.is_mounted:
        return False
    return screen.focused is not None or not screen.focus_chain


def screen_quiet(screen: Screen[object]) -> bool:
    """No widget of ``screen`` has messages waiting.

    Why: a key's effects may branch off the path the marks take. Enter in the
    command palette, with one command listed, selects it through a message to the
    list, which then closes the palette; a mark back from the input says nothing
    about that branch. Asked of pop-up screens only: the main screen's panes
    repaint on a timer and always have something queued.
    """
    return all(node.message_queue_size == 0 for node in (screen, *screen.walk_children()))


class KeyGate:
    """The app's key queue; see the module docstring.

    ``deliver`` is Textual's own key handling (``App.on_event``): priority bindings,
    then the focused widget.
    """

    def __init__(self, app: App[Any], deliver: Callable[[events.Key], Awaitable[None]]) -> None:
        self.app = app
        self._deliver = deliver
        self._queue: deque[events.Key] = deque()
        self._busy = False
        self._round = 0
        self._rounds_done = 0
        self._seen: tuple[object, ...] = ()
        self._sent_at = 0.0
        self._target: Widget | None = None
        #: Keys whose effects have settled (for tests: "every key typed has been handled").
        self.done = 0
        #: Keys handed on after a lost mark, and after :data:`MAX_ROUNDS` (for tests).
        self.stalls = 0
        self.overruns = 0

    async def key(self, event: events.Key) -> None:
        """A key read from the terminal: hand it on now if the gate is free, else queue it."""
        self._queue.append(event)
        if not self._busy:
            await self._next()

    async def _next(self) -> None:
        while self._queue and not self._busy:
            event = self._queue.popleft()
            self._busy = True
            self._rounds_done = 0
            await self._deliver(event)
            self._send_mark()

    def _state(self) -> tuple[object, ...]:
        app = self.app
        return (len(app.screen_stack), app.screen, app.focused)

    def _send_mark(self) -> None:
        app = self.app
        self._round += 1
        self._seen = self._state()
        self._sent_at = time.monotonic()
        target: Widget = app.focused or app.screen
        self._target = target
        if not target.post_message(KeyMark(self._round)):  # closing: nothing to wait for
            app.post_message(KeyMark(self._round))

    async def mark_back(self, mark: KeyMark) -> None:
        """A mark reached the app: the key (and what the last round saw it cause) is done."""
        if not self._busy or mark.round_id != self._round:
            return  # a mark from a round given up on (see check_stalled)
        self._rounds_done += 1
        screen = self.app.screen
        settled = (
            self._rounds_done >= MIN_ROUNDS
            and self._state() == self._seen
            and screen_ready(screen)
            and (screen is self.app.screen_stack[0] or screen_quiet(screen))
        )
        if settled or self._rounds_done >= MAX_ROUNDS:
            self.overruns += not settled
            self._busy = False
            self.done += 1
            await self._next()
        else:
            self._send_mark()

    def _path_gone(self) -> bool:
        """A widget between the mark's target and the app has closed or left the DOM."""
        node: DOMNode | None = self._target
        while isinstance(node, Widget):  # up to the app, which is not a Widget
            if not node.is_running or not node.is_attached:
                return True
            node = node.parent
        return False

    async def check_stalled(self) -> None:
        """From a timer: a mark lost with its widget must not stop the keyboard."""
        if not self._busy:
            return
        waited = time.monotonic() - self._sent_at
        if (waited > LOST_MARK_S and self._path_gone()) or waited > GIVE_UP_S:
            self._busy = False
            self.done += 1
            self.stalls += 1
            await self._next()

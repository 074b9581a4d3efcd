"""Injected faults (drops, bad frames, stalls, REST errors), so a client's recovery can be seen.

See docs/simulator.md (faults).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final

# Kinds of damage, each exercising a different recovery path in a client's decoder:
# not JSON at all, an element of unknown type, and an element with a wrongly typed field.
_UNKNOWN_ELEMENT: Final = b'{"ev":"ZZZ","sym":"?"},'
_BAD_ELEMENT: Final = b'{"ev":"T","sym":"AAPL","p":"not-a-price","s":1,"t":0},'


class Faults:
    """Fault switches (drop, damage, stall, REST errors, kick); all off by default."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._drop_after: float | None = None
        self._malformed = 0.0
        self._stall_until = 0.0
        self._rest_status = 0
        self._rest_left = 0
        self._retry_after = 0.0
        self._kick: Callable[[], None] | None = None
        self._hang: Callable[[bool], None] | None = None

    # --- switches -----------------------------------------------------------------

    def drop_after(self, seconds: float | None) -> None:
        """Drop (abort, as a network failure would) every connection once it is this old."""
        self._drop_after = seconds

    def malformed_fraction(self, fraction: float) -> None:
        """Damage this fraction (0..1) of outgoing data frames."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be within 0..1")
        self._malformed = fraction

    def stall(self, seconds: float) -> None:
        """Look hung for ``seconds`` from now (0 ends a stall).

        No data is sent (events generated meanwhile are lost) and the connections
        open now are not read, so their pings go unanswered: a client's default
        liveness check (no frames and no pong) must notice, not only a data
        timeout. Connections made during the stall are read as usual.
        """
        self._stall_until = self._clock() + seconds
        if self._hang is not None:
            self._hang(seconds > 0)

    def rest_errors(self, status: int, count: int, *, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` REST requests with ``status`` (429 or 500)."""
        if status not in (429, 500):
            raise ValueError("status must be 429 or 500")
        self._rest_status, self._rest_left, self._retry_after = status, count, retry_after

    def kick_all(self) -> None:
        """Drop every connection now (the server aborts them like a network failure)."""
        if self._kick is not None:
            self._kick()

    # --- used by the server -------------------------------------------------------

    def bind_kick(self, kick: Callable[[], None]) -> None:
        self._kick = kick

    def bind_hang(self, hang: Callable[[bool], None]) -> None:
        """``hang(True)`` stops reading the open connections; ``hang(False)`` resumes."""
        self._hang = hang

    def stalled(self) -> bool:
        return self._clock() < self._stall_until

    def should_drop(self, opened_at: float) -> bool:
        """Whether a connection opened at ``opened_at`` (clock seconds) has outlived drop_after."""
        return self._drop_after is not None and self._clock() - opened_at >= self._drop_after

    def corrupt(self, data: bytes) -> bytes:
        """Return ``data`` or, with the malformed fraction's probability, a damaged copy."""
        if self._malformed == 0.0 or self._rng.random() >= self._malformed:
            return data
        kind = self._rng.randrange(3)
        if kind == 0:
            return data[: max(1, len(data) // 2)]
        return b"[" + (_UNKNOWN_ELEMENT if kind == 1 else _BAD_ELEMENT) + data[1:]

    def take_rest_error(self) -> tuple[int, float] | None:
        """Consume one pending REST error: ``(status, retry_after_seconds)`` or None."""
        if self._rest_left <= 0:
            return None
        self._rest_left -= 1
        return self._rest_status, self._retry_after

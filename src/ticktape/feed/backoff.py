"""Capped exponential backoff with full jitter, for reconnecting forever.

See docs/protocol.md (reconnecting).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

_MAX_EXPONENT: Final = 64


class Backoff:
    """Waits of ``ceiling(k) = min(cap, base * factor**k)`` for the k-th retry.

    Each wait is drawn uniformly from ``[ceiling * (1 - jitter), ceiling]``:
    ``jitter=1`` is full jitter, ``jitter=0`` is no randomness at all.
    """

    __slots__ = ("_random", "attempt", "base", "cap", "factor", "jitter", "reset_after")

    def __init__(
        self,
        *,
        base: float = 0.5,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 60.0,
        random_fn: Callable[[], float] | None = None,
    ) -> None:
        if base <= 0 or cap < base or factor < 1 or not 0.0 <= jitter <= 1.0:
            raise ValueError("need 0 < base <= cap, factor >= 1 and 0 <= jitter <= 1")
        self.base = base
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        #: Seconds a connection must stay up before the next drop starts from scratch.
        self.reset_after = reset_after
        self._random = random_fn if random_fn is not None else random.random
        #: Retries taken since the last reset (the k of "attempt k").
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (0-based)."""
        # The exponent is clamped so a days-long outage cannot overflow the float;
        # 64 doublings are far past any sensible cap anyway.
        return float(min(self.cap, self.base * self.factor ** min(attempt, _MAX_EXPONENT)))

    def next_delay(self) -> float:
        """The wait before the next retry; counts the attempt."""
        top = self.ceiling(self.attempt)
        self.attempt += 1
        return top - self.jitter * top * self._random()

    def reset(self) -> None:
        """Start again from the shortest wait."""
        self.attempt = 0

    def stable(self, up_for: float) -> bool:
        """Reset if a connection stayed up ``up_for`` seconds; say whether it did."""
        if up_for >= self.reset_after:
            self.reset()
            return True
        return False

    def __repr__(self) -> str:
        return (
            f"Backoff(base={self.base}, cap={self.cap}, factor={self.factor}, "
            f"jitter={self.jitter}, attempt={self.attempt})"
        )

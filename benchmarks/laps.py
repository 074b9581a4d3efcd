"""Replaying the corpus lap after lap with time moving forward, at byte level.

Why: a replayed corpus repeats its own times, so from the second lap on a
market state sees every trade as a late print of a minute it has already
closed, and takes its slow path. The live stream is in order; so must the
benchmark be. The memory benchmark shifts decoded events; the end-to-end
sender cannot afford that (a decode and an encode per event would make the
sender the bottleneck), so it shifts the encoded bytes.

How: every time field in the corpus (``t``, ``s``, ``e``, ``trft``; 13 digits
of ms, 16 of µs or 19 of ns) starts with the same 8 digits, each step of
which is worth 100 s whatever the unit. The corpus spans only a few such
steps, so a lap is shifted by replacing those few 8-digit prefixes
(``bytes.replace``, C speed: a few ms per lap). The step is a multiple of
300 s, so minute and second bars stay aligned, and larger than the corpus'
span, so each lap starts after the last one ended.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Final

#: Leading digits replaced; one step of them is 100 s in every wire unit.
PREFIX_DIGITS: Final = 8
STEP_MS: Final = 100_000
#: Laps move in whole multiples of this many prefix steps (300 s: whole minutes).
_ALIGN: Final = 3
_TIME_FIELD: Final = re.compile(rb'"(?:t|s|e|trft)":(\d{8})(?:\d{5}|\d{8}|\d{11})(?![\d.])')


class LapShifter:
    """Shifts frames (or pieces of frames) of one corpus to lap ``k``."""

    def __init__(self, frames: Sequence[bytes]) -> None:
        counts: dict[bytes, int] = {}
        for frame in frames:
            for m in _TIME_FIELD.finditer(frame):
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        if not counts:
            raise ValueError("no time fields in the corpus")
        # The replacement looks for ":" + prefix; make sure nothing but time fields matches.
        for prefix, n in counts.items():
            seen = sum(frame.count(b":" + prefix) for frame in frames)
            if seen != n:
                raise ValueError(f"{seen - n} values that are not times start with {prefix!r}")
        values = sorted(int(p) for p in counts)
        self.prefixes: Final = values
        span = values[-1] - values[0] + 1
        self.step: Final = _ALIGN * math.ceil(span / _ALIGN)  # prefix steps per lap

    @property
    def lap_ms(self) -> int:
        """How far each lap moves time."""
        return self.step * STEP_MS

    def pairs(self, lap: int) -> list[tuple[bytes, bytes]]:
        """The replacements for ``lap`` (none for lap 0)."""
        if lap == 0:
            return []
        out = []
        for p in self.prefixes:
            new = p + lap * self.step
            if new >= 10**PREFIX_DIGITS:
                raise OverflowError("the shifted time no longer fits the field")
            out.append((b":%d" % p, b":%d" % new))
        return out

    @staticmethod
    def apply(data: bytes, pairs: list[tuple[bytes, bytes]]) -> bytes:
        """``data`` with ``pairs`` replaced (no new value equals an old one: see step)."""
        for old, new in pairs:
            data = data.replace(old, new)
        return data

"""ticktape's benchmark suite: ``python -m benchmarks [decode|e2e|ui|startup|memory ...]``.

Every benchmark module exposes ``run(...) -> Result``: a flat dict of named
figures (floats), merged by ``__main__`` into ``benchmarks/results.json``.
Figures are medians of several runs, and every ratio compares two paths
measured in the same run on the same input, so the noise of a shared machine
cancels out of the ratio even when it does not cancel out of the absolute
numbers.

A benchmark whose dependency is missing raises :class:`Unavailable`; the
runner records why and goes on with the others, so one missing piece never
hides the rest of the figures.
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Sequence

#: One benchmark's figures; ``None`` where a figure could not be taken.
Result = dict[str, float | int | str | None]


class Unavailable(Exception):
    """A benchmark cannot run here (a part it measures has not landed, or is broken)."""


def require(*modules: str) -> None:
    """Import ``modules`` or raise :class:`Unavailable` naming the one that has not landed."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise Unavailable(f"{name} is not available: {err}") from err


def median(values: Sequence[float]) -> float:
    """Median of the runs (the figure every benchmark reports)."""
    return float(statistics.median(values))


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` when both exist and ``b`` is positive, else ``None``."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values`` (which need not be sorted)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100.0 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])

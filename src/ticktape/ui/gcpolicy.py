"""When the app collects garbage: once at quiet moments, then freeze what is alive.

Pure policy over :mod:`gc`, called by the app and its feed link; see docs/ui.md.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, at a quiet moment, then keep what is alive out of later collections.

    Why: a full (oldest-generation) collection scans every live container —
    Textual's DOM and styles, tens of thousands of minute bars — and took
    40–50 ms here, several times a minute under load: the slowest ticker
    switches were such pauses. What is alive after start-up or a history
    load is long-lived by nature, so :func:`gc.freeze` takes it out of their
    reach (reference counting still frees it); collecting first means no
    garbage cycle is frozen. :func:`release` undoes it.
    """
    gc.collect()
    gc.freeze()


def release() -> None:
    """What dies with the app (its DOM's cycles) must be collectable again."""
    gc.unfreeze()

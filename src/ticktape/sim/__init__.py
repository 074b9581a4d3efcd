"""The embedded Polygon-compatible simulator (WebSocket + REST).

``Simulator`` is imported lazily so that code needing only
:class:`~ticktape.sim.process.SimProcess` (the app) does not load the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ticktape.sim.server import Simulator

__all__ = ["Simulator"]


def __getattr__(name: str) -> Any:
    if name == "Simulator":
        from ticktape.sim.server import Simulator

        return Simulator
    raise AttributeError(name)

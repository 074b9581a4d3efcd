"""The status words a hub sends its clients about its own upstream connection.

Defined once: the hub says them, the app's status bar reads them (and the
session ignores them: they end nothing downstream). See docs/hub.md.
"""

from __future__ import annotations

import math
from typing import Final

from ticktape.feed.events import Status

PREFIX: Final = "upstream_"
#: Not about the upstream: how many clients share the hub ("2 clients on this hub").
CLIENTS: Final = "hub_clients"
CONNECTED: Final = "upstream_connected"
CONNECTING: Final = "upstream_connecting"
RECONNECTING: Final = "upstream_reconnecting"
OFFLINE: Final = "upstream_offline"
AUTH_FAILED: Final = "upstream_auth_failed"
KICKED: Final = "upstream_kicked"
SLOW_CONSUMER: Final = "upstream_slow_consumer"
STOPPED: Final = "upstream_stopped"

#: Session state (``ConnState`` value) → the word the hub says for it.
WORDS: Final[dict[str, str]] = {
    "connecting": CONNECTING,
    "authenticating": CONNECTING,
    "subscribing": CONNECTING,
    "live": CONNECTED,
    "reconnecting": RECONNECTING,
    "offline": OFFLINE,
    "auth_failed": AUTH_FAILED,
    "kicked": KICKED,
    "slow_consumer": SLOW_CONSUMER,
    "stopped": STOPPED,
}

_PHRASES: Final[dict[str, str]] = {
    CONNECTED: "upstream connected",
    CONNECTING: "upstream connecting",
    RECONNECTING: "upstream reconnecting",
    OFFLINE: "upstream offline",
    AUTH_FAILED: "upstream rejected the hub's API key",
    KICKED: "upstream evicted by another connection using the hub's API key",
    SLOW_CONSUMER: "upstream dropped the hub for reading too slowly",
    STOPPED: "upstream stopped",
}


def upstream_status(state: str, reason: str = "", retry_in: float | None = None) -> Status:
    """The status event for an upstream session in ``state`` (a ``ConnState`` value).

    The message is for people: "upstream reconnecting in 4 s: connection lost (1006)".
    """
    word = WORDS.get(state, RECONNECTING)
    text = _PHRASES[word]
    if retry_in is not None:
        text += (
            f" in {max(1, math.ceil(retry_in))} s"
            if word == RECONNECTING
            else (f", retrying in {max(1, math.ceil(retry_in))} s")
        )
    if reason and word in (RECONNECTING, OFFLINE):
        text += f": {reason}"
    return Status(status=word, message=text)


def is_upstream(status: str) -> bool:
    """Whether a server status is a hub's word about its upstream."""
    return status.startswith(PREFIX)


def is_hub_word(status: str) -> bool:
    """Whether a server status is any of a hub's own words (routine, never an alarm)."""
    return is_upstream(status) or status == CLIENTS


def upstream_ok(status: str) -> bool:
    """Whether an upstream word says data flows (or is about to)."""
    return status in (CONNECTED, CONNECTING)


def clients_status(count: int) -> Status:
    return Status(status=CLIENTS, message=f"{count} client{'s' if count != 1 else ''} on this hub")


def client_count(status: Status) -> int | None:
    """The count in a :data:`CLIENTS` status, or None for any other status."""
    if status.status != CLIENTS:
        return None
    head = status.message.split(" ", 1)[0]
    return int(head) if head.isdigit() else None

"""The words of the websocket protocol that both sides use: client actions, server status
words and the messages that carry a subscription's outcome. The client (feed/protocol.py)
and the simulator (sim/protocol.py) both speak from here. See docs/protocol.md.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from ticktape.feed.events import Status, encode

# -- what a monitor subscribes --------------------------------------------------------------

#: Channels a monitor subscribes per market (LULD feeds the chart's band lines and halt alerts).
MONITOR_CHANNELS: Final[dict[str, tuple[str, ...]]] = {
    "stocks": ("T", "Q", "AM", "LULD", "NOI"),
    "forex": ("C", "CA"),
    "crypto": ("XT", "XQ", "XA"),
}
#: The channel behind each tape mode, per market (forex has quotes only).
TAPE_CHANNELS: Final[dict[str, dict[str, str]]] = {
    "stocks": {"trades": "T", "quotes": "Q"},
    "forex": {"quotes": "C"},
    "crypto": {"trades": "XT", "quotes": "XQ"},
}

#: Length of one REST aggregate bar per timespan (months and longer rounded up: callers use it
#: only to size windows safely).
TIMESPAN_MS: Final[dict[str, int]] = {
    "second": 1_000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
    "month": 31 * 86_400_000,
    "quarter": 92 * 86_400_000,
    "year": 366 * 86_400_000,
}

# -- client actions: {"action": ..., "params": ...} --------------------------------------

AUTH: Final = "auth"
SUBSCRIBE: Final = "subscribe"
UNSUBSCRIBE: Final = "unsubscribe"


class Action(msgspec.Struct):
    """A client message: ``{"action": "...", "params": "..."}``."""

    action: str
    params: str = ""


_action_decoder: Final = msgspec.json.Decoder(Action)
_encode_action: Final = msgspec.json.Encoder().encode


def action_text(action: str, params: str) -> str:
    """One client message as the text frame sent for it."""
    return _encode_action(Action(action, params)).decode()


def parse_action(data: str | bytes) -> Action | None:
    """Decode one client message, or ``None`` when it is not a well-formed action."""
    try:
        return _action_decoder.decode(data)
    except msgspec.DecodeError:
        return None


def param(channel: str, symbol: str) -> str:
    """A subscription as the params name it: ``("T", "AAPL")`` → ``"T.AAPL"``."""
    return f"{channel}.{symbol}"


# -- server status words (the ``status`` field of an ``ev: "status"`` event) ---------------

CONNECTED: Final = "connected"
AUTH_SUCCESS: Final = "auth_success"
AUTH_FAILED: Final = "auth_failed"
AUTH_TIMEOUT: Final = "auth_timeout"
AUTH_REQUIRED: Final = "auth_required"
MAX_CONNECTIONS: Final = "max_connections"
SLOW_CONSUMER: Final = "slow_consumer"
FORCE_DISCONNECT: Final = "force_disconnect"
SUCCESS: Final = "success"
ERROR: Final = "error"
#: What ``ticktape replay`` sends after the last recorded event: the feed is quiet from
#: now on by design. Not an ending (the server keeps the connection open); the UI says
#: "replay finished" instead of reporting a silent feed.
REPLAY_FINISHED: Final = "replay_finished"


def subscribed_message(p: str) -> str:
    return f"subscribed to: {p}"


def unsubscribed_message(p: str) -> str:
    return f"unsubscribed to: {p}"  # sic: the server's own wording


def refusal_message(p: str) -> str:
    """What the server says to a subscription the plan does not include."""
    return f"You are not authorized to subscribe to: {p}"


_REFUSED: Final = re.compile(r"not authorized to subscribe to:?\s*(.+)$", re.IGNORECASE)


def refused_params(message: str) -> tuple[str, ...]:
    """The subscriptions a status message says the plan lacks, e.g. ``("Q.TSLA",)`` from
    "You are not authorized to subscribe to: Q.TSLA"; empty for any other message.

    The connection goes on (the rest of the subscription stands), so this is not an
    ending: the UI uses it to say on screen which data the plan does not include.
    """
    m = _REFUSED.search(message)
    if m is None:
        return ()
    return tuple(p for p in (part.strip() for part in m.group(1).split(",")) if p)


def frame(*statuses: Status) -> bytes:
    """Encode statuses as one server frame (a JSON array)."""
    return encode(list(statuses))

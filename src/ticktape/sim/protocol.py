"""The simulator's side of the WebSocket protocol: actions in, status messages out.

Pure functions and one small class, no sockets, so every rule of
``shared/protocol.md`` that is about *content* (which statuses, which
wording, which channels a cluster has, what a subscription matches) can be
tested without a server. The server (:mod:`ticktape.sim.server`) only moves
bytes and keeps per-connection state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from ticktape.feed.events import BY_TAG, Event, Status, encode

CLUSTERS: Final = ("stocks", "forex", "crypto")

#: Channels (wire ``ev`` tags) each cluster serves.
CHANNELS: Final[dict[str, frozenset[str]]] = {
    "stocks": frozenset({"T", "Q", "A", "AM", "LULD", "NOI"}),
    "forex": frozenset({"C", "CA", "CAS"}),
    "crypto": frozenset({"XT", "XQ", "XL2", "XA", "XAS"}),
}

#: Event Struct type → wire tag, so fan-out never asks msgspec for a tag per event.
TAG_OF: Final[dict[type, str]] = {cls: tag for tag, cls in BY_TAG.items()}
STATUS_TAG: Final = TAG_OF[Status]

# Statuses whose wording follows the spec's examples (protocol.md lists the values).
CONNECTED: Final = Status(status="connected", message="Connected Successfully")
AUTH_SUCCESS: Final = Status(status="auth_success", message="authenticated")
AUTH_FAILED: Final = Status(status="auth_failed", message="authentication failed")
AUTH_TIMEOUT: Final = Status(status="auth_timeout", message="no authentication received in time")
AUTH_REQUIRED: Final = Status(status="auth_required", message="you must authenticate first")
MAX_CONNECTIONS: Final = Status(
    status="max_connections",
    message="Maximum number of websocket connections exceeded. You have reached the connection "
    "limit for your account. Please contact support to increase your limit.",
)
SLOW_CONSUMER: Final = Status(
    status="slow_consumer",
    message="Your connection was closed because you were consuming messages too slowly.",
)

# Wire text is untrusted: symbols are short and drawn from a small alphabet
# ("BRK.B", "EUR/USD", "BTC-USD", "C:EURUSD").
_SYMBOL = re.compile(r"[A-Za-z0-9.:/^_-]{1,32}")
_ECHO_LIMIT: Final = 64  # longest piece of client text echoed back in an error


class Action(msgspec.Struct):
    """A client message: ``{"action": "...", "params": "..."}``."""

    action: str
    params: str = ""


_action_decoder: Final = msgspec.json.Decoder(Action)


def parse_action(data: str | bytes) -> Action | None:
    """Decode one client message, or ``None`` when it is not a well-formed action."""
    try:
        return _action_decoder.decode(data)
    except msgspec.DecodeError:
        return None


def frame(*statuses: Status) -> bytes:
    """Encode statuses as one wire frame (a JSON array)."""
    return encode(list(statuses))


def error(message: str) -> Status:
    return Status(status="error", message=message)


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "..."


def split_param(param: str) -> tuple[str, str] | None:
    """``"T.AAPL"`` → ``("T", "AAPL")``; ``"T.BRK.B"`` → ``("T", "BRK.B")``; bad → None."""
    tag, dot, symbol = param.partition(".")
    if not dot or not tag or not (symbol == "*" or _SYMBOL.fullmatch(symbol)):
        return None
    return tag, symbol


class Subscriptions:
    """What one connection asked for: whole channels (``T.*``) and single topics (``T.AAPL``).

    Topics are kept as the wire strings so fan-out can test each event with one
    set lookup against a topic string computed once per event per tick, shared
    by every connection.
    """

    __slots__ = ("topics", "wild")

    def __init__(self) -> None:
        self.wild: set[str] = set()
        self.topics: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.wild or self.topics)

    def add(self, tag: str, symbol: str) -> None:
        if symbol == "*":
            self.wild.add(tag)
        else:
            self.topics.add(f"{tag}.{symbol}")

    def remove(self, tag: str, symbol: str) -> None:
        if symbol == "*":
            self.wild.discard(tag)
        else:
            self.topics.discard(f"{tag}.{symbol}")

    def select(
        self,
        events: list[Event],
        tags: Sequence[str],
        present: frozenset[str],
        topics: Sequence[str],
    ) -> list[Event]:
        """The events this connection wants.

        ``tags`` and ``topics`` are parallel to ``events`` (``topics`` may be empty
        when no connection subscribes to single topics); ``present`` is the set of
        tags in ``events``, so a connection taking every channel present (the
        firehose) gets the list as is, with no per-event work.
        """
        wild, wanted = self.wild, self.topics
        if present <= wild:
            return events
        if STATUS_TAG in present:  # a status from the source (a replay's end) is for everyone
            wild = wild | {STATUS_TAG}
        if not wanted:
            return [e for e, tag in zip(events, tags, strict=True) if tag in wild]
        return [
            e
            for e, tag, topic in zip(events, tags, topics, strict=True)
            if tag in wild or topic in wanted
        ]


def apply_action(
    action: Action,
    subs: Subscriptions,
    cluster: str,
    refused: Iterable[str] = (),
) -> tuple[list[Status], list[str]]:
    """Apply a post-auth action to ``subs``.

    Returns the statuses to send (one per param for subscribe/unsubscribe) and
    the symbols newly subscribed to, which the caller makes exist in its market.
    """
    if action.action == "auth":
        return [error("already authenticated")], []
    if action.action not in ("subscribe", "unsubscribe"):
        return [error(f"unknown action: {_echo(action.action)}")], []
    subscribing = action.action == "subscribe"
    channels = CHANNELS[cluster]
    refused_set = set(refused)
    replies: list[Status] = []
    symbols: list[str] = []
    for param in action.params.split(","):
        if not param:
            continue
        parsed = split_param(param)
        if parsed is None or parsed[0] not in channels:
            replies.append(error(f"invalid subscription: {_echo(param)}"))
            continue
        tag, symbol = parsed
        if subscribing and tag in refused_set:
            replies.append(error(f"You are not authorized to subscribe to: {param}"))
            continue
        if subscribing:
            subs.add(tag, symbol)
            if symbol != "*":
                symbols.append(symbol)
            replies.append(Status(status="success", message=f"subscribed to: {param}"))
        else:
            subs.remove(tag, symbol)
            replies.append(Status(status="success", message=f"unsubscribed to: {param}"))
    return replies, symbols


def tags_of(events: Sequence[Event]) -> list[str]:
    """Wire tag of each event, computed once per tick for all connections."""
    return [TAG_OF[type(e)] for e in events]


def topics_of(events: Sequence[Event], tags: Sequence[str]) -> list[str]:
    """Topic (``"T.AAPL"``) of each event; only needed when someone subscribed to one."""
    return [f"{tag}.{e.key}" for tag, e in zip(tags, events, strict=True)]

"""The Polygon websocket protocol, server side, without I/O: actions in, statuses out.

The words both sides use are in feed/wire.py; the client's side is feed/protocol.py.
The engine (server/engine.py) only moves bytes and keeps per-connection state; the
simulator, the replay server and the hub all serve through it. See docs/hub.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Final

import msgspec

from ticktape.feed import wire
from ticktape.feed.events import BY_TAG, Event, Status
from ticktape.feed.wire import Action, frame, parse_action

__all__ = ["Action", "frame", "parse_action"]  # the wire's, re-exported for the server

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


def _key_getter(cls: type) -> Callable[[Any], str] | None:
    """A C-level getter of the field behind ``cls.key`` (the property is Python code)."""
    names = {f.name for f in msgspec.structs.fields(cls)}
    name = "symbol" if "symbol" in names else "pair" if "pair" in names else None
    return None if name is None else attrgetter(name)


#: Event Struct type → a fast getter of its symbol or pair (no entry: no key, a status).
KEY_OF: Final[dict[type, Callable[[Any], str]]] = {
    cls: getter for cls in BY_TAG.values() if (getter := _key_getter(cls)) is not None
}

# The simulator's wording of the statuses (docs/protocol.md lists the status words).
CONNECTED: Final = Status(status=wire.CONNECTED, message="Connected Successfully")
AUTH_SUCCESS: Final = Status(status=wire.AUTH_SUCCESS, message="authenticated")
AUTH_FAILED: Final = Status(status=wire.AUTH_FAILED, message="authentication failed")
AUTH_TIMEOUT: Final = Status(status=wire.AUTH_TIMEOUT, message="no authentication received in time")
AUTH_REQUIRED: Final = Status(status=wire.AUTH_REQUIRED, message="you must authenticate first")
MAX_CONNECTIONS: Final = Status(
    status=wire.MAX_CONNECTIONS,
    message="Maximum number of websocket connections exceeded. You have reached the connection "
    "limit for your account. Please contact support to increase your limit.",
)
SLOW_CONSUMER: Final = Status(
    status=wire.SLOW_CONSUMER,
    message="Your connection was closed because you were consuming messages too slowly.",
)

# Wire text is untrusted: symbols are short and drawn from a small alphabet
# ("BRK.B", "EUR/USD", "BTC-USD", "C:EURUSD").
_SYMBOL = re.compile(r"[A-Za-z0-9.:/^_-]{1,32}")
_ECHO_LIMIT: Final = 64  # longest piece of client text echoed back in an error


def error(message: str) -> Status:
    return Status(status=wire.ERROR, message=message)


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

    def __len__(self) -> int:
        return len(self.wild) + len(self.topics)

    def params(self) -> set[str]:
        """Every param held, as the wire spells it (``"T.*"``, ``"Q.AAPL"``)."""
        return {wire.param(tag, "*") for tag in self.wild} | self.topics

    def has(self, tag: str, symbol: str) -> bool:
        return tag in self.wild if symbol == "*" else wire.param(tag, symbol) in self.topics

    def add(self, tag: str, symbol: str) -> None:
        if symbol == "*":
            self.wild.add(tag)
        else:
            self.topics.add(wire.param(tag, symbol))

    def remove(self, tag: str, symbol: str) -> None:
        if symbol == "*":
            self.wild.discard(tag)
        else:
            self.topics.discard(wire.param(tag, symbol))

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
    if action.action == wire.AUTH:
        return [error("already authenticated")], []
    if action.action not in (wire.SUBSCRIBE, wire.UNSUBSCRIBE):
        return [error(f"unknown action: {_echo(action.action)}")], []
    subscribing = action.action == wire.SUBSCRIBE
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
            replies.append(error(wire.refusal_message(param)))
            continue
        if subscribing:
            subs.add(tag, symbol)
            if symbol != "*":
                symbols.append(symbol)
            replies.append(Status(status=wire.SUCCESS, message=wire.subscribed_message(param)))
        else:
            subs.remove(tag, symbol)
            replies.append(Status(status=wire.SUCCESS, message=wire.unsubscribed_message(param)))
    return replies, symbols


def tags_of(events: Sequence[Event]) -> list[str]:
    """Wire tag of each event, computed once per tick for all connections."""
    return [TAG_OF[type(e)] for e in events]


def topics_of(events: Sequence[Event], tags: Sequence[str]) -> list[str]:
    """Topic (``"T.AAPL"``) of each event; only needed when someone subscribed to one."""
    return [f"{tag}.{e.key}" for tag, e in zip(tags, events, strict=True)]

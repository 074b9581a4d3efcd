"""The NATS subject scheme and the small messages hubs exchange besides market data.

Pure functions and Structs, no I/O, so every naming rule is testable without a
server. See docs/nats.md.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from ticktape.feed.events import BY_TAG

PREFIX: Final = "ticktape"
#: Seconds between the origin's repeats of each status (its heartbeat).
EVERY: Final = 2.0
#: Characters that may stand raw in a token: printable ASCII less the NATS
#: separators/wildcards (``.``, ``*``, ``>``) and our escape character ``%``.
_RAW: Final = frozenset(chr(c) for c in range(0x21, 0x7F)) - set(".*>%")
#: Event Struct type → wire tag (``ev``), for grouping a frame by channel.
TAG_OF: Final[dict[type, str]] = {cls: tag for tag, cls in BY_TAG.items()}


def escape(symbol: str) -> str:
    """A symbol as one NATS token: ``BRK.B`` → ``BRK%2EB``; ``EUR/USD`` stays as is.

    Anything outside printable ASCII, and ``.``, ``*``, ``>``, ``%``, becomes
    ``%XX`` per UTF-8 byte, so the mapping is reversible and never ambiguous.
    """
    if not symbol:
        raise ValueError("an empty symbol has no subject")
    if all(ch in _RAW for ch in symbol):
        return symbol
    return "".join(ch if ch in _RAW else "".join(f"%{b:02X}" for b in ch.encode()) for ch in symbol)


def unescape(token: str) -> str:
    """The symbol a token stands for (the inverse of :func:`escape`)."""
    if "%" not in token:
        return token
    out = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "%":
            out.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            out.extend(token[i].encode())
            i += 1
    return out.decode()


class Subjects:
    """Every subject of one deployment; ``prefix`` lets two origins share one NATS."""

    def __init__(self, prefix: str = PREFIX) -> None:
        if not prefix or any(ch not in _RAW and ch != "." for ch in prefix):
            raise ValueError(f"bad subject prefix {prefix!r}")
        self.prefix = prefix
        self.rest = f"{prefix}.rest"
        self.origin = f"{prefix}.origin"  # the origin says it (re)started: edges re-announce
        self.interest_all = f"{prefix}.interest.*"

    def channel(self, cluster: str, tag: str) -> str:
        """A frame's events of one channel, all symbols (for edges holding ``T.*``)."""
        return f"{self.prefix}.md.{cluster}.{tag}"

    def topic(self, cluster: str, tag: str, symbol: str) -> str:
        """A frame's events of one symbol on one channel (for edges holding ``T.AAPL``)."""
        return f"{self.prefix}.md.{cluster}.{tag}.{escape(symbol)}"

    def for_param(self, cluster: str, param: str) -> str:
        """The subject carrying a wire param: ``T.*`` → channel, ``T.BRK.B`` → topic."""
        tag, _, symbol = param.partition(".")
        if not tag or not symbol:
            raise ValueError(f"bad param {param!r}")
        return self.channel(cluster, tag) if symbol == "*" else self.topic(cluster, tag, symbol)

    def status(self, cluster: str) -> str:
        return f"{self.prefix}.status.{cluster}"

    def interest(self, edge_id: str) -> str:
        return f"{self.prefix}.interest.{escape(edge_id)}"


class StatusNote(msgspec.Struct, omit_defaults=True):
    """The origin's upstream state for one cluster, repeated every ``every`` seconds.

    ``state`` is a session state value (``live``, ``reconnecting``...): the edge
    shows it as its own upstream state, so its clients read the origin's truth.
    ``refused`` lists params the upstream said the plan lacks.
    """

    origin: str
    state: str
    reason: str = ""
    retry_in: float | None = None
    every: float = EVERY
    refused: list[str] = []


class Interest(msgspec.Struct, omit_defaults=True):
    """What an edge's clients hold, per cluster; valid for ``ttl`` seconds.

    Sent whenever it changes and every ``ttl / 3`` seconds; an empty ``params``
    is a goodbye. A vanished edge's interest ages out at the origin.
    """

    edge: str
    ttl: float
    params: dict[str, list[str]] = {}


encode_note = msgspec.json.Encoder().encode
decode_status: Final = msgspec.json.Decoder(StatusNote).decode
decode_interest: Final = msgspec.json.Decoder(Interest).decode


CLUSTERS: Final = ("stocks", "forex", "crypto")
MAX_PARAMS: Final = 10_000  # per edge and cluster, as a hub allows one client
# What a wire param may look like (the protocol server's own alphabet for symbols).
_PARAM: Final = re.compile(r"[A-Z0-9]{1,5}\.(\*|[A-Za-z0-9.:/^_-]{1,32})")


def valid_params(params: dict[str, list[str]]) -> dict[str, set[str]]:
    """The params of an announcement that may go upstream: known clusters, well-formed
    params, at most :data:`MAX_PARAMS` each. The bus is shared, so this is untrusted."""
    return {
        cluster: ok
        for cluster, wanted in params.items()
        if cluster in CLUSTERS
        for ok in [{p for p in wanted[:MAX_PARAMS] if _PARAM.fullmatch(p)}]
        if ok
    }


def covered(params: set[str] | frozenset[str]) -> set[str]:
    """The params to hold on the bus: every wanted one, less topics a wildcard covers."""
    wild = {p[:-2] for p in params if p.endswith(".*")}
    return {p for p in params if p.endswith(".*") or p.partition(".")[0] not in wild}

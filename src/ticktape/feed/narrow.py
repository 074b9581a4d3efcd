"""A narrow decode for a whole-market stream: what the market view's boards read, nothing more.

Trades become :class:`Print` (the seven fields a block needs), the boards' rarer events keep
their full Structs, and every other event is a field-less stub msgspec fills by skipping the
element. See docs/performance.md (the whole-market path).
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Final

import msgspec
from msgspec import field

from ticktape.feed.decode import DecodeStats
from ticktape.feed.events import EVENT_TYPES, Imbalance, LimitUpLimitDown, MinuteAgg, Status, Trade

_OPTS: Final = {"gc": False, "tag_field": "ev"}


class Print(msgspec.Struct, tag="T", **_OPTS):
    """A stock trade as the block filter reads it: a :class:`~ticktape.feed.events.Trade`
    without the id, tape, sequence and TRF time nobody on the boards looks at."""

    symbol: str = field(name="sym")
    price: float = field(name="p")
    size: int = field(name="s")
    timestamp: int = field(name="t")
    exchange: int = field(name="x", default=0)
    conditions: tuple[int, ...] = field(name="c", default=())
    trf_id: int | None = field(name="trfi", default=None)


#: The events the boards read whole (rare: a bar a symbol a minute, halts, auctions).
KEPT: Final = (MinuteAgg, LimitUpLimitDown, Imbalance, Status)


def _stub(tag: str) -> type[msgspec.Struct]:
    return msgspec.defstruct(f"Skipped{tag}", [], tag=tag, tag_field="ev", gc=False)


def _tag(cls: type[msgspec.Struct]) -> str:
    return str(cls.__struct_config__.tag)


#: A stub for every other tag of the wire: quotes, second bars, forex and crypto.
STUBS: Final = tuple(
    _stub(_tag(cls)) for cls in EVENT_TYPES if cls is not Trade and cls not in KEPT
)
_union: Any = functools.reduce(operator.or_, (Print, *KEPT, *STUBS))
_frame_decoder: Final = msgspec.json.Decoder(list[_union])
_one_decoder: Final = msgspec.json.Decoder(_union)
_raw_list_decoder: Final = msgspec.json.Decoder(list[msgspec.Raw])


class MarketDecoder:
    """Decodes whole-market frames narrowly; never raises. Bad elements are counted and
    dropped (by kind only as "bad": the full :class:`~ticktape.feed.decode.Decoder` of the
    watchlist path is the one that names them)."""

    __slots__ = ("stats",)

    def __init__(self, stats: DecodeStats | None = None) -> None:
        self.stats = stats if stats is not None else DecodeStats()

    def decode(self, frame: bytes | str) -> list[Any]:
        stats = self.stats
        stats.frames += 1
        try:
            events: list[Any] = _frame_decoder.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError):
            events = self._slow(frame)
        stats.events += len(events)
        return events

    def _slow(self, frame: bytes | str) -> list[Any]:
        try:
            raws = _raw_list_decoder.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self.stats.count_error("bad")
            return []
        out = []
        for raw in raws:
            try:
                out.append(_one_decoder.decode(raw))
            except (msgspec.ValidationError, msgspec.DecodeError):
                self.stats.count_error("bad")
        return out

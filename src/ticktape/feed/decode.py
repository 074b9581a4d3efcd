"""Frame decoder: one WebSocket frame's bytes → a list of typed events; never raises.

Bad elements are skipped and counted by kind. See docs/performance.md.
"""

from __future__ import annotations

from typing import Final

import msgspec

from ticktape.feed.events import Event

#: Failure kinds counted by :class:`DecodeStats`.
NOT_JSON: Final = "not_json"
NOT_ARRAY: Final = "not_array"
NOT_OBJECT: Final = "not_object"
UNKNOWN_EV: Final = "unknown_ev"
MISSING_FIELD: Final = "missing_field"
BAD_TYPE: Final = "bad_type"


class DecodeStats:
    """Running counts of frames, events and failures by kind.

    A plain mutable object (not a Struct) because the session updates it in
    place for every frame and the status bar reads it on a timer.
    """

    __slots__ = ("errors", "events", "frames")

    def __init__(self) -> None:
        self.frames = 0
        self.events = 0
        self.errors: dict[str, int] = {}

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def __repr__(self) -> str:
        return f"DecodeStats(frames={self.frames}, events={self.events}, errors={self.errors})"


_frame_decoder: Final = msgspec.json.Decoder(list[Event])
_raw_list_decoder: Final = msgspec.json.Decoder(list[msgspec.Raw])
_raw_decoder: Final = msgspec.json.Decoder(msgspec.Raw)
_one_decoder: Final = msgspec.json.Decoder(Event)


def _classify(err: msgspec.ValidationError) -> str:
    """Map a msgspec validation message to a failure kind."""
    msg = str(err)
    if "`$.ev`" in msg or msg.endswith("field `ev`"):
        # An unknown tag value, or no tag at all: not an event we know.
        return UNKNOWN_EV
    if "missing required field" in msg:
        return MISSING_FIELD
    if msg.startswith("Expected `object`"):
        return NOT_OBJECT
    return BAD_TYPE


class Decoder:
    """Decodes frames, counting failures in :attr:`stats`.

    One instance per connection (or per consumer) so counts belong to it.
    """

    __slots__ = ("stats",)

    def __init__(self, stats: DecodeStats | None = None) -> None:
        self.stats = stats if stats is not None else DecodeStats()

    def decode(self, frame: bytes | str) -> list[Event]:
        """Decode one frame; never raises. Invalid elements are counted and dropped."""
        stats = self.stats
        stats.frames += 1
        try:
            events = _frame_decoder.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError):
            events = self._slow(frame)
        stats.events += len(events)
        return events

    def _slow(self, frame: bytes | str) -> list[Event]:
        """Per-element fallback: keep every valid event, count the rest."""
        stats = self.stats
        try:
            raws = _raw_list_decoder.decode(frame)
        except msgspec.ValidationError:
            # Valid JSON but not an array: accept a lone event object liberally.
            try:
                raws = [_raw_decoder.decode(frame)]
            except msgspec.DecodeError:  # pragma: no cover - validated above
                stats.count_error(NOT_JSON)
                return []
            if not isinstance(msgspec.json.decode(frame), dict):
                stats.count_error(NOT_ARRAY)
                return []
        except msgspec.DecodeError:
            stats.count_error(NOT_JSON)
            return []
        out: list[Event] = []
        for raw in raws:
            try:
                out.append(_one_decoder.decode(raw))
            except msgspec.ValidationError as err:
                stats.count_error(_classify(err))
            except msgspec.DecodeError:  # pragma: no cover - Raw is valid JSON
                stats.count_error(NOT_JSON)
        return out


_default = Decoder()


def decode_frame(frame: bytes | str) -> list[Event]:
    """Decode with a module-level :class:`Decoder` (handy in scripts and tests)."""
    return _default.decode(frame)

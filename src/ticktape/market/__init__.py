"""Market state: quotes, tape ring buffers, bars, conflation. Pure, no I/O."""

from ticktape.feed.conditions import CONDITIONS, Condition, flags_for, is_odd_lot
from ticktape.market.bars import TIMEFRAMES, Bar
from ticktape.market.minutes import MinuteBars
from ticktape.market.state import MarketState
from ticktape.market.symbol import Depth, SymbolState
from ticktape.market.tape import (
    MarketTape,
    NoticeEntry,
    ObjectRing,
    QuoteEntry,
    QuoteTape,
    TapeEntry,
    TradeTape,
)

__all__ = [
    "CONDITIONS",
    "TIMEFRAMES",
    "Bar",
    "Condition",
    "Depth",
    "MarketState",
    "MarketTape",
    "MinuteBars",
    "NoticeEntry",
    "ObjectRing",
    "QuoteEntry",
    "QuoteTape",
    "SymbolState",
    "TapeEntry",
    "TradeTape",
    "flags_for",
    "is_odd_lot",
]

"""Market state: quotes, tape ring buffers, bars, conflation. Pure, no I/O."""

from ticktape.feed.conditions import CONDITIONS, Condition, flags_for, is_odd_lot
from ticktape.market.bars import TIMEFRAMES, Bar, MinuteBars
from ticktape.market.state import MarketState
from ticktape.market.symbol import SymbolState
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

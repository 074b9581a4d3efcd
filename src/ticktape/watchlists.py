"""Named watchlists as the config file holds them: names, symbols, columns and sort, checked.

Pure (no Textual, no file access), so settings are checked before the UI loads; the
edits that keep them in the file are :mod:`ticktape.watchliststore`. See docs/config.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

#: The list the top-level ``watchlist = [...]`` key holds.
DEFAULT_NAME: Final = "default"
NAME_MAX: Final = 24
#: Words of the palette's phrases (``watchlist new NAME``): a list so named could not be reached.
RESERVED: Final = frozenset({"new", "rename", "delete"})
#: The watchlist's column keys, in display order (ui/watchlist.py builds its columns on them).
COLUMN_KEYS: Final = (
    *("symbol", "last", "change", "change_pct", "extended", "bid", "ask", "spread"),
    *("volume", "vwap", "position", "avg_cost", "market_value", "day_pnl", "total_pnl"),
    "total_pct",
)
#: Position columns: shown only with P&L on (``P``).
PNL_KEYS: Final = frozenset(
    {"position", "avg_cost", "market_value", "day_pnl", "total_pnl", "total_pct"}
)
#: The quote columns a list shows when its table names none.
QUOTE_KEYS: Final = tuple(k for k in COLUMN_KEYS if k not in PNL_KEYS)
MANUAL: Final = "manual"
TABLE_KEYS: Final = ("symbols", "columns", "sort", "descending")


@dataclass(frozen=True, slots=True)
class NamedList:
    """One watchlist. ``symbols`` is None for a ``[watchlists.default]`` table that sets only
    how the top-level list is shown."""

    name: str
    symbols: tuple[str, ...] | None = ()
    #: The columns shown (symbol always); () shows every quote column. P&L columns follow
    #: ``P`` unless some are named here.
    columns: tuple[str, ...] = ()
    sort: str | None = None  # a column key, or None for the user's own order
    descending: bool = True

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """Every column this list may show, in display order (before fitting the width)."""
        named = set(self.columns) or set(QUOTE_KEYS)
        if not named & PNL_KEYS:
            named |= PNL_KEYS
        return tuple(k for k in COLUMN_KEYS if k in named or k == "symbol")


def columns_setting(shown: Iterable[str]) -> tuple[str, ...]:
    """What a list's ``columns`` says for the columns ``shown``: () for all of them; the
    P&L columns only when some of them are hidden (else they follow ``P``)."""
    shown = tuple(shown)
    quote = tuple(k for k in shown if k not in PNL_KEYS)
    pnl = tuple(k for k in shown if k in PNL_KEYS)
    if set(pnl) == PNL_KEYS:
        pnl = ()
    return () if not pnl and set(quote) == set(QUOTE_KEYS) else quote + pnl


def normal(x: NamedList) -> NamedList:
    """``x`` as the file would read back: with no sort, the direction means nothing."""
    if x.sort is None and not x.descending:
        return NamedList(x.name, x.symbols, x.columns, None, True)
    return x


def default_descending(sort: str | None) -> bool:
    """Numbers high first, symbols A→Z (as ``s`` sorts)."""
    return sort != "symbol"


def parse_symbols(value: Any) -> tuple[str, ...]:
    """A list of symbols (or the comma-separated form), upper-cased, blanks dropped."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError('must be a list of symbols, like ["AAPL", "MSFT"]')
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f'{show(item)} is not a symbol (write it in quotes, like "AAPL")')
    return tuple(dict.fromkeys(s.strip().upper() for s in items if s.strip()))


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a watchlist, or None."""
    if not isinstance(name, str):
        return "must be text"
    if not name.strip():
        return "must not be empty"
    if name != name.strip():
        return "must not start or end with a space"
    if len(name) > NAME_MAX:
        return f"is longer than {NAME_MAX} characters"
    if not name.isprintable():
        return "must be printable text (no tabs, line breaks or control characters)"
    if name.lower() in RESERVED:
        return "is a word of the palette's phrases (watchlist new / rename / delete)"
    return None


def check_name(name: Any) -> str:
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return str(name)


def parse_columns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError('must be a list of column names, like ["symbol", "last", "change_pct"]')
    unknown = [v for v in value if v not in COLUMN_KEYS]
    if unknown:
        raise ValueError(f"{show(unknown[0])} is not a column (one of {', '.join(COLUMN_KEYS)})")
    if not value:
        raise ValueError("must name at least one column (leave it out for all of them)")
    return tuple(dict.fromkeys(value))


def parse_sort(value: Any) -> str | None:
    if not isinstance(value, str) or (value != MANUAL and value not in COLUMN_KEYS):
        raise ValueError(f'must be "{MANUAL}" or a column ({", ".join(COLUMN_KEYS)})')
    return None if value == MANUAL else value


def parse_list(name: str, value: Any) -> NamedList:
    """One entry of ``[watchlists]``: a table, or just an array of symbols."""
    if isinstance(value, list | str):
        return NamedList(name, parse_symbols(value))
    if not isinstance(value, Mapping):
        raise ValueError(
            "must be a table (symbols, columns, sort, descending) or a list of symbols"
        )
    for key in value:
        if key not in TABLE_KEYS:
            raise ValueError(f"{key}: unknown key (a list has {', '.join(TABLE_KEYS)})")
    out: dict[str, Any] = {}
    parsers = {"symbols": parse_symbols, "columns": parse_columns, "sort": parse_sort}
    for key, parse in parsers.items():
        if key in value:
            try:
                out[key] = parse(value[key])
            except ValueError as err:
                raise ValueError(f"{key} = {show(value[key])}: {err}") from None
    descending = value.get("descending", default_descending(out.get("sort")))
    if not isinstance(descending, bool):
        raise ValueError(f"descending = {show(descending)}: must be true or false")
    # with no sort the direction means nothing (it is kept in the file for the next sort)
    return normal(
        NamedList(name, out.get("symbols"), out.get("columns", ()), out.get("sort"), descending)
    )


def parse_watchlists(value: Any) -> tuple[NamedList, ...]:
    """``[watchlists.NAME]`` tables (or ``NAME = [...]`` arrays) → lists, in file order.

    Every message names the list's table, as a user would look for it in the file.
    """
    if isinstance(value, tuple) and all(isinstance(v, NamedList) for v in value):
        return value  # built in code (Settings.with_, tests)
    if not isinstance(value, Mapping):
        raise ValueError("watchlists: must be tables, like [watchlists.tech]")
    out: list[NamedList] = []
    seen: dict[str, str] = {}
    for name, table in value.items():
        where = f"[watchlists.{show_key(name)}]"
        problem = name_problem(name)
        if problem is not None:
            raise ValueError(f"{where}: the name {problem}")
        if name.lower() in seen:
            other = show_key(seen[name.lower()])
            raise ValueError(f"{where}: the name differs from [watchlists.{other}] only in case")
        seen[name.lower()] = name
        try:
            parsed = parse_list(name, table)
        except ValueError as err:
            raise ValueError(f"{where} {err}") from None
        if parsed.symbols is None and name != DEFAULT_NAME:  # only the default's may be elsewhere
            parsed = NamedList(name, (), parsed.columns, parsed.sort, parsed.descending)
        out.append(parsed)
    return tuple(out)


def show(value: Any) -> str:
    """A value as TOML would write it (strings quoted)."""
    if isinstance(value, str):  # JSON's escapes are TOML's; control characters come out escaped
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value) if not isinstance(value, int | float) else str(value)


def show_key(name: str) -> str:
    """A table key as TOML writes it: bare when it can be, else quoted."""
    bare = name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    return name if bare else show(name)


def find(lists: Iterable[NamedList], name: str) -> NamedList | None:
    """The list called ``name`` (letter case aside)."""
    return next((x for x in lists if x.name.lower() == name.lower()), None)

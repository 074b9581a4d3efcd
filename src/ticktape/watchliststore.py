"""Named watchlists kept in the config file: each app edit changes only the keys it means.

``[watchlists.NAME]`` tables (or ``NAME = [...]`` arrays) and ``active_watchlist``,
edited with tomlkit as :func:`ticktape.config.save_watchlist` edits the default list:
comments, layout, CRLF and a BOM survive, writes are atomic with a ``.bak``, and a file
that does not parse is never written. See docs/config.md (named watchlists).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array, InlineTable, Item, Table

from ticktape.config import (
    BOM,
    ConfigFileError,
    _add_top_level,
    _edit_array,
    edit_watchlist,
    read_config_text,
)
from ticktape.safefile import write_atomic
from ticktape.watchlists import (
    DEFAULT_NAME,
    MANUAL,
    NamedList,
    default_descending,
    normal,
    parse_symbols,
    parse_watchlists,
)

#: Top-level keys these edits may change; every other key must come out as it was.
OURS = ("watchlist", "watchlists", "active_watchlist")

Lists = dict[str, NamedList]


def file_lists(data: dict[str, Any]) -> tuple[Lists, str | None]:
    """The lists a parsed file itself holds (the default one only if written there) and its
    ``active_watchlist``: what each edit is checked against."""
    named = {x.name: x for x in parse_watchlists(data.get("watchlists", {}))}
    view = named.pop(DEFAULT_NAME, None)
    out: Lists = {}
    if "watchlist" in data:
        out[DEFAULT_NAME] = replace(
            view or NamedList(DEFAULT_NAME), symbols=parse_symbols(data["watchlist"])
        )
    elif view is not None:
        out[DEFAULT_NAME] = view
    out.update(named)
    active = data.get("active_watchlist")
    return out, active if isinstance(active, str) else None


# -- the edits (text in, text out; each checked before it can be written) ------------------


def edit_list(text: str, wanted: NamedList) -> str:
    """Make the file's list ``wanted.name`` hold ``wanted`` (symbols, columns, sort)."""
    wanted = normal(wanted)

    def change(lists: Lists, active: str | None) -> tuple[Lists, str | None]:
        return {**lists, wanted.name: wanted}, active

    if wanted.name == DEFAULT_NAME and not _holds_symbols(_entry(text, DEFAULT_NAME)):
        text = edit_watchlist(text, list(wanted.symbols or ()))  # watchlist = [...] holds them
    return _edit(text, lambda doc: _sync_list(doc, wanted), change)


def _entry(text: str, name: str) -> Any:
    tables = tomllib.loads(text).get("watchlists")
    return tables.get(name) if isinstance(tables, dict) else None


def edit_active(text: str, name: str) -> str:
    """``active_watchlist = name``."""

    return _edit(text, lambda doc: _set_active(doc, name), lambda lists, _: (lists, name))


def _set_active(doc: tomlkit.TOMLDocument, name: str) -> None:
    if "active_watchlist" in doc:
        doc["active_watchlist"] = name
    else:
        _add_top_level(doc, "active_watchlist", name)


def edit_delete(text: str, name: str, active: str) -> str:
    """Take list ``name`` out of the file (its table, or for the default list its key) and
    make ``active`` the one shown."""

    def apply(doc: tomlkit.TOMLDocument) -> None:
        if name == DEFAULT_NAME and "watchlist" in doc:
            del doc["watchlist"]
        tables = doc.get("watchlists")
        if isinstance(tables, Table | InlineTable) and name in tables:
            del tables[name]
            if not tables:
                del doc["watchlists"]
        _set_active(doc, active)  # the list shown must be one that is still there

    def change(lists: Lists, _: str | None) -> tuple[Lists, str | None]:
        return {k: v for k, v in lists.items() if k != name}, active

    out = _edit(text, apply, change, allow_new_active=True)
    eol = "\r\n" if out.endswith("\r\n") else "\n"
    if out.endswith(eol * 2) and not text.endswith(eol * 2):  # the blank line before the table
        out = out.rstrip("\r\n") + eol
    return out


def edit_rename(text: str, old: NamedList, new: str) -> str:
    """Rename list ``old`` (as the app holds it) to ``new``; a named table keeps its place and
    comments; the default list leaves ``watchlist = [...]`` for a table of its own."""
    renamed = normal(replace(old, name=new))

    def apply(doc: tomlkit.TOMLDocument) -> None:
        tables = doc.get("watchlists")
        held = isinstance(tables, Table | InlineTable) and old.name in tables
        if old.name != DEFAULT_NAME and held:
            assert isinstance(tables, Table | InlineTable)
            _rename_key(tables, old.name, new)
        else:  # the default list, or a list the file lost meanwhile: written anew
            if old.name == DEFAULT_NAME and "watchlist" in doc:
                del doc["watchlist"]
            if held:
                assert isinstance(tables, Table | InlineTable)
                del tables[old.name]
                if not tables:
                    del doc["watchlists"]
            _sync_list(doc, renamed)
        if doc.get("active_watchlist") == old.name:
            doc["active_watchlist"] = new

    def change(lists: Lists, active: str | None) -> tuple[Lists, str | None]:
        out = {k: v for k, v in lists.items() if k != old.name}
        out[new] = renamed
        return out, (new if active == old.name else active)

    return _edit(text, apply, change)


# -- writing --------------------------------------------------------------------------------


def save(path: Path, edit: Callable[[str], str]) -> bool:
    """Apply ``edit`` to the config file; False when nothing needed writing.

    Raises :class:`ConfigFileError`, writing nothing, when the file cannot be parsed now
    or the edit could not be made in place.
    """
    old = read_config_text(path)
    raw = path.read_bytes() if old else b""
    data = (BOM if raw.startswith(BOM.encode()) else "") + edit(old)
    if data.encode("utf-8") == raw:
        return False
    write_atomic(path, data.encode("utf-8"), backup=True)
    return True


def save_list(path: Path, wanted: NamedList) -> bool:
    return save(path, lambda text: edit_list(text, wanted))


def save_active(path: Path, name: str) -> bool:
    return save(path, lambda text: edit_active(text, name))


def save_rename(path: Path, old: NamedList, new: str) -> bool:
    return save(path, lambda text: edit_rename(text, old, new))


def save_delete(path: Path, name: str, active: str) -> bool:
    return save(path, lambda text: edit_delete(text, name, active))


# -- inside the document ----------------------------------------------------------------------


def _edit(
    text: str,
    apply: Callable[[tomlkit.TOMLDocument], None],
    change: Callable[[Lists, str | None], tuple[Lists, str | None]],
    *,
    allow_new_active: bool = False,
) -> str:
    """Parse, ``apply``, dump; then check that the file now says exactly what ``change``
    says it should, and nothing else moved."""
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    plain = text.replace("\r\n", "\n") if crlf else text
    doc = tomlkit.parse(plain)
    if tomlkit.dumps(doc) != plain:  # tomlkit regroups some split tables even unedited
        raise ConfigFileError(
            "the config file's layout cannot be kept by an edit in place (tables of one name"
            " split by others?); the watchlists were not saved, the file is left as is"
        )
    apply(doc)
    out = tomlkit.dumps(doc)
    before, after = tomllib.loads(plain), tomllib.loads(out)
    try:
        want = change(*file_lists(before))
        got = file_lists(after)
    except ValueError as err:  # a list in the file is not valid (edited since the start)
        raise ConfigFileError(f"{err}; the file is left as is") from None
    kept = {k: v for k, v in before.items() if k not in OURS} == {
        k: v for k, v in after.items() if k not in OURS
    }
    if not kept or want[0] != got[0] or (want[1] != got[1] and not allow_new_active):
        raise ConfigFileError("could not update the watchlists in place; the file is left as is")
    return out.replace("\n", "\r\n") if crlf else out


def _sync_list(doc: tomlkit.TOMLDocument, wanted: NamedList) -> None:
    """Write ``wanted`` into its ``[watchlists.NAME]`` entry (the default list's symbols
    only when its table holds them: see :func:`edit_list`)."""
    symbols = list(wanted.symbols or ())
    tables = doc.get("watchlists")
    have = tables.get(wanted.name) if isinstance(tables, Table | InlineTable) else None
    view = _view_record(wanted)
    top = wanted.name == DEFAULT_NAME and not _holds_symbols(have)
    if isinstance(have, Array):  # the short form, NAME = [...]
        _edit_array(have, symbols)
        if view:  # it takes a table now: inline, where the array was
            table = tomlkit.inline_table()
            table.append("symbols", have.copy())
            table.update(view)
            table.trivia.comment_ws = have.trivia.comment_ws  # its comment stays on the line
            table.trivia.comment = have.trivia.comment
            tables[wanted.name] = table  # type: ignore[index]
        return
    created = have is None
    if have is None:
        if top and not view:
            return  # nothing to say beyond watchlist = [...]
        previous = _last_table(tables)
        followed = previous is not None and previous.as_string().endswith("\n\n")
        have = _new_table(doc, wanted.name, None if top else symbols)
    _sync_view(have, wanted)
    if created and followed and isinstance(have, Table):
        have.add(tomlkit.nl())  # the blank line that stood before what follows the lists
    if top or created:
        return
    current = have.get("symbols")
    if isinstance(current, Array) and all(isinstance(v, str) for v in current):
        _edit_array(current, symbols)
    else:
        have["symbols"] = symbols


def _last_table(tables: Any) -> Table | None:
    if not isinstance(tables, Table):
        return None
    found = [v for v in tables.values() if isinstance(v, Table)]
    return found[-1] if found else None


def _holds_symbols(entry: Any) -> bool:
    return isinstance(entry, Array) or (
        isinstance(entry, Table | InlineTable) and "symbols" in entry
    )


def _view_record(wanted: NamedList) -> dict[str, Any]:
    """The view keys a list needs written (none for the plain defaults)."""
    out: dict[str, Any] = {}
    if wanted.columns:
        out["columns"] = list(wanted.columns)
    if wanted.sort is not None:
        out["sort"] = wanted.sort
        if wanted.descending != default_descending(wanted.sort):
            out["descending"] = wanted.descending
    return out


def _sync_view(table: Table | InlineTable, wanted: NamedList) -> None:
    """Change ``columns``, ``sort`` and ``descending`` only where their meaning differs."""
    if tuple(table.get("columns", ())) != wanted.columns:
        if wanted.columns:
            table["columns"] = list(wanted.columns)
        else:
            del table["columns"]
    have_sort = table.get("sort")
    if (None if have_sort in (None, MANUAL) else have_sort) != wanted.sort:
        if wanted.sort is not None:
            table["sort"] = wanted.sort
        else:
            table["sort"] = MANUAL  # said where the user (or the app) said otherwise
    if wanted.sort is None:
        return
    if table.get("descending", default_descending(wanted.sort)) != wanted.descending:
        if wanted.descending == default_descending(wanted.sort):
            del table["descending"]
        else:
            table["descending"] = wanted.descending


def _new_table(
    doc: tomlkit.TOMLDocument, name: str, symbols: list[str] | None
) -> Table | InlineTable:
    """A new ``[watchlists.NAME]`` (``symbols`` first, if any) after the other lists, with
    the blank lines a person would leave around it."""
    tables = doc.get("watchlists")
    if tables is None:
        tables = tomlkit.table(is_super_table=True)
        so_far = tomlkit.dumps(doc)
        if so_far.strip() and not so_far.endswith("\n\n"):
            doc.add(tomlkit.nl())
        doc.append("watchlists", tables)
    new: Table | InlineTable
    if isinstance(tables, InlineTable):
        new = tomlkit.inline_table()
        if symbols is not None:
            new.append("symbols", symbols)
        tables[name] = new
        return new
    new = tomlkit.table()
    if symbols is not None:
        new.append("symbols", symbols)
    last = [v for v in tables.values() if isinstance(v, Table)]
    if last and not last[-1].as_string().endswith("\n\n"):
        last[-1].add(tomlkit.nl())
    tables[name] = new
    return tables[name]  # type: ignore[no-any-return]


def _rename_key(tables: Table | InlineTable, old: str, new: str) -> None:
    """Rename a table's key in place (tomlkit has no public way; the edit is checked after)."""
    container = tables.value
    item = container.item(old)
    if not isinstance(item, Item):  # split around other tables: refused before this point
        raise ConfigFileError("could not rename the list in place; the file is left as is")
    container._replace(old, tomlkit.key(new), item)  # keeps the position and the comments
    if isinstance(item, Table):
        item.invalidate_display_name()  # the header is written from the new key

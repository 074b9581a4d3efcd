"""Lots in ``positions.toml`` beside the config file: ``[[lots]]`` tables a person can edit.

The app edits one table at a time in place with tomlkit (comments and layout stay)
and writes through :func:`ticktape.safefile.write_atomic`; a CSV of lots can be
imported. See docs/positions.md.
"""

from __future__ import annotations

import csv
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import tomlkit
from tomlkit.items import AoT, Table

from ticktape.config import BOM, ConfigFileError, read_config_text
from ticktape.market.positions import Lot, LotError, make_lot, number, parse_date
from ticktape.safefile import write_atomic

FILE_NAME: Final = "positions.toml"
HEADER: Final = (
    "# ticktape positions: one [[lots]] table per lot (see docs/positions.md).\n"
    "# symbol, quantity (negative: short), price; optional date = YYYY-MM-DD and note.\n"
)
CSV_COLUMNS: Final = ("symbol", "quantity", "price", "date", "note")


def positions_path(config_path: Path) -> Path:
    return config_path.parent / FILE_NAME


@dataclass(slots=True)
class Held:
    """A lot and the position of its table in the file (what edits aim at)."""

    table: int
    lot: Lot


@dataclass(slots=True)
class Loaded:
    held: list[Held] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def lot_from_table(table: Any, where: str) -> Lot:
    """A ``[[lots]]`` table as a lot, or a LotError naming ``where`` and what is wrong."""
    if not isinstance(table, dict):
        raise LotError(f"{where}: not a table")
    symbol = table.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise LotError(f"{where}: symbol is missing")
    symbol = symbol.strip().upper()
    try:
        values = []
        for key in ("quantity", "price"):
            value = table.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise LotError(f"{key} is missing or not a number")
            values.append(number(str(value), key))
        opened = table.get("date")
        if isinstance(opened, str):
            opened = parse_date(opened)
        elif opened is not None and not isinstance(opened, date):
            raise LotError("date must be YYYY-MM-DD")
        note = table.get("note", "")
        return make_lot(symbol, values[0], values[1], opened, str(note))
    except LotError as err:
        raise LotError(f"{where} ({symbol}): {err}") from None


def load_lots(path: Path) -> Loaded:
    """The file's lots; a bad one is skipped with a one-line problem and left in the file.
    A missing file has none. Raises :class:`ConfigFileError` when it cannot be read."""
    data = tomllib.loads(read_config_text(path))
    raw = data.get("lots", [])
    out = Loaded()
    if not isinstance(raw, list):
        out.problems.append(f"{path}: lots must be [[lots]] tables; no lot loaded")
        return out
    for i, table in enumerate(raw):
        try:
            out.held.append(Held(i, lot_from_table(table, f"{path.name}: lot {i + 1}")))
        except LotError as err:
            out.problems.append(f"{err}; skipped, left in the file")
    return out


def _record(lot: Lot) -> dict[str, Any]:
    record: dict[str, Any] = {"symbol": lot.symbol, "quantity": lot.quantity, "price": lot.price}
    for key in ("quantity", "price"):
        if float(record[key]).is_integer() and abs(record[key]) < 2**53:
            record[key] = int(record[key])  # 10, not 10.0, in a file a person reads
    if lot.opened is not None:
        record["date"] = lot.opened
    if lot.note:
        record["note"] = lot.note
    return record


def _edit(path: Path, change: Any) -> None:
    """Parse the file, let ``change(aot)`` edit its lots, check, write atomically (with .bak)."""
    old = read_config_text(path)
    raw = path.read_bytes() if path.exists() else b""
    crlf = "\r\n" in old and "\n" not in old.replace("\r\n", "")
    doc = tomlkit.parse((old.replace("\r\n", "\n") if crlf else old) or HEADER)
    aot = doc.get("lots")
    if aot is None:
        aot = tomlkit.aot()
        doc.append("lots", aot)
    elif not isinstance(aot, AoT):
        raise ConfigFileError(f"{path}: lots is not [[lots]] tables; left as is")
    change(aot)
    out = tomlkit.dumps(doc)
    if crlf:
        out = out.replace("\n", "\r\n")
    tomllib.loads(out)  # never write what would not read back
    data = (BOM if raw.startswith(BOM.encode()) else "") + out
    if data.encode("utf-8") != raw:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data.encode("utf-8"), backup=True)


def _table(lot: Lot) -> Table:
    table = tomlkit.table()
    for key, value in _record(lot).items():
        table[key] = value
    return table


def add_lots(path: Path, lots: list[Lot]) -> None:
    def change(aot: AoT) -> None:
        for lot in lots:
            if len(aot) and not aot[-1].as_string().endswith("\n\n"):
                aot[-1].add(tomlkit.nl())  # a blank line between tables, as a person writes
            aot.append(_table(lot))

    _edit(path, change)


def replace_lot(path: Path, table: int, lot: Lot) -> None:
    """Lot ``table`` becomes ``lot``, key by key (its comments and other keys stay)."""

    def change(aot: AoT) -> None:
        if not 0 <= table < len(aot):
            raise ConfigFileError(f"{path}: lot {table + 1} is no longer there; not changed")
        old = aot[table]
        record = _record(lot)
        for key in ("date", "note"):
            if key in old and key not in record:
                del old[key]
        for key, value in record.items():
            if old.get(key) != value:
                old[key] = value

    _edit(path, change)


def remove_lot(path: Path, table: int) -> None:
    def change(aot: AoT) -> None:
        if not 0 <= table < len(aot):
            raise ConfigFileError(f"{path}: lot {table + 1} is no longer there; not deleted")
        del aot[table]

    _edit(path, change)


def by_symbol(held: list[Held]) -> dict[str, list[Held]]:
    out: dict[str, list[Held]] = defaultdict(list)
    for h in held:
        out[h.lot.symbol].append(h)
    return dict(out)


# -- CSV import --------------------------------------------------------------------------------


def read_csv_lots(path: Path) -> tuple[list[Lot], list[str]]:
    """Lots from a CSV with a header row naming ``symbol,quantity,price`` (``date``, ``note``
    optional, any order, any case); a problem per bad row (``FILE line N: …``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        return [], [f"{path}: cannot read it: {getattr(err, 'strerror', None) or err}"]
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        return [], [f"{path}: empty; want a header row: {','.join(CSV_COLUMNS)}"]
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS[:3] if c not in names]
    if missing:
        return [], [
            f"{path} line 1: the header lacks {', '.join(missing)} "
            f"(want {','.join(CSV_COLUMNS)}; date and note optional)"
        ]
    lots: list[Lot] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            problems.append(f"{path} line {line}: {len(row)} cells, the header has {len(names)}")
            continue
        cells = dict(zip(names, (c.strip() for c in row), strict=False))
        table = {k: v for k, v in cells.items() if v}
        try:
            lots.append(lot_from_table(table, f"{path.name} line {line}"))
        except LotError as err:
            problems.append(str(err))
    return lots, problems

"""Alerts in the config file: ``[[alerts]]`` tables a person can edit, kept in place by the app.

The app edits only the tables of alerts it changed, key by key, with tomlkit, and
writes through :func:`ticktape.safefile.write_atomic`, as for the watchlist. See docs/alerts.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, Table

from ticktape.config import BOM, ConfigFileError, read_config_text
from ticktape.market.alerts import RECORD_KEYS, Alert, AlertError, from_record, to_record
from ticktape.safefile import write_atomic


@dataclass(slots=True)
class Loaded:
    """The alerts a config file holds, what was wrong with the others, and every id it uses."""

    alerts: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def assign_ids(tables: Sequence[Any]) -> list[str]:
    """Each table's id: its own ``id``, else one from its position (``3`` for the third).

    A function of the file alone, so the ids given to hand-written alerts at load are
    the ids their tables get at the next save, and the app's edits land on them.
    """
    given = {str(t.get("id")) for t in tables if isinstance(t, dict) and "id" in t}
    out: list[str] = []
    for i, table in enumerate(tables):
        if isinstance(table, dict) and "id" in table:
            out.append(str(table["id"]))
            continue
        n = i + 1
        while str(n) in given:
            n += 1
        given.add(str(n))
        out.append(str(n))
    return out


def load_alerts(path: Path) -> Loaded:
    """The file's alerts; a bad one is skipped with a one-line problem and left in the file.

    Raises :class:`ConfigFileError` when the file itself cannot be read.
    """
    data = tomllib.loads(read_config_text(path))
    raw = data.get("alerts", [])
    out = Loaded()
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        out.problems.append(f"{path}: alerts must be [[alerts]] tables; no alert loaded")
        return out
    ids = assign_ids(raw)
    out.ids = set(ids)
    seen: set[str] = set()
    for i, (table, alert_id) in enumerate(zip(raw, ids, strict=True)):
        where = f"{path}: alert {i + 1}"
        if alert_id in seen:
            out.problems.append(f"{where}: id {alert_id!r} is used twice; skipped")
            continue
        seen.add(alert_id)
        try:
            out.alerts.append(from_record(table, alert_id))
        except AlertError as err:
            out.problems.append(f"{where} ({_said(table)}): {err}; skipped, left in the file")
    return out


def _said(table: dict[str, Any]) -> str:
    return " ".join(str(table.get(k, "")) for k in ("symbol", "when")).strip() or "empty"


def save_alerts(path: Path, alerts: Iterable[Alert], deleted: Iterable[str] = ()) -> bool:
    """Make the file's ``[[alerts]]`` say what ``alerts`` say; False when nothing changed.

    Tables of alerts in ``alerts`` are synced key by key (a condition spelled
    differently but meaning the same is left as typed); tables whose id is in
    ``deleted`` go; new alerts are appended; any other table (a hand edit made
    meanwhile, an alert the app could not read) is left alone. Raises
    :class:`ConfigFileError`, writing nothing, when the file cannot be parsed.
    """
    old = read_config_text(path)
    raw = path.read_bytes() if old else b""
    new = edit_alerts(old, list(alerts), set(deleted))
    data = (BOM if raw.startswith(BOM.encode()) else "") + new
    if data.encode("utf-8") == raw:
        return False
    write_atomic(path, data.encode("utf-8"), backup=True)
    return True


def edit_alerts(text: str, alerts: list[Alert], deleted: set[str]) -> str:
    """``text`` (a config file, BOM removed) with its alerts updated; see :func:`save_alerts`."""
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    doc = tomlkit.parse(text.replace("\r\n", "\n") if crlf else text)
    aot = doc.get("alerts")
    if isinstance(aot, Array) and not aot:  # "alerts = []": an empty AoT as tomlkit writes it
        del doc["alerts"]
        aot = None
    if aot is None:
        aot = tomlkit.aot()
        if alerts:
            doc.append("alerts", aot)
    elif not isinstance(aot, AoT):
        raise ConfigFileError("alerts in the config file is not [[alerts]] tables; left as is")
    mine = {a.id: a for a in alerts}
    ids = assign_ids(list(aot))
    for i in reversed(range(len(ids))):
        if ids[i] in deleted and ids[i] not in mine:
            del aot[i]
            del ids[i]
    synced: set[str] = set()
    for table, alert_id in zip(list(aot), ids, strict=True):
        alert = mine.get(alert_id)
        if alert is not None and alert_id not in synced:
            synced.add(alert_id)
            _sync(table, alert)
    appended = False
    for alert in alerts:
        if alert.id not in synced and alert.id not in ids:
            appended = True
            table = tomlkit.table()
            for key, value in to_record(alert).items():
                table[key] = value
            if len(aot) and not aot[-1].as_string().endswith("\n\n"):
                aot[-1].add(tomlkit.nl())  # a blank line between tables, as a person writes
            aot.append(table)
    keys = list(doc.keys())
    if appended and keys[-1] != "alerts":  # a table follows the alerts in the file
        last = aot[-1]
        if not last.as_string().endswith("\n\n"):
            last.add(tomlkit.nl())  # so the next table is not glued to the new alert
    if not aot and "alerts" in doc:
        del doc["alerts"]  # no tables left: no key either (else tomlkit writes "alerts = []")
    out = tomlkit.dumps(doc)
    if crlf:
        out = out.replace("\n", "\r\n")
    before, after = tomllib.loads(text), tomllib.loads(out)
    if {k: v for k, v in before.items() if k != "alerts"} != {
        k: v for k, v in after.items() if k != "alerts"
    }:
        raise ConfigFileError("could not update the alerts in place; the file is left as is")
    return out


def _sync(table: Table, alert: Alert) -> None:
    """Change only the keys whose meaning differs; add ``id`` so the match stays stable."""
    record = to_record(alert)
    for key in RECORD_KEYS:
        want = record.get(key)
        have = table.get(key)
        if key == "when" and isinstance(have, str) and _same_condition(alert, have):
            continue
        if key == "symbol" and isinstance(have, str) and have.upper() == str(want).upper():
            continue
        if want is None:
            if key in table:
                del table[key]
        elif have != want:
            table[key] = want


def _same_condition(alert: Alert, when: str) -> bool:
    try:
        return from_record({"symbol": "X", "when": when}, "").condition() == alert.condition()
    except AlertError:
        return False

"""``ticktape positions``: list the lots in positions.toml, or import lots from a CSV.

The import is all or nothing: a file with a bad row imports nothing and names
every bad row, so running it again after the fix adds no lot twice. See docs/positions.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ticktape.config import ConfigFileError, default_config_path
from ticktape.market.positions import lot_phrase
from ticktape.positionstore import add_lots, load_lots, positions_path, read_csv_lots


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape positions",
        description="List your lots, or import lots from a CSV (header: symbol,quantity,price"
        " and optionally date (YYYY-MM-DD) and note).",
    )
    p.add_argument("--config", dest="config_path", help="config file path (lots live beside it)")
    sub = p.add_subparsers(dest="action")
    sub.add_parser("list", help="list the lots (the default)")
    imp = sub.add_parser("import", help="add every lot of a CSV file")
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    config = args.config_path or os.environ.get("TICKTAPE_CONFIG")
    path = positions_path(Path(config).expanduser() if config else default_config_path())
    try:
        if args.action == "import":
            return _import(path, args.file)
        return _list(path)
    except ConfigFileError as err:
        print(f"ticktape positions: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"ticktape positions: cannot write {path}: {err.strerror or err}", file=sys.stderr)
        return 1


def _import(path: Path, csv_path: Path) -> int:
    lots, problems = read_csv_lots(csv_path)
    for problem in problems:
        print(f"ticktape positions: {problem}", file=sys.stderr)
    if problems:
        print(f"ticktape positions: nothing imported ({len(problems)} bad)", file=sys.stderr)
        return 1
    if not lots:
        print(f"ticktape positions: {csv_path} has no lots", file=sys.stderr)
        return 1
    add_lots(path, lots)
    print(f"imported {len(lots)} lot{'s' * (len(lots) != 1)} into {path}")
    return 0


def _list(path: Path) -> int:
    loaded = load_lots(path)
    for problem in loaded.problems:
        print(f"ticktape positions: {problem}", file=sys.stderr)
    if not loaded.held:
        print(f"no lots in {path}")
    for held in loaded.held:
        print(f"{held.table + 1:>3}  {held.lot.symbol:<10} {lot_phrase(held.lot)}")
    return 0

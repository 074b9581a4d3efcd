"""positions.toml: lots read, edited in place (comments kept), and imported from a CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ticktape.cli import main as cli_main
from ticktape.market.positions import Lot
from ticktape.positionstore import add_lots, load_lots, read_csv_lots, remove_lot, replace_lot

HAND = """# my lots
[[lots]]
symbol = "AAPL"  # the core holding
quantity = 10
price = 187.5
date = 2025-03-10

[[lots]]
symbol = "MSFT"
quantity = "lots"
price = 400
"""


def test_a_bad_lot_is_named_and_skipped_the_rest_load(tmp_path: Path) -> None:
    path = tmp_path / "positions.toml"
    path.write_text(HAND)
    loaded = load_lots(path)
    assert [h.lot for h in loaded.held] == [Lot("AAPL", 10, 187.5, date(2025, 3, 10))]
    assert loaded.problems == [
        "positions.toml: lot 2 (MSFT): quantity 'lots' is not a number; skipped, left in the file"
    ]
    assert load_lots(tmp_path / "none.toml").held == []


def test_edits_keep_comments_and_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "positions.toml"
    path.write_text(HAND)
    replace_lot(path, 0, Lot("AAPL", 12, 187.5, None, "after the split"))
    text = path.read_text()
    assert text.startswith("# my lots\n")
    assert 'symbol = "AAPL"  # the core holding\nquantity = 12\n' in text
    assert "date" not in text.split("[[lots]]")[1] and 'note = "after the split"' in text
    assert 'quantity = "lots"' in text  # the lot the app could not read is left alone
    assert (tmp_path / "positions.toml.bak").read_text() == HAND
    add_lots(path, [Lot("BTC-USD", 0.125, 61_000.0, date(2025, 3, 11))])
    assert 'price = 400\n\n[[lots]]\nsymbol = "BTC-USD"\nquantity = 0.125\n' in path.read_text()
    remove_lot(path, 1)
    lots = [h.lot for h in load_lots(path).held]
    assert lots == [
        Lot("AAPL", 12, 187.5, None, "after the split"),
        Lot("BTC-USD", 0.125, 61_000.0, date(2025, 3, 11)),
    ]


def test_a_new_file_gets_a_header_that_says_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "positions.toml"
    add_lots(path, [Lot("AAPL", 1, 2.0)])
    assert path.read_text().startswith("# ticktape positions:")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_csv_rows_each_bad_one_named_by_line(tmp_path: Path) -> None:
    csv_path = tmp_path / "lots.csv"
    csv_path.write_text(
        "Symbol,Quantity,Price,Date,Note\n"
        "aapl,10,187.50,2025-03-10,core\n"
        "MSFT,ten,400,,\n"
        "\n"
        "BTC-USD,0.5,61000,2025-31-12,\n"
        "TSLA,-5,250,,short\n"
    )
    lots, problems = read_csv_lots(csv_path)
    assert lots == [
        Lot("AAPL", 10, 187.5, date(2025, 3, 10), "core"),
        Lot("TSLA", -5, 250.0, None, "short"),
    ]
    assert problems == [
        "lots.csv line 3 (MSFT): quantity 'ten' is not a number",
        "lots.csv line 5 (BTC-USD): date '2025-31-12' is not YYYY-MM-DD",
    ]
    (tmp_path / "head.csv").write_text("ticker,qty\nAAPL,1\n")
    assert read_csv_lots(tmp_path / "head.csv")[1] == [
        f"{tmp_path / 'head.csv'} line 1: the header lacks symbol, quantity, price "
        "(want symbol,quantity,price,date,note; date and note optional)"
    ]


def test_the_import_command_is_all_or_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,quantity,price\nAAPL,1,2\nMSFT,1,zero\n")
    assert cli_main(["positions", "--config", str(config), "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv line 3 (MSFT): price 'zero' is not a number" in err
    assert "nothing imported (1 bad)" in err
    assert not (tmp_path / "positions.toml").exists()
    good = tmp_path / "good.csv"
    good.write_text("symbol,quantity,price\nAAPL,1,2\nMSFT,3,4\n")
    assert cli_main(["positions", "--config", str(config), "import", str(good)]) == 0
    assert "imported 2 lots" in capsys.readouterr().out
    assert cli_main(["positions", "--config", str(config)]) == 0
    assert capsys.readouterr().out.split("\n")[:2] == [
        "  1  AAPL       1 @ 2",
        "  2  MSFT       3 @ 4",
    ]

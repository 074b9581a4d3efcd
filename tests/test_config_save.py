"""Saving the watchlist into hand-written config files: only the watchlist changes.

Each corpus file goes through every save the app makes (add at the end, remove,
move, undo's insert) and must come out as the user would have edited it by hand:
every other byte, comment, key and table kept, CRLF and a BOM included.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ticktape.config import (
    ConfigFileError,
    Settings,
    edit_watchlist,
    load_settings,
    save_watchlist,
)
from ticktape.safefile import write_atomic

ADD = ("AAPL", "MSFT", "NVDA")  # `a` NVDA
REMOVE = ("MSFT",)  # `d` on AAPL
MOVE = ("MSFT", "AAPL")  # MSFT moved up
UNDO = ("NVDA", "AAPL", "MSFT")  # undo puts a removed NVDA back at the top

#: name → (the file as a user wrote it, {saved list: the file a user would have written}).
CORPUS: dict[str, tuple[str, dict[tuple[str, ...], str]]] = {
    "multi-line array with a comment": (
        '# my settings\nwatchlist = [\n  "AAPL",  # apple\n  "MSFT",\n]\n',
        {
            ADD: '# my settings\nwatchlist = [\n  "AAPL",  # apple\n  "MSFT",\n  "NVDA",\n]\n',
            REMOVE: '# my settings\nwatchlist = [\n  "MSFT",\n]\n',
            MOVE: '# my settings\nwatchlist = [\n  "MSFT",\n  "AAPL",  # apple\n]\n',
            UNDO: '# my settings\nwatchlist = [\n  "NVDA",\n  "AAPL",  # apple\n  "MSFT",\n]\n',
        },
    ),
    "comments on every line": (
        "# head\n"
        'tz = "UTC"  # zone\n'
        "watchlist = [  # mine\n"
        '    "AAPL",  # apple\n'
        '    "MSFT"  # microsoft\n'
        "]  # end\n"
        "# tail\n",
        {
            ADD: "# head\n"
            'tz = "UTC"  # zone\n'
            "watchlist = [  # mine\n"
            '    "AAPL",  # apple\n'
            '    "MSFT",  # microsoft\n'
            '    "NVDA"\n'
            "]  # end\n"
            "# tail\n",
            REMOVE: "# head\n"
            'tz = "UTC"  # zone\n'
            "watchlist = [  # mine\n"
            '    "MSFT"  # microsoft\n'
            "]  # end\n"
            "# tail\n",
            MOVE: "# head\n"
            'tz = "UTC"  # zone\n'
            "watchlist = [  # mine\n"
            '    "MSFT",  # microsoft\n'
            '    "AAPL"  # apple\n'
            "]  # end\n"
            "# tail\n",
        },
    ),
    "inline tables and keys sharing the prefix": (
        'watchlists = { tech = ["AAPL", "MSFT"], etf = ["SPY"] }\n'
        'watchlist = ["AAPL", "MSFT"]\n'
        'watchlist_columns = ["last", "chg"]\n'
        'watchlist-old = "IBM"\n',
        {
            ADD: 'watchlists = { tech = ["AAPL", "MSFT"], etf = ["SPY"] }\n'
            'watchlist = ["AAPL", "MSFT", "NVDA"]\n'
            'watchlist_columns = ["last", "chg"]\n'
            'watchlist-old = "IBM"\n',
            MOVE: 'watchlists = { tech = ["AAPL", "MSFT"], etf = ["SPY"] }\n'
            'watchlist = ["MSFT", "AAPL"]\n'
            'watchlist_columns = ["last", "chg"]\n'
            'watchlist-old = "IBM"\n',
        },
    ),
    "tables before and after": (
        'theme = "nord"\n'
        'watchlist = ["AAPL", "MSFT"] # saved by hand\n'
        "\n"
        "[ui]\n"
        "watchlist = 3  # not ours: a key of the table\n"
        "\n"
        "[[alerts]]\n"
        'symbol = "AAPL"\n'
        "above = 200.0\n",
        {
            REMOVE: 'theme = "nord"\n'
            'watchlist = ["MSFT"] # saved by hand\n'
            "\n"
            "[ui]\n"
            "watchlist = 3  # not ours: a key of the table\n"
            "\n"
            "[[alerts]]\n"
            'symbol = "AAPL"\n'
            "above = 200.0\n",
        },
    ),
    "no watchlist yet, a table follows": (
        '# settings\ntz = "UTC"\n\n# look\n[ui]\ncompact = true\n',
        {
            ADD: '# settings\ntz = "UTC"\nwatchlist = ["AAPL", "MSFT", "NVDA"]\n'
            "\n# look\n[ui]\ncompact = true\n"
        },
    ),
    "no watchlist yet, a comment and a key, no newline at the end": (
        '# mine\ntz = "UTC"',
        {REMOVE: '# mine\ntz = "UTC"\nwatchlist = ["MSFT"]\n'},
    ),
    "only a table": (
        "# look\n[ui]\ncompact = true\n",
        {MOVE: 'watchlist = ["MSFT", "AAPL"]\n# look\n[ui]\ncompact = true\n'},
    ),
    "only comments, no newline at the end": (
        "# nothing yet",
        {REMOVE: '# nothing yet\nwatchlist = ["MSFT"]\n'},
    ),
    "the comma-separated form": (
        'watchlist = "AAPL, MSFT"  # old style\n',
        {ADD: 'watchlist = ["AAPL", "MSFT", "NVDA"]  # old style\n'},
    ),
    "only top-level keys, no watchlist yet": (
        'theme = "nord"  # mine\n',
        {REMOVE: 'theme = "nord"  # mine\nwatchlist = ["MSFT"]\n'},
    ),
    "lower-case symbols keep their spelling": (
        'watchlist = ["aapl", "msft"]\n',
        {ADD: 'watchlist = ["aapl", "msft", "NVDA"]\n', MOVE: 'watchlist = ["msft", "aapl"]\n'},
    ),
}


def _cases() -> list[tuple[str, str, tuple[str, ...], str]]:
    return [
        (name, text, symbols, want)
        for name, (text, results) in CORPUS.items()
        for symbols, want in results.items()
    ]


def _encodings() -> list[tuple[str, str, bytes]]:
    return [("LF", "\n", b""), ("CRLF", "\r\n", b""), ("BOM", "\n", b"\xef\xbb\xbf")]


def _write(path: Path, text: str, newline: str, bom: bytes) -> bytes:
    data = bom + text.replace("\n", newline).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(("name", "text", "symbols", "want"), _cases(), ids=lambda v: str(v)[:40])
@pytest.mark.parametrize(("eol", "newline", "bom"), _encodings(), ids=lambda v: str(v)[:4])
def test_each_save_changes_the_watchlist_only(
    tmp_path: Path,
    name: str,
    text: str,
    symbols: tuple[str, ...],
    want: str,
    eol: str,
    newline: str,
    bom: bytes,
) -> None:
    if "\n" not in text:  # a file without a line ending has no style to keep
        newline = "\n"
    path = tmp_path / "config.toml"
    before = _write(path, text, newline, bom)
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    assert settings.config_problem == ""

    assert save_watchlist(settings, symbols)

    after = path.read_bytes()
    assert after == bom + want.replace("\n", newline).encode("utf-8")
    assert load_settings({"config_path": str(path)}, env={}, dotenv_path=None).watchlist == symbols
    assert (tmp_path / "config.toml.bak").read_bytes() == before  # one step back, exactly


def test_every_app_save_in_a_row_keeps_the_file_a_person_wrote(tmp_path: Path) -> None:
    text, _ = CORPUS["comments on every line"]
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    settings = Settings(config_path=path)
    for symbols in (ADD, ("AAPL", "MSFT"), MOVE, ("AAPL", "MSFT"), UNDO, REMOVE):
        save_watchlist(settings, symbols)
        assert tomllib.loads(path.read_text(encoding="utf-8"))["tz"] == "UTC"
        if symbols == ("AAPL", "MSFT"):  # back where it started: the file the user wrote
            assert path.read_text(encoding="utf-8") == text
    assert path.read_text(encoding="utf-8") == CORPUS["comments on every line"][1][REMOVE]


def test_an_unchanged_list_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('watchlist = ["AAPL", "MSFT"]\n', encoding="utf-8")
    assert not save_watchlist(Settings(config_path=path), ("AAPL", "MSFT"))
    assert not (tmp_path / "config.toml.bak").exists()


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('# my settings\nwatchlist = [\n  "AAPL"\n  "MSFT",\n]\n', 4),  # a missing comma
        ('tz = "UTC"\nwatchlist = ["AAPL", "MSFT"]\n', None),  # written fine ...
        (b'tz = "UTC"\n\xff\xfe = 1\n', 2),
    ],
    ids=["bad-toml", "good", "not-utf8"],
)
def test_a_file_the_app_cannot_parse_is_never_written(
    tmp_path: Path, content: str | bytes, line: int | None
) -> None:
    path = tmp_path / "config.toml"
    data = content.encode("utf-8") if isinstance(content, str) else content
    if line is None:  # ... and broken by the user while the app runs
        path.write_bytes(data)
        settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
        data = data.replace(b'"UTC"', b"UTC")
        line = 1
    else:
        path.write_bytes(data)
        settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
        assert f"line {line}" in settings.config_problem
    path.write_bytes(data)
    with pytest.raises(ConfigFileError, match=rf"config\.toml: line {line} "):
        save_watchlist(settings, ADD)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no temp, no .bak


def test_an_unparsable_config_runs_on_defaults_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('tz = "UTC"\nfps = \n', encoding="utf-8")
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    assert settings == Settings(config_path=path)  # the defaults, this run only
    assert settings.config_problem.startswith(f"config file {path}: line 2 is not valid TOML")
    assert "\n" not in settings.config_problem


def test_writes_are_atomic_keep_permissions_and_follow_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text('watchlist = ["AAPL"]\n', encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_watchlist(Settings(config_path=link), ("AAPL", "MSFT"))
    assert link.is_symlink()  # the dotfile manager's link survives
    assert real.read_text(encoding="utf-8") == 'watchlist = ["AAPL", "MSFT"]\n'
    assert real.stat().st_mode & 0o777 == 0o640
    assert (real.parent / "config.toml.bak").read_text(encoding="utf-8") == 'watchlist = ["AAPL"]\n'
    assert sorted(os.listdir(real.parent)) == ["config.toml", "config.toml.bak"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    path.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"new" * 1000, backup=True)
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["store.json"]


def test_a_hand_edit_made_while_the_app_runs_survives_its_next_save(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('watchlist = ["AAPL"]\n', encoding="utf-8")
    settings = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    path.write_text('watchlist = ["AAPL"]\ntz = "UTC"  # added in an editor meanwhile\n')
    save_watchlist(settings, ("AAPL", "MSFT"))
    assert path.read_text(encoding="utf-8") == (
        'watchlist = ["AAPL", "MSFT"]\ntz = "UTC"  # added in an editor meanwhile\n'
    )


POOL = ("AAPL", "MSFT", "NVDA", "SPY", "IBM")


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(CORPUS)),
    lists=st.lists(st.lists(st.sampled_from(POOL), unique=True), min_size=1, max_size=6),
)
def test_any_sequence_of_saves_keeps_everything_else(name: str, lists: list[list[str]]) -> None:
    text = CORPUS[name][0]
    before = tomllib.loads(text)
    outside = [line for line in text.splitlines() if "#" in line and '"' not in line]
    for symbols in lists:
        text = edit_watchlist(text, symbols)
        after = tomllib.loads(text)
        assert [s.upper() for s in after["watchlist"]] == symbols
        assert {k: v for k, v in after.items() if k != "watchlist"} == {
            k: v for k, v in before.items() if k != "watchlist"
        }
        assert all(line in text.splitlines() for line in outside)  # comments not on an item

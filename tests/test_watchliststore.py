"""Named watchlists saved into hand-written config files: only the keys meant change.

Each edit the app makes (a new list, its symbols, its sort and columns, the list shown,
a rename, a delete) goes through hand-written files and must come out as the user
would have edited them: every other byte kept, CRLF and a BOM included.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ticktape.config import ConfigFileError, load_settings
from ticktape.watchlists import NamedList
from ticktape.watchliststore import (
    edit_active,
    edit_delete,
    edit_list,
    edit_rename,
    save_active,
    save_delete,
    save_list,
    save_rename,
)

from .test_config_save import CORPUS

HAND = (
    "# my lists\n"
    'watchlist = ["AAPL", "MSFT"]  # the old one\n'
    'theme = "nord"\n'
    "\n"
    "# chips, by hand\n"
    "[watchlists.tech]\n"
    "symbols = [\n"
    '  "NVDA",  # long\n'
    '  "AMD",\n'
    "]\n"
    'sort = "change_pct"  # movers first\n'
    "\n"
    "[[alerts]]\n"
    'symbol = "AAPL"\n'
    'when = "above 230"\n'
)
TECH = NamedList("tech", ("NVDA", "AMD"), sort="change_pct")

Edit = Callable[[Path], bool]

#: (what the app does, the file a user would have written) on HAND.
EDITS: dict[str, tuple[Edit, str]] = {
    "add a symbol to a named list": (
        lambda p: save_list(p, NamedList("tech", ("NVDA", "AMD", "AVGO"), sort="change_pct")),
        HAND.replace('  "AMD",\n', '  "AMD",\n  "AVGO",\n'),
    ),
    "move a symbol, its comment along": (
        lambda p: save_list(p, NamedList("tech", ("AMD", "NVDA"), sort="change_pct")),
        HAND.replace('  "NVDA",  # long\n  "AMD",\n', '  "AMD",\n  "NVDA",  # long\n'),
    ),
    "reverse the sort": (
        lambda p: save_list(
            p, NamedList("tech", ("NVDA", "AMD"), sort="change_pct", descending=False)
        ),
        HAND.replace("# movers first\n", "# movers first\ndescending = false\n"),
    ),
    "manual order": (
        lambda p: save_list(p, NamedList("tech", ("NVDA", "AMD"))),
        HAND.replace('sort = "change_pct"', 'sort = "manual"'),
    ),
    "hide columns": (
        lambda p: save_list(
            p, NamedList("tech", ("NVDA", "AMD"), ("symbol", "last", "volume"), "change_pct")
        ),
        HAND.replace(
            "# movers first\n", '# movers first\ncolumns = ["symbol", "last", "volume"]\n'
        ),
    ),
    "sort the default list": (
        lambda p: save_list(p, NamedList("default", ("AAPL", "MSFT"), sort="volume")),
        HAND.replace(
            "# movers first\n", '# movers first\n\n[watchlists.default]\nsort = "volume"\n'
        ),
    ),
    "edit the default list": (
        lambda p: save_list(p, NamedList("default", ("AAPL",))),
        HAND.replace('["AAPL", "MSFT"]', '["AAPL"]'),
    ),
    "a new list": (
        lambda p: save_list(p, NamedList("ETF & funds", ("SPY",))),
        HAND.replace(
            "# movers first\n", '# movers first\n\n[watchlists."ETF & funds"]\nsymbols = ["SPY"]\n'
        ),
    ),
    "switch list": (
        lambda p: save_active(p, "tech"),
        HAND.replace('theme = "nord"\n', 'theme = "nord"\nactive_watchlist = "tech"\n'),
    ),
    "rename a named list": (
        lambda p: save_rename(p, TECH, "chips"),
        HAND.replace("[watchlists.tech]", "[watchlists.chips]"),
    ),
    "rename the default list": (
        lambda p: save_rename(p, NamedList("default", ("AAPL", "MSFT")), "core"),
        HAND.replace('watchlist = ["AAPL", "MSFT"]  # the old one\n', "").replace(
            "# movers first\n", '# movers first\n\n[watchlists.core]\nsymbols = ["AAPL", "MSFT"]\n'
        ),
    ),
    "delete a named list": (
        lambda p: save_delete(p, "tech", "default"),
        (
            "# my lists\n"
            'watchlist = ["AAPL", "MSFT"]  # the old one\n'
            'theme = "nord"\n'
            'active_watchlist = "default"\n'
            "\n"
            "# chips, by hand\n"
            "[[alerts]]\n"
            'symbol = "AAPL"\n'
            'when = "above 230"\n'
        ),
    ),
}


def _encodings() -> list[tuple[str, str, bytes]]:
    return [("LF", "\n", b""), ("CRLF", "\r\n", b""), ("BOM", "\n", b"\xef\xbb\xbf")]


@pytest.mark.parametrize("name", sorted(EDITS))
@pytest.mark.parametrize(("eol", "newline", "bom"), _encodings(), ids=lambda v: str(v)[:4])
def test_each_edit_changes_only_its_keys(
    tmp_path: Path, name: str, eol: str, newline: str, bom: bytes
) -> None:
    edit, want = EDITS[name]
    path = tmp_path / "config.toml"
    before = bom + HAND.replace("\n", newline).encode("utf-8")
    path.write_bytes(before)
    assert edit(path)
    assert path.read_bytes() == bom + want.replace("\n", newline).encode("utf-8")
    assert (tmp_path / "config.toml.bak").read_bytes() == before
    load_settings({"config_path": str(path)}, env={}, dotenv_path=None)  # still a valid config
    assert not edit(path)  # done once: nothing more to write


def test_what_was_saved_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND, encoding="utf-8")
    save_list(path, NamedList("tech", ("AMD",), ("symbol", "last"), "volume", False))
    save_list(path, NamedList("swing", ("IBM", "GE")))
    save_list(path, NamedList("default", ("AAPL", "MSFT"), (), "symbol", True))
    save_active(path, "swing")
    s = load_settings({"config_path": str(path)}, env={}, dotenv_path=None)
    assert s.lists() == (
        NamedList("default", ("AAPL", "MSFT"), (), "symbol", True),
        NamedList("tech", ("AMD",), ("symbol", "last"), "volume", False),
        NamedList("swing", ("IBM", "GE")),
    )
    assert s.active_watchlist == "swing"


#: Lines the app may add to a file (a new list, the list shown), nothing else.
OUR_LINES = re.compile(
    r'(|active_watchlist = "\w+"|\[watchlists\.\w+\]|symbols = \[[^\]]*\]|watchlist = \[[^\]]*\])'
)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_new_list_in_any_hand_written_file_only_adds_lines(tmp_path: Path, name: str) -> None:
    """The single-list corpus: making a second list and switching to it keeps every byte
    the user wrote (the default list is written first if it was only implied)."""
    text = CORPUS[name][0]
    data = tomllib.loads(text)
    new = text
    if "watchlist" not in data:
        new = edit_list(new, NamedList("default", ("AAPL",)))
    new = edit_active(edit_list(new, NamedList("swing", ("IBM",))), "swing")
    ops = difflib.SequenceMatcher(None, text.splitlines(), new.splitlines()).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        # lines that may change: a last line that had no newline gets one; an inline table
        # of lists takes the new one
        changed = text.splitlines()[i1:i2]
        inline = all(line.startswith("watchlists = {") for line in changed)
        assert tag == "insert" or inline or i2 == len(text.splitlines()), (tag, new)
        added = new.splitlines()[j1:j2]
        assert all(
            OUR_LINES.fullmatch(line) or line.startswith("watchlists = {")
            for line in added
            if line not in text
        ), added
    after = tomllib.loads(new)
    assert {
        k: v for k, v in after.items() if k not in ("watchlist", "watchlists", "active_watchlist")
    } == {k: v for k, v in data.items() if k not in ("watchlist", "watchlists", "active_watchlist")}


def test_a_file_broken_meanwhile_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    broken = HAND.replace('theme = "nord"', "theme = nord").encode()
    path.write_bytes(broken)
    for edit, _ in EDITS.values():
        with pytest.raises(ConfigFileError, match="line 3"):
            edit(path)
    assert path.read_bytes() == broken
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_a_layout_tomlkit_would_regroup_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    split = (
        '[watchlists.tech]\nsymbols = ["NVDA"]\n\n[[alerts]]\nsymbol = "A"\nwhen = "halt"\n\n'
        '[watchlists.etf]\nsymbols = ["SPY"]\n'
    )
    path.write_text(split, encoding="utf-8")
    with pytest.raises(ConfigFileError, match="layout cannot be kept"):
        save_list(path, NamedList("etf", ("SPY", "QQQ")))
    assert path.read_text(encoding="utf-8") == split


def test_a_short_form_list_takes_a_table_only_when_it_needs_one() -> None:
    text = '[watchlists]\ntech = ["NVDA"]  # chips\netf = ["SPY"]\n'
    assert edit_list(text, NamedList("tech", ("NVDA", "AMD"))) == (
        '[watchlists]\ntech = ["NVDA", "AMD"]  # chips\netf = ["SPY"]\n'
    )
    assert edit_list(text, NamedList("tech", ("NVDA",), sort="volume")) == (
        '[watchlists]\ntech = {symbols = ["NVDA"], sort = "volume"}  # chips\netf = ["SPY"]\n'
    )
    inline = 'watchlists = { tech = ["AAPL"], etf = ["SPY"] }\n'
    assert edit_rename(inline, NamedList("etf", ("SPY",)), "funds") == (
        'watchlists = { tech = ["AAPL"], funds = ["SPY"] }\n'
    )


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("list"),
            st.sampled_from(("default", "tech", "swing")),
            st.lists(st.sampled_from(("AAPL", "IBM", "NVDA")), unique=True),
            st.sampled_from((None, "volume", "symbol")),
            st.booleans(),
        ),
        st.tuples(st.just("active"), st.sampled_from(("default", "tech"))),
        st.tuples(
            st.just("rename"),
            st.sampled_from(("tech", "default")),
            st.sampled_from(("chips", "core")),
        ),
        st.tuples(st.just("delete"), st.sampled_from(("swing", "tech"))),
    ),
    min_size=1,
    max_size=8,
)


@hypothesis_settings(max_examples=120, deadline=None)
@given(ops=OPS)
def test_any_sequence_of_edits_keeps_everything_else(ops: list[tuple[object, ...]]) -> None:
    """Every edit is checked against what it means before it returns; a sequence of them
    never touches the alerts, the theme or a comment outside the lists."""
    text = HAND
    for op in ops:
        lists = load_lists(text)
        try:
            if op[0] == "list":
                _, name, symbols, sort, desc = op
                text = edit_list(text, NamedList(str(name), tuple(symbols), (), sort, bool(desc)))  # type: ignore[arg-type]
            elif op[0] == "active" and op[1] in lists:
                text = edit_active(text, str(op[1]))
            elif op[0] == "rename" and op[1] in lists and op[2] not in lists:
                text = edit_rename(text, lists[str(op[1])], str(op[2]))
            elif op[0] == "delete" and op[1] in lists and len(lists) > 1:
                text = edit_delete(text, str(op[1]), next(k for k in lists if k != op[1]))
        except ConfigFileError as err:  # refused, never half done
            raise AssertionError(f"{op}: {err}\n{text}") from None
        after = tomllib.loads(text)
        assert after["theme"] == "nord"
        assert after["alerts"] == [{"symbol": "AAPL", "when": "above 230"}]
        assert "# my lists\n" in text


def load_lists(text: str) -> dict[str, NamedList]:
    from ticktape.watchliststore import file_lists

    return file_lists(tomllib.loads(text))[0]

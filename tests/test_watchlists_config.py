"""Named watchlists in the settings: the old single list still works, every bad value is
one line naming the table, the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticktape.commands.run import build_parser, settings_for
from ticktape.config import DEFAULT_WATCHLIST, Settings, load_settings
from ticktape.watchlists import COLUMN_KEYS, NamedList


def _load(path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    path.write_text(text, encoding="utf-8")
    return load_settings({"config_path": str(path)}, env=env or {}, dotenv_path=None)


def test_the_old_single_list_is_the_list_named_default(tmp_path: Path) -> None:
    s = _load(tmp_path / "c.toml", 'watchlist = ["aapl", "msft"]\n')
    assert s.lists() == (NamedList("default", ("AAPL", "MSFT")),)
    none = _load(tmp_path / "c.toml", "")
    assert none.lists() == (NamedList("default", DEFAULT_WATCHLIST),)


def test_named_lists_in_file_order_after_the_default(tmp_path: Path) -> None:
    s = _load(
        tmp_path / "c.toml",
        'watchlist = ["AAPL"]\nactive_watchlist = "tech"\n\n'
        '[watchlists.default]\nsort = "symbol"\n\n'
        '[watchlists.tech]\nsymbols = ["nvda", "AMD"]\ncolumns = ["last", "volume"]\n'
        'sort = "change_pct"\ndescending = false\n\n'
        '[watchlists]\n"ETF & funds" = ["SPY", "QQQ"]\n',
    )
    assert s.lists() == (
        NamedList("default", ("AAPL",), sort="symbol", descending=False),
        NamedList("tech", ("NVDA", "AMD"), ("last", "volume"), "change_pct", False),
        NamedList("ETF & funds", ("SPY", "QQQ")),
    )
    assert s.active_watchlist == "tech"


def test_only_named_lists_means_no_default_list(tmp_path: Path) -> None:
    s = _load(tmp_path / "c.toml", '[watchlists.tech]\nsymbols = ["NVDA"]\n')
    assert [x.name for x in s.lists()] == ["tech"]
    # the environment's list is still the default one (and so it exists)
    env = _load(
        tmp_path / "c.toml",
        '[watchlists.tech]\nsymbols = ["NVDA"]\n',
        {"TICKTAPE_WATCHLIST": "ibm"},
    )
    assert [(x.name, x.symbols) for x in env.lists()] == [
        ("default", ("IBM",)),
        ("tech", ("NVDA",)),
    ]


def test_the_default_table_may_hold_its_symbols_instead(tmp_path: Path) -> None:
    s = _load(tmp_path / "c.toml", '[watchlists.default]\nsymbols = ["X"]\nsort = "volume"\n')
    assert s.lists() == (NamedList("default", ("X",), sort="volume"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[watchlists.tech]\nsort = "bogus"\n',
            '[watchlists.tech] sort = "bogus": must be "manual" or a column',
        ),
        ("[watchlists.tech]\ncolums = []\n", "[watchlists.tech] colums: unknown key"),
        (
            '[watchlists.tech]\ncolumns = ["last", "chg"]\n',
            '[watchlists.tech] columns = ["last", "chg"]: "chg" is not a column',
        ),
        ("[watchlists.tech]\ncolumns = []\n", "must name at least one column"),
        (
            '[watchlists.tech]\ndescending = "yes"\n',
            '[watchlists.tech] descending = "yes": must be true or false',
        ),
        (
            "[watchlists.tech]\nsymbols = [1]\n",
            "[watchlists.tech] symbols = [1]: 1 is not a symbol",
        ),
        (
            "[watchlists.tech]\nsymbols = 5\n",
            "[watchlists.tech] symbols = 5: must be a list of symbols",
        ),
        ("[watchlists]\ntech = 5\n", "[watchlists.tech] must be a table"),
        ("watchlists = 3\n", "watchlists: must be tables"),
        ('[watchlists."a\\tb"]\n', '[watchlists."a\\tb"]: the name must be printable'),
        ('[watchlists." x"]\n', "must not start or end with a space"),
        ('[watchlists.""]\n', "must not be empty"),
        (f"[watchlists.{'x' * 25}]\n", "longer than 24 characters"),
        ("[watchlists.new]\n", "is a word of the palette's phrases"),
        ("[watchlists.Tech]\n[watchlists.tech]\n", "differs from [watchlists.Tech] only in case"),
        (
            'watchlist = ["A"]\n[watchlists.default]\nsymbols = ["B"]\n',
            "both the default list; keep one",
        ),
        ('active_watchlist = "tech"\n', 'active_watchlist = "tech" in '),
        ("active_watchlist = 3\n", "active_watchlist = 3 in "),
    ],
)
def test_every_bad_value_names_the_setting_and_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ValueError) as caught:
        _load(path, text)
    said = str(caught.value)
    assert message in said
    assert str(path) in said
    assert "\n" not in said


def test_column_keys_are_the_watchlists() -> None:
    from ticktape.ui.watchlist import COLUMN_KEYS as SHOWN

    assert SHOWN == COLUMN_KEYS


def test_symbols_on_the_command_line_are_the_default_list_shown_this_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('active_watchlist = "tech"\n[watchlists.tech]\nsymbols = ["NVDA"]\n')
    monkeypatch.delenv("TICKTAPE_WATCHLIST", raising=False)
    args = build_parser().parse_args(["--config", str(path), "ibm", "ge"])
    s = settings_for(args)
    assert (s.active_watchlist, s.lists()[0]) == ("default", NamedList("default", ("IBM", "GE")))
    plain = settings_for(build_parser().parse_args(["--config", str(path)]))
    assert ([x.name for x in plain.lists()], plain.active_watchlist) == (["tech"], "tech")

"""The subject scheme: every symbol is one NATS token, and the mapping goes both ways."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticktape.link import subjects as sj
from ticktape.link.connect import LinkConfigError, NatsOptions, add_arguments, options_from_args

FORBIDDEN_IN_TOKEN = set(".*> \t\r\n")


@pytest.mark.parametrize(
    ("symbol", "token"),
    [
        ("AAPL", "AAPL"),
        ("BRK.B", "BRK%2EB"),
        ("EUR/USD", "EUR/USD"),
        ("X:BTC-USD", "X:BTC-USD"),
        ("A*B>C", "A%2AB%3EC"),
        ("SPACE X", "SPACE%20X"),
        ("100%", "100%25"),
        ("ÄBC", "%C3%84BC"),
    ],
)
def test_symbols_become_single_tokens(symbol: str, token: str) -> None:
    assert sj.escape(symbol) == token
    assert sj.unescape(token) == symbol


@given(st.text(min_size=1, max_size=20))
def test_any_symbol_round_trips_and_never_splits_a_subject(symbol: str) -> None:
    token = sj.escape(symbol)
    assert not FORBIDDEN_IN_TOKEN & set(token)
    assert sj.unescape(token) == symbol


def test_params_map_to_channel_or_topic_subjects() -> None:
    s = sj.Subjects()
    assert s.for_param("stocks", "T.*") == "ticktape.md.stocks.T"
    assert s.for_param("stocks", "Q.BRK.B") == "ticktape.md.stocks.Q.BRK%2EB"
    assert s.for_param("forex", "C.EUR/USD") == "ticktape.md.forex.C.EUR/USD"
    assert s.status("crypto") == "ticktape.status.crypto"
    assert s.interest("box 1") == "ticktape.interest.box%201"
    assert sj.Subjects("desk.delayed").rest == "desk.delayed.rest"
    with pytest.raises(ValueError, match="bad param"):
        s.for_param("stocks", "AAPL")
    with pytest.raises(ValueError, match="prefix"):
        sj.Subjects("bad prefix")


def test_a_wildcard_covers_the_topics_of_its_channel() -> None:
    assert sj.covered({"T.*", "T.AAPL", "Q.AAPL"}) == {"T.*", "Q.AAPL"}


def test_bad_nats_options_say_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(LinkConfigError, match=r"nats:// or tls://, not 'http://h:4222'"):
        NatsOptions("http://h:4222")
    with pytest.raises(LinkConfigError, match="--nats-token-file: no such file"):
        NatsOptions("nats://h:4222", token_file=tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(LinkConfigError, match="is empty"):
        NatsOptions("nats://h:4222", token_file=empty).connect_kwargs()
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    with pytest.raises(LinkConfigError, match="--nats-tls-ca: cannot load"):
        NatsOptions("tls://h:4222", tls_ca=bad_ca).connect_kwargs()
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    opts = NatsOptions("nats://user:pw@h:4222", token_file=token)
    assert opts.connect_kwargs()["token"] == "s3cret"
    assert opts.where == "nats://h:4222"  # messages never repeat credentials from a URL


def test_hub_flags_choose_origin_or_edge_and_check_their_files(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    token = tmp_path / "token"
    token.write_text("t0k\n")
    assert options_from_args(parser.parse_args([])) is None
    role, opts = options_from_args(
        parser.parse_args(["--nats", "nats://h:4222", "--nats-token-file", str(token)])
    ) or ("", None)
    assert role == "origin" and opts is not None and opts.token_file == token
    role, _ = options_from_args(parser.parse_args(["--from", "tls://h:4222"])) or ("", None)
    assert role == "edge"
    with pytest.raises(SystemExit):  # argparse: not both
        parser.parse_args(["--nats", "nats://a", "--from", "nats://b"])
    with pytest.raises(LinkConfigError, match="need --nats URL or --from URL"):
        options_from_args(parser.parse_args(["--nats-token-file", str(token)]))


def test_announced_params_are_checked_before_they_can_go_upstream() -> None:
    announced = {
        "stocks": ["T.*", "Q.BRK.B", "T.AAPL", "bogus", "T.", "T.A B", 'T.{"x"}', "t.aapl"],
        "forex": ["C.EUR/USD"],
        "options": ["T.*"],  # no such cluster
        "crypto": [],
    }
    assert sj.valid_params(announced) == {
        "stocks": {"T.*", "Q.BRK.B", "T.AAPL"},
        "forex": {"C.EUR/USD"},
    }
    flood = {"stocks": [f"T.S{i}" for i in range(sj.MAX_PARAMS + 50)]}
    assert len(sj.valid_params(flood)["stocks"]) == sj.MAX_PARAMS

"""``--ascii`` is chosen by itself where Unicode glyphs would come out as garbage."""

from __future__ import annotations

import pytest

from ticktape.commands.run import build_parser, wants_ascii


@pytest.mark.parametrize(
    ("env", "ascii_only"),
    [
        ({"LANG": "en_US.UTF-8", "TERM": "xterm-256color"}, False),
        ({"LANG": "de_DE.utf8", "TERM": "tmux-256color"}, False),
        ({"LANG": "C"}, True),
        ({"LANG": "POSIX"}, True),
        ({"LANG": "en_US.ISO-8859-1"}, True),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, True),  # LC_ALL wins, as in every C program
        ({"LC_CTYPE": "en_US.UTF-8", "LANG": "C"}, False),
        ({"LANG": "en_US.UTF-8", "TERM": "vt100"}, True),
        ({"LANG": "en_US.UTF-8", "TERM": "linux"}, True),
        ({}, False),  # nothing set: no guess (containers often leave it unset on UTF-8)
    ],
)
def test_ascii_follows_the_locale_and_terminal(env: dict[str, str], ascii_only: bool) -> None:
    assert wants_ascii(env) is ascii_only


def test_python_s_own_c_locale_fix_is_not_taken_for_the_terminal_s() -> None:
    """In a C locale Python sets LC_CTYPE=C.UTF-8 for itself (and turns UTF-8 mode on)."""
    coerced = {"LANG": "C", "LC_CTYPE": "C.UTF-8"}
    assert wants_ascii(coerced, utf8_mode=True)
    assert not wants_ascii({**coerced, "LANG": "en_US.UTF-8"}, utf8_mode=True)
    assert not wants_ascii(coerced, utf8_mode=False)  # set by the user: taken at its word


def test_the_flag_overrides_either_way() -> None:
    parser = build_parser()
    assert parser.parse_args([]).ascii is None  # auto
    assert parser.parse_args(["--ascii"]).ascii is True
    assert parser.parse_args(["--no-ascii"]).ascii is False
    assert "LANG=C" in parser.format_help()

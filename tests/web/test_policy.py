"""The gate's rules on their own: loopback, token file, constant-time match, Host, Origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticktape.web import policy


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
        ("127.0.0.1.example.com", False),
    ],
)
def test_loopback_is_what_only_this_machine_reaches(host: str, loopback: bool) -> None:
    assert policy.is_loopback(host) is loopback


def test_a_token_is_required_off_loopback_and_whenever_one_is_given(tmp_path: Path) -> None:
    assert not policy.token_required("127.0.0.1", None)
    assert policy.token_required("0.0.0.0", None)
    assert policy.token_required("192.168.1.20", None)
    assert policy.token_required("127.0.0.1", tmp_path / "t")
    # A proxy here that serves the page to others is off loopback too.
    assert policy.token_required("127.0.0.1", None, "https://monitor.example/")
    assert not policy.token_required("127.0.0.1", None, "http://localhost:9000/")


def test_the_token_file_is_read_and_a_bad_one_is_named(tmp_path: Path) -> None:
    good = tmp_path / "token"
    good.write_text("  abcdefghijklmnopqrstuvwxyz012345\n")
    assert policy.read_token(good) == "abcdefghijklmnopqrstuvwxyz012345"
    missing = tmp_path / "absent"
    with pytest.raises(policy.TokenFileError, match=f"--token-file {missing}: no such file"):
        policy.read_token(missing)
    for text in ("", "short", "two words of a long enough token"):
        bad = tmp_path / "bad"
        bad.write_text(text)
        with pytest.raises(policy.TokenFileError, match="one word of at least 16"):
            policy.read_token(bad)


def test_token_matches_only_the_exact_token() -> None:
    token = "abcdefghijklmnopqrstuvwxyz012345"
    assert policy.token_matches(token, token)
    for other in (None, "", token[:-1], token + "x", token.upper(), "é" + token[1:]):
        assert not policy.token_matches(other, token)


@pytest.mark.parametrize(
    ("host", "public", "allowed"),
    [
        ("127.0.0.1:8000", None, True),
        ("localhost:8000", None, True),
        ("[::1]:8000", None, True),
        ("attacker.example:8000", None, False),
        ("", None, False),
        (None, None, False),
        ("monitor.example", "https://monitor.example/", True),
        ("other.example", "https://monitor.example/", False),
    ],
)
def test_only_loopback_or_the_public_host_is_served_without_a_token(
    host: str | None, public: str | None, allowed: bool
) -> None:
    assert policy.host_allowed(host, public) is allowed


@pytest.mark.parametrize(
    ("origin", "host", "public", "allowed"),
    [
        (None, "127.0.0.1:8000", None, True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", None, True),
        ("http://localhost:8000", "localhost:8000", None, True),
        ("http://attacker.example", "127.0.0.1:8000", None, False),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", None, False),
        ("https://monitor.example", "127.0.0.1:8000", "https://monitor.example", True),
        ("http://monitor.example", "127.0.0.1:8000", "https://monitor.example", False),
    ],
)
def test_a_browser_websocket_must_come_from_this_servers_page(
    origin: str | None, host: str, public: str | None, allowed: bool
) -> None:
    assert policy.origin_allowed(origin, host, public) is allowed

"""Every numeric flag of every sub-command: a bad value is argparse's one-line error, exit 2.

A value that parses as a float but means nothing (0, negative, nan, inf, a rate
no generator can reach) used to get through to the server and end in a
traceback, or a hang; here each one must stop at the argument parser, naming
the flag, before anything starts.
"""

from __future__ import annotations

import pytest

from ticktape import cli

BARS = ("bars", "AAPL", "--from", "2024-01-02", "--to", "2024-01-02", "--sim")
#: a path that does not exist: if a bad flag got through, the command would say so instead
REPLAY = ("replay", "no-such-recording.jsonl.gz")


@pytest.mark.parametrize(
    ("argv", "flag", "why"),
    [
        (("sim", "--rate", "0"), "--rate", "must be above 0, not 0"),
        (("sim", "--rate", "-5"), "--rate", "must be above 0, not -5"),
        (("sim", "--rate", "nan"), "--rate", "'nan' is not a finite number"),
        (("sim", "--rate", "1e300"), "--rate", "must be at most 1e+06"),
        (("sim", "--speed", "0"), "--speed", "must be above 0"),
        (("sim", "--speed", "inf"), "--speed", "'inf' is not a finite number"),
        (("sim", "--port", "-1"), "--port", "must be between 0 and 65535"),
        (("sim", "--port", "70000"), "--port", "must be between 0 and 65535"),
        (("sim", "--auth-timeout", "0"), "--auth-timeout", "must be above 0"),
        (("sim", "--drop-after", "-1"), "--drop-after", "must be above 0"),
        (("sim", "--malformed", "2"), "--malformed", "must be between 0 and 1"),
        (("sim", "--stall", "nan"), "--stall", "not a finite number"),
        (("sim", "--stall-every", "0"), "--stall-every", "must be above 0"),
        ((*REPLAY, "--speed", "nan"), "--speed", "'nan' is not a finite number"),
        ((*REPLAY, "--speed", "inf"), "--speed", "'inf' is not a finite number"),
        ((*REPLAY, "--speed", "-1"), "--speed", "must be above 0"),
        ((*REPLAY, "--max-gap", "nan"), "--max-gap", "not a finite number"),
        ((*REPLAY, "--max-gap", "-2"), "--max-gap", "must be 0 or more"),
        ((*REPLAY, "--port", "65536"), "--port", "must be between 0 and 65535"),
        ((*BARS, "--retries", "-3"), "--retries", "must be at least 0, not -3"),
        ((*BARS, "--limit", "0"), "--limit", "must be between 1 and 50000"),
        ((*BARS, "--multiplier", "x"), "--multiplier", "'x' is not a whole number"),
        (("serve", "--max-apps", "0"), "--max-apps", "must be at least 1, not 0"),
        (("serve", "--port", "-1"), "--port", "must be between 0 and 65535"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_a_bad_number_is_a_one_line_usage_error(
    argv: tuple[str, ...], flag: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(list(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(f"ticktape {argv[0]}: error: argument {flag}: ")
    assert why in last

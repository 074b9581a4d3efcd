"""Bandwidth profiles: ``normal``, and ``low`` for slow links (the tape repaints less often
than prices, no flashes, 256 colours). Textual-free: the launcher reads it before Textual.

See docs/ui.md ("Over SSH: how a frame becomes bytes").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

PROFILES: Final = ("low", "normal")
#: The setting's default: normal, and over SSH the low profile is offered once.
AUTO: Final = "auto"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    tape_interval_s: float  # the tape repaints at most this often (0: every frame)
    chart_interval_s: float  # the chart redraws for new data at most this often
    flashes: bool  # changed prices flash
    label: str  # what the status bar says ("" says nothing)


NORMAL: Final = Profile("normal", 0.0, 0.3, True, "")
LOW: Final = Profile("low", 1.0, 2.0, False, "low bandwidth")


def profile(setting: str) -> Profile:
    """The profile a ``bandwidth`` setting (``auto``, ``low``, ``normal``) stands for."""
    return LOW if setting == "low" else NORMAL


def over_ssh(env: Mapping[str, str]) -> bool:
    """The terminal is at the other end of an SSH connection (so bytes cost)."""
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or env.get("SSH_TTY"))


def colour_system(setting: str, env: Mapping[str, str]) -> str | None:
    """The ``TEXTUAL_COLOR_SYSTEM`` the profile needs, or None to leave Textual's choice.

    The low profile sends 256-colour codes (about half the bytes of a truecolor
    one) where Textual would pick truecolor; a terminal that has fewer colours,
    or a choice the user made in the environment, is left alone.
    """
    if profile(setting) is not LOW or env.get("TEXTUAL_COLOR_SYSTEM"):
        return None
    truecolor = env.get("COLORTERM", "").lower() in ("truecolor", "24bit")
    return "256" if truecolor or "256" in env.get("TERM", "") else None


OFFER: Final = (
    'Over SSH? `--bandwidth low` (or bandwidth = "low" in the config) sends far fewer'
    " bytes: the tape repaints once a second, prices keep their pace."
)

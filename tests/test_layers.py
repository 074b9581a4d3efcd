"""The architecture's one-way imports, checked on the source: ui → market → feed;
sim → server → feed; hub → server → feed.

commands/ sits on top and may import anything; nothing imports commands/.

A layer crossed (feed/ importing Textual, market/ importing the UI, sim/
re-using market state) fails here before it can creep in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ticktape"

#: package → top-level imports it must never make.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "feed": (
        "ticktape.market",
        "ticktape.ui",
        "ticktape.sim",
        "ticktape.server",
        "ticktape.hub",
        "ticktape.commands",
        "textual",
    ),
    "market": (
        "ticktape.ui",
        "ticktape.server",
        "ticktape.hub",
        "ticktape.sim",
        "ticktape.commands",
        "textual",
        "websockets",
        "httpx",
        "asyncio",
    ),
    "server": (
        "ticktape.sim",
        "ticktape.hub",
        "ticktape.market",
        "ticktape.ui",
        "ticktape.commands",
        "textual",
    ),
    "sim": ("ticktape.hub", "ticktape.market", "ticktape.ui", "ticktape.commands", "textual"),
    "hub": ("ticktape.sim", "ticktape.market", "ticktape.ui", "ticktape.commands", "textual"),
    "ui": ("ticktape.sim", "ticktape.server", "ticktape.hub", "ticktape.commands", "websockets"),
    # The web server runs each tab's app in its own process; it never loads the app itself.
    "web": ("ticktape.ui", "ticktape.market", "ticktape.sim", "ticktape.commands", "textual"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_flow_one_way(package: str) -> None:
    files = sorted((SRC / package).rglob("*.py"))
    assert files, f"no sources found for {package}"
    crossings = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        for banned in FORBIDDEN[package]
        if name == banned or name.startswith(banned + ".")
    ]
    assert crossings == []


#: What ``ticktape alerts`` runs on: it must work with no Textual (and no UI) loaded.
HEADLESS: tuple[str, ...] = (
    "alerting.py",
    "alertstore.py",
    "commands/alerts.py",
    "positionstore.py",  # `ticktape positions import` too
    "commands/positions.py",
)


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_alerts_import_no_ui(module: str) -> None:
    names = _imports(SRC / module)
    assert [
        n for n in sorted(names) if n.split(".")[0] == "textual" or n.startswith("ticktape.ui")
    ] == []

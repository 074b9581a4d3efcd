"""Entry point: ``ticktape [COMMAND]``, dispatched to ``ticktape.commands`` modules.

Imports are lazy so each command loads only what it needs. See docs/architecture.md.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

#: sub-command → module providing ``main(argv: list[str]) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("ticktape.commands.sim", "run the embedded Polygon-compatible simulator"),
    "bars": ("ticktape.commands.bars", "download aggregate bars to CSV/Parquet, or plot them"),
    "replay": ("ticktape.commands.replay", "serve a recording (or a bars CSV) as a live feed"),
    "alerts": (
        "ticktape.commands.alerts",
        "watch the configured alerts headless; print what fires",
    ),
    "positions": (
        "ticktape.commands.positions",
        "list your lots, or import lots from a CSV",
    ),
    "serve": ("ticktape.commands.serve", "serve the app to web browsers, one app per tab"),
    "hub": ("ticktape.commands.hub", "share one upstream connection with every local client"),
}
APP_MODULE = "ticktape.commands.run"

USAGE = """usage: ticktape [options]            open the monitor (ticktape --help for options)
       ticktape COMMAND [options]    where COMMAND is one of:
{commands}"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("help", "commands"):
        width = max(map(len, COMMANDS))
        lines = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())
        print(USAGE.format(commands=lines))
        return 0
    module_name = APP_MODULE
    if args and args[0] in COMMANDS:
        module_name = COMMANDS[args.pop(0)][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        print(f"ticktape: {module_name} is not available in this build", file=sys.stderr)
        return 2
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

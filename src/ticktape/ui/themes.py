"""Theme files (TOML) → Textual ``Theme`` objects.

Why files and not code: users drop their own ``*.toml`` into
``<config dir>/themes/`` without touching Python, and the built-in themes in
``ticktape/themes/`` are the worked examples. Each theme may set the custom
variables ``up``, ``down``, ``neutral`` and ``block`` that the panes colour
prices with; :data:`VARIABLE_DEFAULTS` fills them for Textual's own themes so
the theme picker can switch to any of them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from textual.color import Color, ColorParseError
from textual.theme import Theme

BUILTIN_DIR: Final = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME: Final = "ticktape-dark"

#: Fallbacks for themes that do not define ticktape's variables (e.g. Textual's own).
VARIABLE_DEFAULTS: Final[dict[str, str]] = {
    "up": "#3FB950",
    "down": "#F85149",
    "neutral": "#8B949E",
    "block": "#D29922",
}

_COLOR_KEYS: Final = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


def _check_color(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{path.name}: {key} must be a colour string")
    try:
        Color.parse(value)
    except ColorParseError:
        # ansi_default is valid in a Theme but not a parseable Color.
        if value != "ansi_default":
            raise ThemeFileError(f"{path.name}: {key} = {value!r} is not a colour") from None
    return value


def load_theme(path: Path) -> Theme:
    """Read one theme file; raises :class:`ThemeFileError` with a readable reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ThemeFileError(f"{path.name}: {err}") from err
    name = data.get("name") or path.stem
    if not isinstance(name, str):
        raise ThemeFileError(f"{path.name}: name must be a string")
    if "primary" not in data:
        raise ThemeFileError(f"{path.name}: a theme needs at least 'primary'")
    colors: dict[str, Any] = {k: _check_color(path, k, data[k]) for k in _COLOR_KEYS if k in data}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"{path.name}: [variables] must be a table")
    return Theme(
        name=name,
        dark=bool(data.get("dark", True)),
        ansi=bool(data.get("ansi", False)),
        variables={str(k): str(v) for k, v in variables.items()},
        **colors,
    )


def load_themes(dirs: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Every ``*.toml`` in ``dirs`` (missing dirs are fine); bad files become error strings.

    A broken user theme must not stop the app: it is reported and skipped.
    """
    themes: list[Theme] = []
    errors: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                themes.append(load_theme(path))
            except ThemeFileError as err:
                errors.append(str(err))
    return themes, errors


def user_theme_dir(config_path: Path) -> Path:
    """Users' theme files live next to the config file: ``<config dir>/themes/``."""
    return config_path.parent / "themes"

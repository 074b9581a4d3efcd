"""Theme files (TOML) → Textual ``Theme`` objects, with ticktape's colour variables.

See docs/ui.md (themes).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
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
    if not isinstance(value, str) or not _is_color(value):
        raise ThemeFileError(f"{path.name}: {key} = {_show(value)} is not a colour; theme skipped")
    return value


def _is_color(value: str) -> bool:
    """What Textual's CSS accepts for a colour variable: a colour, maybe with ``NN%`` alpha."""
    colour = re.sub(r"\s+\d{1,3}(\.\d+)?%$", "", value.strip())
    if colour == "ansi_default":  # valid in a Theme but not a parseable Color
        return True
    try:
        Color.parse(colour)
    except ColorParseError:
        return False
    return True


def _check_variable(path: Path, key: str, value: Any) -> str:
    """Every variable is checked before the theme is registered: one that Textual's CSS
    cannot parse would crash the app when the theme is applied (at start or live)."""
    where = f"[variables] {key}"
    if key.endswith("text-style") or key.startswith("link-style"):
        words = value.split() if isinstance(value, str) else [None]
        if not words or any(word not in VALID_STYLE_FLAGS for word in words):
            raise ThemeFileError(
                f"{path.name}: {where} = {_show(value)} is not a text style (like bold, "
                "underline or none); theme skipped"
            )
        return str(value)
    return _check_color(path, where, value)


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ThemeFileError(f"{path.name}: cannot read it ({err.strerror}); skipped") from err
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ThemeFileError(f"{path.name}: line {line} is not UTF-8 text; skipped") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ThemeFileError(f"{path.name}: not valid TOML ({err}); skipped") from err


def _flag(path: Path, data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ThemeFileError(f"{path.name}: {key} must be true or false; theme skipped")
    return value


def load_theme(path: Path) -> Theme:
    """Read one theme file; raises :class:`ThemeFileError` with a readable reason."""
    data = _read(path)
    name = data.get("name") or path.stem
    if not isinstance(name, str):
        raise ThemeFileError(f"{path.name}: name must be a string; theme skipped")
    if "primary" not in data:
        raise ThemeFileError(f"{path.name}: a theme needs at least 'primary'; skipped")
    colors: dict[str, Any] = {k: _check_color(path, k, data[k]) for k in _COLOR_KEYS if k in data}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"{path.name}: [variables] must be a table; theme skipped")
    return Theme(
        name=name,
        dark=_flag(path, data, "dark", True),
        ansi=_flag(path, data, "ansi", False),
        variables={str(k): _check_variable(path, str(k), v) for k, v in variables.items()},
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


def css_problem(app: App[Any], theme: Theme) -> str | None:
    """Why ``theme`` cannot be applied to ``app``'s stylesheet, or None if it can.

    The last line of defence before a theme is switched to (themes registered in code,
    or a value the file checks let through): the app's CSS is parsed with the theme's
    variables on a copy, so a failure is a message instead of a crash.
    """
    try:
        variables = {
            **app.get_theme_variable_defaults(),
            **theme.to_color_system().generate(),
            **theme.variables,
        }
        for name in VARIABLE_DEFAULTS:  # the panes parse these themselves
            Color.parse(variables[name])
        sheet = app.stylesheet.copy()
        sheet.set_variables(variables)
        sheet.reparse()
    except Exception as err:  # any failure to parse means "cannot be applied"
        return " ".join(str(err).split())[:160] or type(err).__name__
    return None


def user_theme_dir(config_path: Path) -> Path:
    """Users' theme files live next to the config file: ``<config dir>/themes/``."""
    return config_path.parent / "themes"


def register_themes(app: App[Any], config_path: Path, wanted: str) -> list[str]:
    """Register the built-in and the user's themes on ``app`` and switch to ``wanted``
    (else :data:`DEFAULT_THEME`); returns the problems found, one line each."""
    themes, errors = load_themes([BUILTIN_DIR, user_theme_dir(config_path)])
    for theme in themes:
        app.register_theme(theme)
    if wanted in app.available_themes:
        app.theme = wanted
    else:
        errors.append(f"unknown theme {wanted!r}; using {DEFAULT_THEME}")
        app.theme = DEFAULT_THEME
    return errors


def usable_theme(app: App[Any], theme_name: str, warn: Callable[[str], None]) -> str:
    """``theme_name`` if the stylesheet can take it, else the current theme (and ``warn``
    says why not)."""
    theme = app.get_theme(theme_name)
    problem = None if theme is None else css_problem(app, theme)
    if problem is None:
        return theme_name
    warn(f"theme {theme_name} cannot be used ({problem}); keeping {app.theme}")
    return app.theme


def theme_colour(variables: dict[str, str], *names: str, default: str) -> Color:
    """The first of ``names`` that the theme defines as a colour, else ``default``.

    Lets ticktape's own variables (``up``, ``down``, ``block``) win when the
    app's themes define them while any Textual theme still works through the
    standard ones (``success``, ``error``, ``warning``).
    """
    for name in names:
        value = variables.get(name)
        if value:
            try:
                return Color.parse(value)
            except ColorParseError:  # e.g. "ansi_default" or an expression: try the next
                continue
    return Color.parse(default)

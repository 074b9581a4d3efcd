"""Settings from flags, environment, ``.env``, the config file and defaults (highest first).

The API key is held in a masking :class:`Secret`. See docs/config.md.
"""

from __future__ import annotations

import io
import math
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import tomlkit
from dotenv import dotenv_values
from tomlkit.items import AoT, Array, Comment, Table, Whitespace

from ticktape.safefile import write_atomic
from ticktape.timeutil import zone
from ticktape.watchlists import (
    DEFAULT_NAME,
    NamedList,
    check_name,
    find,
    parse_symbols,
    parse_watchlists,
)

#: Defaults follow the official ``massive`` client's hosts.
DEFAULT_WS_REALTIME: Final = "wss://socket.massive.com"
DEFAULT_WS_DELAYED: Final = "wss://delayed.massive.com"
DEFAULT_REST_URL: Final = "https://api.massive.com"
MARKETS: Final = ("stocks", "forex", "crypto")
DEFAULT_WATCHLIST: Final = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY")
BOM: Final = "\ufeff"

#: Environment variable → settings field.
ENV_VARS: Final[dict[str, str]] = {
    "POLYGON_API_KEY": "api_key",
    "MASSIVE_API_KEY": "api_key",
    "TICKTAPE_WS_URL": "ws_url",
    "TICKTAPE_REST_URL": "rest_url",
    "TICKTAPE_MARKET": "market",
    "TICKTAPE_FEED": "feed",
    "TICKTAPE_TZ": "tz",
    "TICKTAPE_FPS": "fps",
    "TICKTAPE_WATCHLIST": "watchlist",
    "TICKTAPE_THEME": "theme",
    "TICKTAPE_BANDWIDTH": "bandwidth",
    "TICKTAPE_CONFIG": "config_path",
}

#: Settings field → the command-line flag that sets it (for messages).
FLAGS: Final[dict[str, str]] = {"config_path": "--config"}


class ConfigFileError(Exception):
    """The config file cannot be read or parsed; the message names the file and line."""


class Secret(str):
    """A string whose ``repr``/``str`` never show it; use :meth:`reveal` to send it."""

    __slots__ = ()

    def reveal(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return "Secret('****')" if self else "Secret('')"

    def __str__(self) -> str:
        return "****" if self else ""

    def __format__(self, spec: str) -> str:
        return str(self)


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/ticktape/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ticktape" / "config.toml"


# -- one parser per setting: the value, or ValueError saying what is wrong with it ------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if _text(value) not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return parse


def _url(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).strip()
        if text and (urlsplit(text).scheme not in schemes or not urlsplit(text).netloc):
            raise ValueError(f"not a {' or '.join(s + '://' for s in schemes)} URL")
        return text

    return parse


def _tz(value: Any) -> str:
    # A zone the clock cannot render would otherwise surface as a traceback in the UI.
    text = _text(value)
    try:
        zone(text)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError("unknown time zone (try America/New_York or UTC)") from None
    return text


def _fps(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a number")
    try:
        fps = float(value)
    except ValueError:
        raise ValueError("not a number") from None
    if not (math.isfinite(fps) and 0 < fps <= 60):
        raise ValueError("fps must be above 0 and at most 60")
    return fps


def _theme(value: Any) -> str:
    if not _text(value).strip():
        raise ValueError("must name a theme")
    return str(value).strip()


def _alert_command(value: Any) -> tuple[str, ...]:
    # An argument list, never a shell line: a string is split like a shell would, but run
    # without one, so no quoting in it can start another command.
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as err:
            raise ValueError(f"cannot split it into arguments ({err})") from None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError('must be a list of arguments, like ["notify-send", "ticktape"]')
    return tuple(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str) and value.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return value.lower() in ("1", "true", "yes", "on")
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _config_path(value: Any) -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        raise ValueError("is a directory; give the path of a TOML file")
    return path


PARSERS: Final[dict[str, Callable[[Any], Any]]] = {
    "api_key": lambda v: Secret(_text(v).strip()),
    "market": _choice(*MARKETS),
    "feed": _choice("realtime", "delayed"),
    "ws_url": _url("ws", "wss"),
    "rest_url": _url("http", "https"),
    "tz": _tz,
    "fps": _fps,
    "watchlist": parse_symbols,
    "watchlists": parse_watchlists,
    "active_watchlist": check_name,
    "theme": _theme,
    "bandwidth": _choice("auto", "low", "normal"),
    "config_path": _config_path,
    "alert_command": _alert_command,
    "alert_bell": _flag,
    "alert_desktop": _flag,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. Build with :func:`load_settings`."""

    api_key: Secret = field(default=Secret(""))
    market: str = "stocks"
    feed: str = "realtime"  # realtime | delayed
    ws_url: str = ""  # base URL; the market path is appended. Empty → by feed.
    rest_url: str = DEFAULT_REST_URL
    tz: str = "America/New_York"
    fps: float = 10.0
    #: The list named "default" (see :meth:`lists`).
    watchlist: tuple[str, ...] = DEFAULT_WATCHLIST
    #: Named lists from ``[watchlists.NAME]`` tables, in file order (docs/config.md).
    watchlists: tuple[NamedList, ...] = ()
    #: The list shown at start ("" for the first).
    active_watchlist: str = ""
    #: Whether ``watchlist`` is a list: False when only named lists were given anywhere.
    default_list: bool = True
    theme: str = "ticktape-dark"
    bandwidth: str = "auto"  # low | normal | auto (normal; over SSH, low is offered once)
    config_path: Path = field(default_factory=default_config_path)
    #: Run for every fired alert (an argument list, never through a shell); see docs/alerts.md.
    alert_command: tuple[str, ...] = ()
    alert_bell: bool = True  # ring the terminal bell when an alert fires
    alert_desktop: bool = True  # a desktop notification through the terminal (OSC 9 / 777)
    #: Why the config file was not used this run ("" when it was, or there is none).
    config_problem: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Built directly (tests, sub-commands) the values are checked by the same parsers.
        for name in ("market", "feed", "tz", "fps", "bandwidth"):
            value = getattr(self, name)
            try:
                PARSERS[name](value)
            except ValueError as err:
                raise ValueError(f"{name} = {_show(value)}: {err}") from None

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    @property
    def ws_base(self) -> str:
        if self.ws_url:
            return self.ws_url.rstrip("/")
        return DEFAULT_WS_DELAYED if self.feed == "delayed" else DEFAULT_WS_REALTIME

    @property
    def ws_market_url(self) -> str:
        """The cluster URL: base plus ``/{market}``."""
        return f"{self.ws_base}/{self.market}"

    def lists(self) -> tuple[NamedList, ...]:
        """Every watchlist: "default" (``watchlist``, shown as ``[watchlists.default]`` says)
        first when there is one, then the named lists in file order."""
        named = [x for x in self.watchlists if x.name != DEFAULT_NAME or x.symbols is not None]
        if not self.default_list:
            return tuple(named)
        view = find((x for x in self.watchlists if x.symbols is None), DEFAULT_NAME)
        first = NamedList(DEFAULT_NAME, self.watchlist)
        if view is not None:
            first = replace(view, symbols=self.watchlist)
        return (first, *named)

    def active_list(self) -> NamedList:
        """The list shown at start (``active_watchlist``, else the first)."""
        lists = self.lists()
        return find(lists, self.active_watchlist) or lists[0]

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (parsed like any other source)."""
        raw = {
            k: _Raw(v, k if k == "api_key" else f"{k} = {_show(v)}")  # never show the key
            for k, v in changes.items()
            if v is not None
        }
        return replace(self, **_parse_all(raw))


# -- sources --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    """A value as a source gave it, and how to name it in a message."""

    value: Any
    where: str


def _show(value: Any) -> str:
    """A value as the user would have typed it in TOML (strings quoted)."""
    try:
        return str(tomlkit.item(value).as_string())
    except Exception:  # not representable in TOML: show it as Python would
        return repr(value)


def _parse_all(raw: Mapping[str, _Raw]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in raw.items():
        try:
            out[name] = PARSERS[name](item.value) if name in PARSERS else item.value
        except (ValueError, TypeError) as err:
            raise ValueError(f"{item.where}: {err}") from None
    return out


def _from_env(env: Mapping[str, str], where: str) -> dict[str, _Raw]:
    out: dict[str, _Raw] = {}
    # POLYGON_API_KEY wins over MASSIVE_API_KEY when both are set (listed first).
    for var, name in ENV_VARS.items():
        value = env.get(var)
        if value and name not in out:
            shown = var if name == "api_key" else f"{var}={_plain(value)}"  # never the key
            out[name] = _Raw(value, f"{shown} {where}")
    return out


def _plain(text: str) -> str:
    return text if text.isprintable() and text.strip() == text else repr(text)


def _from_dotenv(path: Path) -> dict[str, _Raw]:
    where = f"in {path}"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: {_not_utf8(err.object, err)}") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read it ({err.strerror})") from None
    values = dotenv_values(stream=io.StringIO(text))
    return _from_env({k: v for k, v in values.items() if v is not None}, where)


def _not_utf8(data: bytes, err: UnicodeDecodeError) -> str:
    line = data[: err.start].count(b"\n") + 1
    hint = (
        "; it looks like UTF-16: save it as UTF-8" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    )
    return f"line {line} is not UTF-8 text (byte 0x{data[err.start]:02x}){hint}"


def read_config_text(path: Path) -> str:
    """The config file's text (BOM removed), or :class:`ConfigFileError` naming file and line.

    A missing file reads as empty. The file counts as readable only if ``tomllib``
    parses it: that is the reader the app starts with.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    except OSError as err:
        raise ConfigFileError(f"config file {path}: cannot read it ({err.strerror})") from None
    try:
        text = data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as err:
        raise ConfigFileError(f"config file {path}: {_not_utf8(data, err)}") from None
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigFileError(f"config file {path}: {_toml_reason(err)}") from None
    return text


def _toml_reason(err: tomllib.TOMLDecodeError) -> str:
    """``Invalid value (at line 2, column 6)`` → ``line 2: invalid value (column 6)``."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(err))
    if found is None:
        what = str(err).removesuffix(" (at end of document)")
        return f"the end of the file is not valid TOML: {what[:1].lower()}{what[1:]}"
    what, line, column = found.groups()
    return f"line {line} is not valid TOML: {what[:1].lower()}{what[1:]} (column {column})"


def _from_toml(path: Path) -> dict[str, _Raw]:
    data = tomllib.loads(read_config_text(path))
    known = {f.name for f in fields(Settings)} & PARSERS.keys() - {"config_path"}
    return {
        # the watchlists' messages name the table and key themselves
        k: _Raw(v, f"config file {path}" if k == "watchlists" else f"{k} = {_show(v)} in {path}")
        for k, v in data.items()
        if k in known
    }


def load_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
) -> Settings:
    """Merge every source by the precedence rule in the module docstring.

    Raises ``ValueError`` with a one-line message naming the setting and its source
    for any bad value; a config file that cannot be parsed is instead reported in
    :attr:`Settings.config_problem` and skipped.
    """
    real_env = dict(os.environ if env is None else env)
    dot: dict[str, _Raw] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        dot = _from_dotenv(Path(dotenv_path).resolve())
    # .env never overrides the real environment. Resolve each to fields first, so a
    # .env POLYGON_API_KEY cannot beat a real MASSIVE_API_KEY (the key is one setting).
    env_values = {**dot, **_from_env(real_env, "in the environment")}
    cli_values = {
        k: _Raw(v, f"{FLAGS.get(k, '--' + k.replace('_', '-'))} {_plain(str(v))}")
        for k, v in (cli or {}).items()
        if v is not None
    }
    path_raw = cli_values.get("config_path") or env_values.get("config_path")
    config_path = default_config_path()
    if path_raw is not None:
        config_path = _parse_all({"config_path": path_raw})["config_path"]
    elif config_path.is_dir():
        raise ValueError(f"config file {config_path}: is a directory; move it aside")
    problem = ""
    try:
        file_values = _from_toml(config_path)
    except ConfigFileError as err:
        file_values, problem = {}, f"{err}; running on defaults, the file is left as it is"
    layered = {**file_values, **env_values, **cli_values}
    layered.pop("config_path", None)
    values = _parse_all(layered)
    _resolve_lists(values, "watchlist" in layered, "watchlist" in file_values, config_path)
    return Settings(**values, config_path=config_path, config_problem=problem)


def _resolve_lists(values: dict[str, Any], given: bool, in_file: bool, path: Path) -> None:
    """Which lists there are: ``watchlist`` is the one named "default" when any source set
    it, or when there is no named list (the built-in default then). A
    ``[watchlists.default]`` table with symbols may hold it instead of the top-level key,
    never beside it; the environment and the command line still override it."""
    named: tuple[NamedList, ...] = values.get("watchlists", ())
    table = next((x for x in named if x.name == DEFAULT_NAME and x.symbols is not None), None)
    if table is not None and table.symbols is not None:
        if in_file:
            raise ValueError(
                f"config file {path}: [watchlists.default] symbols and watchlist = [...] are"
                " both the default list; keep one"
            )
        values.setdefault("watchlist", table.symbols)
        values["watchlists"] = tuple(replace(x, symbols=None) if x is table else x for x in named)
        given = True
    values["default_list"] = given or not any(x.symbols is not None for x in named)
    active = values.get("active_watchlist")
    if active:
        keys = ("watchlist", "watchlists", "default_list")
        lists = Settings(**{k: values[k] for k in keys if k in values}).lists()
        if find(lists, active) is None:
            raise ValueError(
                f"active_watchlist = {_show(active)} in {path}: no list has that name"
                f" (there are {', '.join(x.name for x in lists)})"
            )


# -- writing the config ---------------------------------------------------------------------


def save_watchlist(settings: Settings, symbols: tuple[str, ...] | list[str]) -> bool:
    """Persist the watchlist in the config file, touching the ``watchlist`` key only.

    The file is edited in place with ``tomlkit`` (comments, order, layout, CRLF and
    a BOM all survive), written atomically, and the previous version is kept as
    ``config.toml.bak``. Returns False when nothing needed writing. Raises
    :class:`ConfigFileError` — and writes nothing — when the file on disk cannot be
    parsed now (the user's text is never replaced by the app's guess).
    """
    path = settings.config_path
    old = read_config_text(path)
    raw = path.read_bytes() if old else b""
    new = edit_watchlist(old, list(symbols))
    data = (BOM if raw.startswith(BOM.encode()) else "") + new
    if data.encode("utf-8") == raw:
        return False
    write_atomic(path, data.encode("utf-8"), backup=True)
    return True


def edit_watchlist(text: str, symbols: list[str]) -> str:
    """``text`` (a config file, BOM removed) with its watchlist set to ``symbols``.

    Kept symbols keep their spelling, comment and line; a removed one goes with its
    comment; a moved one takes its comment along; new ones are added where the user
    would have typed them. The result is checked to say exactly what was meant.
    """
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    doc = tomlkit.parse(text.replace("\r\n", "\n") if crlf else text)
    current = doc.get("watchlist")
    if isinstance(current, Array) and all(isinstance(v, str) for v in current):
        _edit_array(current, symbols)
    elif current is not None:  # the comma-separated string form: the list replaces it
        doc["watchlist"] = symbols
    else:
        _add_top_level(doc, "watchlist", symbols)
    out = tomlkit.dumps(doc)
    if crlf:
        out = out.replace("\n", "\r\n")
    if not _only_watchlist_changed(tomllib.loads(text), tomllib.loads(out), symbols):
        raise ConfigFileError("could not update the watchlist in place; the file is left as is")
    return out


def _only_watchlist_changed(
    before: dict[str, Any], after: dict[str, Any], symbols: list[str]
) -> bool:
    """The check before any write: every other key is as it was, the list is as asked."""
    rest_kept = {k: v for k, v in before.items() if k != "watchlist"} == {
        k: v for k, v in after.items() if k != "watchlist"
    }
    return rest_kept and [_key(v) for v in after.get("watchlist", [])] == [_key(s) for s in symbols]


def _add_top_level(doc: tomlkit.TOMLDocument, key: str, value: Any) -> None:
    """Add a key where a person would type it: after the last top-level key, else above
    the first table (and the comments that introduce it), else at the end."""
    body = doc.body
    tables = [i for i, (_, item) in enumerate(body) if isinstance(item, Table | AoT)]
    keys = [i for i, (k, item) in enumerate(body[: tables[0] if tables else None]) if k is not None]
    if keys:
        at = keys[-1] + 1
    elif tables:
        at = tables[0]
        while at > 0 and isinstance(body[at - 1][1], Comment):
            at -= 1
    else:
        at = len(body)
    if at >= len(body):  # nothing after it: tomlkit appends
        doc.append(key, value)
        return
    doc._insert_at(at, key, tomlkit.item(value))  # private: the public add() goes after tables


def _key(symbol: Any) -> str:
    return str(symbol).strip().upper()


def _edit_array(array: Array, symbols: list[str]) -> None:
    """The fewest edits that make ``array`` list ``symbols``, comments moving with items."""
    style = _array_style(array)
    wanted = [_key(s) for s in symbols]
    for i in reversed(range(len(array))):
        key = _key(array[i])
        if key not in wanted or [_key(v) for v in array[:i]].count(key):
            del array[i]
    for j, key in enumerate(wanted):
        have = [_key(v) for v in array]
        if j < len(have) and have[j] == key:
            continue
        if key in have:
            _move(array, have.index(key), j)
        else:
            array.insert(j, symbols[j])
    _restore_style(array, *style)


# tomlkit keeps an array as groups (indent, value, comma, comment) and has no public API
# for an item's comment or its separators: these helpers are the only private access.


def _groups(array: Array) -> list[Any]:
    return [g for g in array._value if g.value is not None]


def _array_style(array: Array) -> tuple[bool, bool]:
    """(last item has a trailing comma, items after the first are spaced)."""
    groups = _groups(array)
    trailing = bool(groups) and groups[-1].comma is not None
    spaced = any(g.indent is not None and g.indent.s.strip(",") for g in groups[1:])
    return trailing, spaced


def _restore_style(array: Array, trailing: bool, spaced: bool) -> None:
    """Moves can leave a comma or a space where the user's style had none (or vice versa)."""
    groups = _groups(array)
    if not groups:
        return
    groups[-1].comma = Whitespace(",") if trailing else None
    if spaced:
        for group in groups[1:]:
            if group.indent is None:
                group.indent = Whitespace(" ")
    array._reindex()


def _move(array: Array, src: int, dst: int) -> None:
    """Move one item, taking its trailing comment with it."""
    comment = array._value[array._index_map[src]].comment
    value = array[src]
    del array[src]
    array.insert(dst, value)
    array._value[array._index_map[dst]].comment = comment

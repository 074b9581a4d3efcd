"""Settings, from one precedence rule (highest first):

CLI flags → process environment → ``.env`` (never overriding the real
environment) → config file (``$XDG_CONFIG_HOME/ticktape/config.toml``) → defaults.

The API key is a secret: it is held in :class:`Secret`, whose ``repr``/``str``
mask it, so printing or logging settings cannot leak it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from dotenv import dotenv_values

from ticktape.timeutil import zone

#: Defaults follow the official ``massive`` client's hosts.
DEFAULT_WS_REALTIME: Final = "wss://socket.massive.com"
DEFAULT_WS_DELAYED: Final = "wss://delayed.massive.com"
DEFAULT_REST_URL: Final = "https://api.massive.com"
MARKETS: Final = ("stocks", "forex", "crypto")
DEFAULT_WATCHLIST: Final = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY")

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
    "TICKTAPE_CONFIG": "config_path",
}


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
    watchlist: tuple[str, ...] = DEFAULT_WATCHLIST
    theme: str = "ticktape-dark"
    config_path: Path = field(default_factory=default_config_path)

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise ValueError(f"market must be one of {', '.join(MARKETS)}, not {self.market!r}")
        if self.feed not in ("realtime", "delayed"):
            raise ValueError(f"feed must be 'realtime' or 'delayed', not {self.feed!r}")
        # Checked here, once, for every source (flag, env, .env, file): a zone the
        # clock cannot render would otherwise surface as a traceback from inside the UI.
        try:
            zone(self.tz)
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(
                f"unknown time zone {self.tz!r} (try America/New_York or UTC)"
            ) from None
        if not 0 < self.fps <= 60:
            raise ValueError(f"fps must be above 0 and at most 60, not {self.fps:g}")

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

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (coerced like any other source)."""
        return replace(self, **_coerce(changes))


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    """Turn strings from env/.env/TOML/CLI into typed field values."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "api_key":
            out[name] = Secret(str(value).strip())
        elif name == "fps":
            out[name] = float(value)
        elif name == "watchlist":
            items = value.split(",") if isinstance(value, str) else list(value)
            out[name] = tuple(s.strip().upper() for s in items if str(s).strip())
        elif name == "config_path":
            out[name] = Path(value).expanduser()
        else:
            out[name] = str(value)
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    # POLYGON_API_KEY wins over MASSIVE_API_KEY when both are set (listed first).
    for var, name in ENV_VARS.items():
        value = env.get(var)
        if value and name not in out:
            out[name] = value
    return out


def _from_toml(path: Path) -> dict[str, Any]:
    """Read the config file; a missing file is no error, a broken one is."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {path} is not valid TOML: {err}") from err
    known = {f.name for f in fields(Settings)}
    return {k: v for k, v in data.items() if k in known and k != "config_path"}


def load_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
) -> Settings:
    """Merge every source by the precedence rule in the module docstring."""
    real_env = dict(os.environ if env is None else env)
    dot: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        dot = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    # .env never overrides the real environment. Resolve each to fields first, so a
    # .env POLYGON_API_KEY cannot beat a real MASSIVE_API_KEY (the key is one setting).
    env_values = {**_from_env(dot), **_from_env(real_env)}
    cli_values = {k: v for k, v in (cli or {}).items() if v is not None}
    config_path = Path(
        cli_values.get("config_path") or env_values.get("config_path") or default_config_path()
    ).expanduser()
    layered: dict[str, Any] = {}
    for layer in (_from_toml(config_path), env_values, cli_values):
        layered.update(layer)
    layered["config_path"] = config_path
    return Settings(**_coerce(layered))


def save_watchlist(settings: Settings, symbols: tuple[str, ...] | list[str]) -> None:
    """Persist the watchlist in the config file, keeping the file's other keys."""
    path = settings.config_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("watchlist")]
    items = ", ".join(f'"{s}"' for s in symbols)
    # Top-level keys must precede any [table]; insert before the first one.
    insert_at = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    lines.insert(insert_at, f"watchlist = [{items}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)

"""``ticktape [SYMBOLS...]``: parse flags, pick the feed (or start the simulator), run the app.

The simulator is spawned before Textual is imported. See docs/architecture.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ticktape.config import DEFAULT_REST_URL, DEFAULT_WATCHLIST, MARKETS, Settings, load_settings
from ticktape.feed.clusters import cluster_of
from ticktape.feed.record import check_appendable
from ticktape.hub import discovery
from ticktape.hub.discovery import TOKEN_ENV
from ticktape.sim.process import SimProcess, app_sim_args
from ticktape.ui.bandwidth import colour_system
from ticktape.ui.symbols import normalize_symbol, symbol_hint
from ticktape.watchlists import DEFAULT_NAME

#: Starting lists when the saved one does not suit the chosen market.
MARKET_DEFAULTS = {
    "stocks": DEFAULT_WATCHLIST,
    "forex": ("EUR/USD", "GBP/USD", "USD/JPY", "AUD/USD", "USD/CAD", "USD/CHF"),
    "crypto": ("BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "DOGE-USD", "ADA-USD"),
}
SIM_KEY = "simulated"
#: Terminals whose fonts lack box-drawing and block glyphs (the Linux console's default
#: font has few of them; a vt100 none): --ascii is chosen for them.
ASCII_TERMS = frozenset({"vt100", "vt102", "vt220", "linux", "dumb"})


def wants_ascii(env: Mapping[str, str], *, utf8_mode: bool = False) -> bool:
    """Draw in plain ASCII: the locale says the terminal's charset is not UTF-8, or TERM
    names a terminal without the glyphs. The locale is the first of LC_ALL, LC_CTYPE and
    LANG that is set, as for every C program; with none set nothing is assumed.

    ``utf8_mode`` (``sys.flags.utf8_mode``): Python started in a C locale and, to read
    and write UTF-8 itself, set ``LC_CTYPE=C.UTF-8`` in our environment (PEP 538): that
    value says nothing about the terminal, so it is skipped.
    """
    if env.get("TERM", "") in ASCII_TERMS:
        return True
    names = ["LC_ALL", "LC_CTYPE", "LANG"]
    if utf8_mode and env.get("LC_CTYPE") == "C.UTF-8":
        names.remove("LC_CTYPE")
    locale = next((env[k] for k in names if env.get(k)), "")
    charset = locale.partition(".")[2].partition("@")[0].replace("-", "").lower()
    return bool(locale) and charset != "utf8"


#: An auto-started hub exits this long after its last client leaves (like ssh ControlPersist).
HUB_IDLE_EXIT_S = 60.0
HUB_START_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape",
        description="Keyboard-driven market monitor. Press ? in the app for every key.",
        epilog="Sub-commands: ticktape sim | bars | replay | serve (ticktape help lists them).",
    )
    p.add_argument("symbols", nargs="*", metavar="SYMBOL", help="watchlist (default: saved)")
    p.add_argument("--symbols", dest="symbols_csv", metavar="A,B,C", help="watchlist, comma list")
    p.add_argument(
        "--market",
        choices=MARKETS,
        help="the market of bare symbols: stocks (default), forex or crypto (a list may mix:"
        " AAPL BTC-USD EUR/USD)",
    )
    p.add_argument("--feed", choices=("realtime", "delayed"), help="real-time or 15-min delayed")
    p.add_argument("--sim", action="store_true", help="use the built-in simulator even with a key")
    p.add_argument("--seed", type=int, default=0, help="simulator random seed (with --sim)")
    p.add_argument(
        "--hub",
        default=os.environ.get("TICKTAPE_HUB") or "auto",
        metavar="auto|off|URL",
        help="share one upstream connection through `ticktape hub`: auto (default) uses a"
        " running hub or starts one; off connects directly; URL names a hub (token from"
        f" ${TOKEN_ENV}); default from $TICKTAPE_HUB",
    )
    p.add_argument("--ws-url", help="websocket base URL (the market path is appended)")
    p.add_argument("--rest-url", help="REST base URL")
    # `ticktape serve`: --ws-url/--rest-url are its shared simulator; say SIMULATED.
    p.add_argument("--shared-sim", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--fps", type=float, help="screen refreshes per second (default 10)")
    p.add_argument("--tz", help="clock and tape time zone (default America/New_York)")
    p.add_argument("--theme", help="ticktape-dark, ticktape-light, ticktape-contrast, or yours")
    p.add_argument(
        "--ascii",
        action=argparse.BooleanOptionalAction,
        help="no box-drawing or block glyphs (default: on when the locale is not UTF-8,"
        " e.g. LANG=C, or TERM is vt100/linux; --no-ascii forces Unicode)",
    )
    p.add_argument(
        "--bandwidth",
        choices=("low", "normal"),
        help="low: fewer bytes for slow links (tape once a second, 256 colours, no flashes)",
    )
    p.add_argument("--config", dest="config_path", help="config file path")
    p.add_argument(
        "--record",
        metavar="FILE",
        help="record every frame received to FILE (gzip JSON lines; R in the app toggles it)."
        " An existing ticktape recording is appended to; any other existing file is refused",
    )
    return p


def _watchlist(args: argparse.Namespace, market: str) -> tuple[str, ...] | None:
    raw = list(args.symbols)
    if args.symbols_csv:
        raw += args.symbols_csv.split(",")
    if not raw:
        return None
    out: list[str] = []
    for text in raw:
        symbol = normalize_symbol(text, market)
        if symbol is None:
            raise SystemExit(f"ticktape: {text!r} is not a symbol (e.g. {symbol_hint()})")
        out.append(symbol)
    return tuple(dict.fromkeys(out))


def _saved_watchlist(settings: Settings, *, explicit: bool) -> tuple[str, ...]:
    """The saved list, whatever markets it mixes; ``--market M`` typed with no symbols and a
    list holding none of M's starts from M's defaults (``ticktape --market crypto`` shows
    crypto). A list with no valid symbol at all starts from the market's defaults too."""
    # Saved symbols are canonical: a bare word there is a ticker, whatever --market says.
    valid = tuple(s for s in settings.watchlist if normalize_symbol(s) == s)
    if explicit and not any(cluster_of(s) == settings.market for s in valid):
        valid = ()
    return valid or MARKET_DEFAULTS[settings.market]


def settings_for(args: argparse.Namespace) -> Settings:
    cli = {
        "market": args.market,
        "feed": args.feed,
        "ws_url": args.ws_url,
        "rest_url": args.rest_url,
        "fps": args.fps,
        "tz": args.tz,
        "theme": args.theme,
        "bandwidth": getattr(args, "bandwidth", None),  # not every sub-command has it
        "config_path": args.config_path,
    }
    settings = load_settings(cli=cli)
    symbols = _watchlist(args, settings.market)
    lists: dict[str, object] = {}
    if symbols is not None:  # the command line's symbols are the default list, shown this run
        lists = {"watchlist": symbols, "active_watchlist": DEFAULT_NAME, "default_list": True}
    elif settings.default_list:
        lists = {"watchlist": _saved_watchlist(settings, explicit=args.market is not None)}
    fps = settings.fps
    env_fps = os.environ.get("TEXTUAL_FPS")
    if args.fps is None and env_fps:  # respect a lower global Textual frame cap
        with contextlib.suppress(ValueError):
            fps = min(fps, float(env_fps))
    return settings.with_(**lists, fps=fps)


def _record_problem(path: Path) -> str | None:
    """Why recording to ``path`` cannot start (the app would only say it in a notice)."""
    if not path.parent.is_dir():
        return f"no directory {path.parent}"
    try:
        check_appendable(path)
    except OSError as err:
        return err.strerror or str(err)
    return None


def _quiet_logging() -> None:
    """Log to $TICKTAPE_LOG if set; never to the terminal the app is drawing on."""
    path = os.environ.get("TICKTAPE_LOG")
    handler: logging.Handler = logging.FileHandler(path) if path else logging.NullHandler()
    logging.basicConfig(level=logging.INFO if path else logging.WARNING, handlers=[handler])


def _hub(
    args: argparse.Namespace, settings: Settings, notes: list[str] | None = None
) -> discovery.HubAddress | None:
    """The hub to connect through: named, running, or started now (None: go direct, and
    ``notes`` says why)."""
    if args.hub != "auto":
        named = discovery.named_hub(args.hub, os.environ.get(TOKEN_ENV, "").strip())
        if named is None:
            raise SystemExit(f"ticktape: --hub must be auto, off or a hub's URL, not {args.hub!r}")
        if not named.token:
            raise SystemExit(f"ticktape: --hub URL needs the hub's token in ${TOKEN_ENV}")
        return named
    found = discovery.find_hub()
    if found is not None and found.feed not in (None, settings.feed):
        _say(
            notes,
            f"the running hub serves the {found.feed} feed; connecting directly"
            f" for {settings.feed}",
        )
        return None
    if found is not None and not found.relays_ws_of(settings.ws_base):
        # The feed label would say LIVE over another server's data.
        _say(
            notes,
            f"the running hub relays {found.upstream_ws}, not {settings.ws_base};"
            " connecting directly",
        )
        return None
    if found is not None:
        return found
    hub_args = ["--idle-exit", f"{HUB_IDLE_EXIT_S:g}"]
    for flag, value in (("--feed", settings.feed), ("--ws-url", args.ws_url)):
        if value:
            hub_args += [flag, value]
    if args.rest_url:
        hub_args += ["--rest-url", args.rest_url]
    child = discovery.start_detached(hub_args)
    found = discovery.wait_for_hub(HUB_START_TIMEOUT_S, child=child)
    if found is None:
        log_path = discovery.runtime_dir() / discovery.LOG_NAME
        _say(notes, f"the hub did not start (see {log_path}); connecting directly")
    return found


def _say(notes: list[str] | None, text: str) -> None:
    """Said on stderr (seen after the app quits) and kept to be said in the app too."""
    print(f"ticktape: {text}", file=sys.stderr)
    if notes is not None:
        notes.append(text)


def _keyless_hub(
    args: argparse.Namespace, settings: Settings, notes: list[str]
) -> discovery.HubAddress | None:
    """Without a key: a hub already running here (an edge hub holds none: the origin on
    another machine does) or one named with ``--hub URL``; never one started now."""
    if args.sim or args.shared_sim or args.hub == "off":
        return None
    if args.hub != "auto":
        return _hub(args, settings, notes)
    return discovery.find_hub()


def conflict(args: argparse.Namespace) -> str | None:
    """Flags that ask for two different feeds at once (both typed now: neither can win)."""
    named = [
        flag for flag, value in (("--ws-url", args.ws_url), ("--rest-url", args.rest_url)) if value
    ]
    if args.sim and named:
        return (
            f"--sim runs the built-in simulator but {' and '.join(named)} names a server:"
            " give one or the other"
        )
    return None


def checked_settings(args: argparse.Namespace, prog: str) -> Settings | None:
    """The settings the app's flags ask for, or None after saying on stderr why there are
    none (flags that contradict each other, a bad value from any source)."""
    problem = conflict(args)
    if problem is None:
        try:
            return settings_for(args)
        except ValueError as err:
            problem = str(err)
    print(f"{prog}: {problem}", file=sys.stderr)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    settings = checked_settings(args, "ticktape")
    if settings is None:
        return 2
    record = Path(args.record) if args.record else None
    if record is not None:  # say so now, not inside the app
        problem = _record_problem(record)
        if problem:
            print(f"ticktape: cannot record to {record}: {problem}", file=sys.stderr)
            return 2
    named = settings.ws_url or settings.rest_url != DEFAULT_REST_URL
    if not args.sim and not settings.has_key and named:
        # Without a key ticktape runs its own simulator; silently not using the server
        # the user named would look like that server's data.
        print(
            "ticktape: a server URL is set (--ws-url/--rest-url or TICKTAPE_*_URL) but no API"
            " key: set POLYGON_API_KEY (any value for a local `ticktape sim`), or drop the"
            " URL to run on the built-in simulator",
            file=sys.stderr,
        )
        return 2
    _quiet_logging()
    sim: SimProcess | None = None
    label = "DELAYED 15 min" if settings.feed == "delayed" else "LIVE"
    if args.shared_sim:
        label = "SIMULATED"
    notes: list[str] = []
    keyless = None if settings.has_key else _keyless_hub(args, settings, notes)
    if keyless is not None:
        settings = settings.with_(
            ws_url=keyless.ws_url, rest_url=keyless.rest_url, api_key=keyless.token
        )
        label += " via hub"
    elif args.sim or not settings.has_key:
        sim_args = app_sim_args(args.seed, settings.active_list().symbols or ())
        sim = SimProcess(*sim_args, wait=False)  # boots while Textual is imported below
        settings, label = settings.with_(api_key=SIM_KEY), "SIMULATED"
    elif args.hub != "off" and not args.shared_sim:
        hub = _hub(args, settings, notes)
        if hub is not None:
            settings = settings.with_(ws_url=hub.ws_url, rest_url=hub.rest_url, api_key=hub.token)
            label += " via hub"
    colours = colour_system(settings.bandwidth, os.environ)
    if colours is not None:  # read by Textual when it is imported, just below
        os.environ["TEXTUAL_COLOR_SYSTEM"] = colours
    auto_ascii = wants_ascii(os.environ, utf8_mode=bool(sys.flags.utf8_mode))
    with sim or contextlib.nullcontext():
        from ticktape.ui.app import TicktapeApp

        app = TicktapeApp(
            settings,
            feed_label=label,
            feed_urls=None if sim is None else sim.started,
            ascii_only=args.ascii if args.ascii is not None else auto_ascii,
            record_path=record,
        )
        for note in notes:
            app.notice(note)
        if args.sim and named:  # a saved URL gives way to the flag typed now: say so
            app.notice("--sim: on the built-in simulator; the configured server URL is not used")
        try:
            app.run()
        finally:
            app.recorder.stop()  # however the app ended, the recording gets its gzip trailer
    return app.return_code or 0

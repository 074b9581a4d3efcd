"""``ticktape serve``: the app in browser tabs, one process per tab; without a key every
tab joins one simulator, with one serve ensures the hub and each tab is its client.
See docs/serve.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ticktape.commands import run
from ticktape.commands.argtypes import int_at_least, port
from ticktape.config import DEFAULT_REST_URL, Settings
from ticktape.hub import discovery
from ticktape.hub.discovery import TOKEN_ENV
from ticktape.sim.process import SimProcess, SimProcessError, app_sim_args
from ticktape.web import policy
from ticktape.web.server import Gate, TabCommand, TicktapeServer

#: Environment variables that carry the real key; a tab that needs no key gets neither.
KEY_VARS = ("POLYGON_API_KEY", "MASSIVE_API_KEY")
#: Server URLs from the environment: a hub client's server is the hub, named in its argv.
URL_VARS = ("TICKTAPE_WS_URL", "TICKTAPE_REST_URL")

SECURITY = """\
security: the page and its websocket are plain HTTP. Serve on loopback (the default)
and reach it from elsewhere through SSH forwarding, e.g. from your laptop:
    ssh -L 8000:127.0.0.1:8000 HOST      then open http://localhost:8000
or behind a TLS proxy (give its address with --public-url). Any other --host, or a
--public-url off loopback, needs --token-file: the page asks for the token once, or
takes it from ?token= in the URL, and keeps it in an HttpOnly cookie; anything else
gets 401 and starts no process.

app options: any option of plain `ticktape` (ticktape --help), e.g. symbols,
--market, --theme, --sim, --seed. They apply to every tab."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape serve",
        usage="ticktape serve [serve options] [app options...]",
        description="Serve the ticktape app to web browsers: each tab runs its own app.",
        epilog=SECURITY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # a prefix must not swallow an app option
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="0 lets the OS choose (default 8000)")
    p.add_argument("--public-url", metavar="URL", help="the URL browsers use, when behind a proxy")
    p.add_argument(
        "--max-apps",
        type=int_at_least(1),
        default=8,
        metavar="N",
        help="app processes at once; tab N+1 is told to wait (default 8)",
    )
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="file holding the token browsers must give (required off loopback)",
    )
    return p


@dataclass(frozen=True)
class Feed:
    """Where the tabs' data comes from: ``kind`` is "sim", "hub" or "direct"."""

    kind: str
    ws_url: str = ""
    rest_url: str = ""
    key: str = ""  # the shared simulator's own key, or the hub's token


def app_accepts_hub(parser: argparse.ArgumentParser) -> bool:
    """Whether this build's app has ``--hub`` (asked of its parser, not assumed)."""
    try:
        ns, extra = parser.parse_known_args(["--hub", "auto"])
    except SystemExit:  # --hub exists but "auto" is not one of its choices
        return False
    return not extra and getattr(ns, "hub", None) == "auto"


def app_argv(parser: argparse.ArgumentParser, ns: argparse.Namespace, drop: set[str]) -> list[str]:
    """The app's options as flags again, from its parsed namespace, less ``drop`` (dests).

    Rebuilt rather than copied from the command line so that an option typed in any
    spelling (``--seed=3``, ``--se 3``) is dropped alike when a tab must not get it.
    """
    flags: list[str] = []
    positional: list[str] = []
    for action in parser._actions:
        value = getattr(ns, action.dest, None)
        if action.dest in drop or value is None or value == action.default:
            continue
        if not action.option_strings:
            positional += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif isinstance(action, argparse.BooleanOptionalAction):  # --ascii / --no-ascii
            flags.append(action.option_strings[0 if value else 1])
        elif action.nargs == 0:
            flags.append(action.option_strings[-1])
        else:
            flags += [action.option_strings[-1], str(value)]
    return flags + positional


def tab_command(
    parser: argparse.ArgumentParser,
    ns: argparse.Namespace,
    feed: Feed,
    env: Mapping[str, str],
) -> tuple[list[str], dict[str, str]]:
    """Each tab's argv and environment: the one place that decides what a tab gets.

    - sim: the app joins the shared simulator; its key is the simulator's, by
      environment; the real key is scrubbed.
    - hub: ``--hub URL`` of the hub serve ensured, its token as TOKEN_ENV in the
      environment; the real key is scrubbed (the hub holds it, the tab needs none).
    - direct: the app as typed, with the key it needs.
    """
    has_hub = app_accepts_hub(parser)
    child = dict(env)
    argv = [sys.executable, "-m", "ticktape"]
    if feed.kind == "sim":
        for name in KEY_VARS:
            child.pop(name, None)
        child["POLYGON_API_KEY"] = feed.key
        argv += app_argv(
            parser, ns, {"sim", "seed", "ws_url", "rest_url", "shared_sim", "hub", "help"}
        )
        argv += ["--ws-url", feed.ws_url, "--rest-url", feed.rest_url, "--shared-sim"]
        if has_hub:  # the simulator is on this machine: no hub in between
            argv += ["--hub", "off"]
    elif feed.kind == "hub" and has_hub:
        for name in (*KEY_VARS, *URL_VARS):
            child.pop(name, None)
        child[TOKEN_ENV] = feed.key
        argv += app_argv(parser, ns, {"hub", "ws_url", "rest_url", "help"})
        argv += ["--hub", feed.ws_url]
    else:
        argv += app_argv(parser, ns, {"help"})
    return argv, child


def _fail(message: str) -> int:
    print(f"ticktape serve: {message}", file=sys.stderr)
    return 2


def _app_options(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace] | str:
    """The app's own parser and the tabs' options, or why they cannot be served."""
    parser = run.build_parser()
    ns, extra = parser.parse_known_args(argv)
    if extra:
        return f"unrecognized arguments: {' '.join(extra)} (ticktape serve --help)"
    if ns.record:
        return "--record: every tab would write the same file; record from a terminal ticktape"
    conflict = run.conflict(ns)
    return conflict if conflict else (parser, ns)


#: Why a build without the hub serves one tab at a time with a real key.
DIRECT_CAP_REASON = (
    "Without the hub every tab opens its own upstream connection, and the upstream"
    " allows one per key: one tab at a time."
)


async def _watch(sim: SimProcess, stop: asyncio.Event) -> None:
    """A dead simulator leaves every tab reconnecting forever: stop serving and say so."""
    status = await sim.exited()
    print(f"ticktape serve: the shared simulator exited (status {status})", file=sys.stderr)
    stop.set()


class HubTabs:
    """Each tab's command for the hub running now. An auto-started hub exits a while
    after its last client leaves, so a later tab finds or starts it again (run.py's own
    discovery and start); if that fails the tab gets the last command and reconnects."""

    def __init__(
        self,
        ensure: Callable[[], discovery.HubAddress | None],
        build: Callable[[Feed], TabCommand],
        hub: discovery.HubAddress,
    ) -> None:
        self._ensure = ensure
        self._build = build
        self.last = build(hub_feed(hub))

    async def __call__(self) -> TabCommand:
        hub = await asyncio.to_thread(self._ensure)  # may wait for a hub to start
        if hub is not None:
            self.last = self._build(hub_feed(hub))
        return self.last


def hub_feed(hub: discovery.HubAddress) -> Feed:
    return Feed("hub", hub.ws_url, hub.rest_url, hub.token)


def ensure_hub(ns: argparse.Namespace, settings: Settings) -> discovery.HubAddress | None:
    """The hub the tabs use: named by --hub URL, running, or started now (None: none)."""
    return None if ns.hub == "off" else run._hub(ns, settings)


async def _serve(
    args: argparse.Namespace,
    tab: TabCommand,
    gate: Gate,
    sim: SimProcess | None,
    make_tab: Callable[[], Awaitable[TabCommand]] | None = None,
) -> int:
    server = TicktapeServer(tab, gate, make_tab=make_tab)
    runner = web.AppRunner(await server.make_app(), access_log=None, shutdown_timeout=10)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as err:
        await runner.cleanup()
        where = f"{args.host}:{args.port}"
        print(f"ticktape serve: cannot listen on {where}: {err.strerror}", file=sys.stderr)
        return 1
    host, bound = runner.addresses[0][:2]
    shown = f"[{host}]" if ":" in host else host
    print(args.public_url or f"http://{shown}:{bound}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(_watch(sim, stop)) if sim is not None else None
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    if watch is None:
        return 0
    if not watch.done():
        watch.cancel()
        return 0
    return 1


def feed_kind(sim: bool, has_key: bool, parser: argparse.ArgumentParser) -> str:
    """ "sim" without a key or with --sim; with a key "hub" if the app has --hub, else "direct"."""
    if sim or not has_key:
        return "sim"
    return "hub" if app_accepts_hub(parser) else "direct"


def tab_cap(kind: str, max_apps: int) -> tuple[int, str]:
    """Tabs allowed at once and why, when it is not simply ``--max-apps``."""
    return (1, DIRECT_CAP_REASON) if kind == "direct" else (max_apps, "")


def _token(args: argparse.Namespace) -> str | None:
    """The token browsers must give (None: loopback without one); raises ValueError."""
    if not policy.token_required(args.host, args.token_file, args.public_url):
        return None
    if args.token_file is None:
        where = args.host if not policy.is_loopback(args.host) else args.public_url
        raise ValueError(f"serving {where} (not loopback) needs --token-file PATH")
    return policy.read_token(args.token_file)


def _start_sim(ns: argparse.Namespace, watchlist: Sequence[str]) -> tuple[SimProcess, Feed]:
    """The one simulator every tab joins, with a fresh key of its own."""
    key = secrets.token_urlsafe(24)
    sim = SimProcess(*app_sim_args(ns.seed, watchlist), api_key=key)
    return sim, Feed("sim", sim.ws_url, sim.rest_url, key)


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    options = _app_options(rest)
    if isinstance(options, str):
        return _fail(options)
    parser, ns = options
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        return _fail(f"--public-url {args.public_url}: give the http:// or https:// URL")
    try:
        token = _token(args)
        settings = run.settings_for(ns)
    except ValueError as err:  # TokenFileError included
        return _fail(str(err))
    if not policy.is_loopback(args.host):
        print(
            f"ticktape serve: {args.host} is reachable from other machines over plain HTTP:"
            " the token and the screen travel unencrypted unless behind TLS or an SSH tunnel",
            file=sys.stderr,
        )
    named = settings.ws_url or settings.rest_url != DEFAULT_REST_URL
    if not ns.sim and not settings.has_key and named:
        return _fail("a server URL is set but no API key: set POLYGON_API_KEY, or drop the URL")
    kind = feed_kind(ns.sim, settings.has_key, parser)
    sim: SimProcess | None = None
    hub: discovery.HubAddress | None = None
    feed = Feed(kind)
    if kind == "hub":  # before any tab: one hub, started or reused, for all of them
        hub = ensure_hub(ns, settings)
        feed = Feed("direct") if hub is None else hub_feed(hub)
    max_apps, reason = tab_cap(feed.kind, args.max_apps)
    if reason:
        print(f"ticktape serve: no hub. {reason}", file=sys.stderr)
    if feed.kind == "sim":
        try:
            sim, feed = _start_sim(ns, settings.watchlist)
        except SimProcessError as err:
            return _fail(str(err))

    def build(feed: Feed) -> TabCommand:
        argv, child_env = tab_command(parser, ns, feed, dict(os.environ))
        return TabCommand(tuple(argv), child_env)

    make_tab = None if hub is None else HubTabs(lambda: ensure_hub(ns, settings), build, hub)
    gate = Gate(token=token, max_apps=max_apps, public_url=args.public_url, cap_reason=reason)
    try:
        return asyncio.run(_serve(args, build(feed), gate, sim, make_tab))
    finally:
        if sim is not None:
            sim.close()

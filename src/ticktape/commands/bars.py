"""``ticktape bars``: download aggregate bars to CSV or Parquet, or plot them.

Streams page by page; stdout carries data only; one exit code per cause. Goes
through a running ``ticktape hub`` when there is one. See docs/architecture.md
and docs/hub-rest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from ticktape.commands.argtypes import int_at_least, int_between
from ticktape.commands.bars_output import (
    COLUMNS,
    HUB_WAIT_TEXT,
    CandleReducer,
    FileTarget,
    ProgressView,
    Sink,
    open_sink,
    plot,
    plot_size,
    plot_too_small,
    wait_text,
)
from ticktape.config import Settings, load_settings
from ticktape.feed.rest import (
    MAX_LIMIT,
    TIMESPANS,
    AuthError,
    NetworkError,
    NotEntitledError,
    RateLimitedError,
    RestClient,
    RestError,
    RetryWait,
    ServerError,
)
from ticktape.hub import discovery
from ticktape.timeutil import EXCHANGE_TZ, zone

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_DATA = 3
EXIT_AUTH = 4
EXIT_NOT_ENTITLED = 5
EXIT_NETWORK = 6
EXIT_INTERRUPTED = 130

EPILOG = f"""\
output: CSV with columns {",".join(COLUMNS)};
  datetime is ISO 8601 with the UTC offset of --tz. A FILE ending in .parquet
  gets Parquet (needs the optional extra: pip install 'ticktape[parquet]').
  With --plot and no --out, only the chart is printed.
  An existing FILE is refused unless --force; either way the bars are written to
  FILE.XXXX.part beside it and moved over FILE only once the download is complete,
  so an interrupted download never replaces a file that was there (a new FILE
  gets every complete page so far).
tickers: stocks AAPL, forex C:EURUSD, crypto X:BTCUSD.
key: POLYGON_API_KEY or MASSIVE_API_KEY (environment or .env); without one,
  --sim serves simulated bars so you can try it.
hub: with --hub auto (the default) the requests go through a running
  `ticktape hub` that relays the same REST server: finished history comes from
  its cache, identical requests are made once, and it waits out the plan's rate
  limit for everyone ("waiting for the rate limit" on stderr). bars never starts
  a hub itself; without one it goes directly. --hub off always goes directly;
  --hub URL names a hub, its token in ${discovery.TOKEN_ENV}.
exit codes:
  {EXIT_OK}    success
  {EXIT_ERROR}    other error
  {EXIT_USAGE}    bad arguments (dates, --from after --to, zone, output file)
  {EXIT_NO_DATA}    no bars in the range (market closed, or wrong symbol)
  {EXIT_AUTH}    no API key, or the key was rejected
  {EXIT_NOT_ENTITLED}    your plan does not include this data
  {EXIT_NETWORK}    network or server down, or rate limited, after retries
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); the file (or, with --force, the .part file beside
       it) holds every complete page so far
"""


#: How often bars asks a hub whether it holds our request for the rate limit (seconds).
HUB_ASK_EVERY = 1.0


class CliError(Exception):
    """A failure to report as one line on stderr with a specific exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- arguments


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape bars",
        description="Download aggregate (OHLCV) bars for one ticker, page by page.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("symbol", help="ticker: AAPL, C:EURUSD, X:BTCUSD")
    p.add_argument("--from", dest="from_", required=True, metavar="DATE", help="YYYY-MM-DD")
    p.add_argument("--to", required=True, metavar="DATE", help="YYYY-MM-DD (inclusive)")
    p.add_argument(
        "--multiplier",
        type=int_at_least(1),
        default=1,
        metavar="N",
        help="bar size in timespans (1)",
    )
    p.add_argument("--timespan", default="minute", choices=sorted(TIMESPANS), help="(minute)")
    adj = p.add_mutually_exclusive_group()
    adj.add_argument(
        "--adjusted",
        dest="adjusted",
        action="store_true",
        default=True,
        help="split-adjusted prices (the default)",
    )
    adj.add_argument("--unadjusted", dest="adjusted", action="store_false", help="prices as traded")
    p.add_argument("--out", metavar="FILE", help="output file, or - for stdout (the default)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out FILE (only once the download is complete)",
    )
    p.add_argument(
        "--tz",
        default=EXCHANGE_TZ,
        metavar="ZONE",
        help=f"zone of the datetime column ({EXCHANGE_TZ})",
    )
    p.add_argument("--plot", action="store_true", help="draw the bars as candles in the terminal")
    p.add_argument("--sim", action="store_true", help="use the built-in simulator, not the service")
    p.add_argument(
        "--rest-url", metavar="URL", help="REST base URL (default: settings / TICKTAPE_REST_URL)"
    )
    p.add_argument(
        "--hub",
        default=os.environ.get("TICKTAPE_HUB") or "auto",
        metavar="auto|off|URL",
        help="auto (default): through a running `ticktape hub`, else directly; off: directly;"
        f" URL: that hub, token in ${discovery.TOKEN_ENV}; default from $TICKTAPE_HUB",
    )
    p.add_argument(
        "--limit",
        type=int_between(1, MAX_LIMIT),
        default=MAX_LIMIT,
        metavar="N",
        help=f"bars per page ({MAX_LIMIT})",
    )
    p.add_argument(
        "--retries",
        type=int_at_least(0),
        default=6,
        metavar="N",
        help="retries per page before giving up (6)",
    )
    return p


@dataclass(frozen=True)
class Request:
    """Validated arguments."""

    symbol: str
    start: date
    end: date
    multiplier: int
    timespan: str
    adjusted: bool
    out: str | None  # None: no data output (only with --plot); "-": stdout
    force: bool  # an existing ``out`` may be replaced
    tz: str
    plot: bool
    limit: int
    retries: int


@dataclass(frozen=True)
class Route:
    """Where the requests go, with which credential: the API key when direct, the hub's
    token through a hub (the key then stays in the hub)."""

    rest_url: str
    credential: str
    via_hub: bool = False


_TICKER = re.compile(r"[A-Z0-9.:^_-]{1,32}")


def _parse_date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"bad date {text!r} for {flag}: use YYYY-MM-DD", EXIT_USAGE) from None


def _validate(ns: argparse.Namespace) -> Request:
    start, end = _parse_date(ns.from_, "--from"), _parse_date(ns.to, "--to")
    if start > end:
        raise CliError(f"--from {start} is after --to {end}", EXIT_USAGE)
    symbol = ns.symbol.strip().upper()
    if not _TICKER.fullmatch(symbol):
        raise CliError(f"{ns.symbol!r} is not a ticker (e.g. AAPL, C:EURUSD, X:BTCUSD)", EXIT_USAGE)
    try:
        zone(ns.tz)
    except (KeyError, ValueError):
        raise CliError(
            f"unknown time zone {ns.tz!r} (try America/New_York or UTC)", EXIT_USAGE
        ) from None
    out = ns.out if ns.out is not None else (None if ns.plot else "-")
    if out not in (None, "-"):
        _check_out(Path(out), ns.force)
        if Path(out).suffix.lower() == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise CliError(
                    "writing .parquet needs pyarrow: pip install 'ticktape[parquet]'"
                    " (or write .csv)",
                    EXIT_USAGE,
                ) from None
    return Request(
        symbol,
        start,
        end,
        ns.multiplier,
        ns.timespan,
        ns.adjusted,
        out,
        ns.force,
        ns.tz,
        ns.plot,
        ns.limit,
        ns.retries,
    )


def _check_out(path: Path, force: bool) -> None:
    """Refuse an output path that cannot be written, or that holds a file not to be lost."""
    if not path.parent.is_dir():
        raise CliError(f"cannot write {path}: {path.parent} is not a directory", EXIT_USAGE)
    if path.exists() and not path.is_file():
        raise CliError(f"cannot write {path}: not a regular file (--out - is stdout)", EXIT_USAGE)
    if path.exists() and not force:
        raise CliError(
            f"{path} exists: add --force to replace it (once the download is complete)",
            EXIT_USAGE,
        )


def _range_ms(req: Request) -> tuple[int, int]:
    """The requested range in Unix ms, whole days in the exchange zone (for the progress bar)."""
    tz = zone(EXCHANGE_TZ)
    lo = datetime(req.start.year, req.start.month, req.start.day, tzinfo=tz)
    end = req.end + timedelta(days=1)
    hi = datetime(end.year, end.month, end.day, tzinfo=tz)
    return int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)


def _open(req: Request, outcome: Outcome) -> Sink:
    assert req.out is not None
    try:
        if req.out != "-":
            outcome.target = FileTarget(Path(req.out), replace=req.force)
        return open_sink(req.out, req.tz, outcome.target)
    except OSError as err:
        raise CliError(f"cannot write {req.out}: {err.strerror}", EXIT_USAGE) from None


def _settle(outcome: Outcome) -> str:
    """Put the output file in place (see FileTarget); say where the bars went, if anywhere."""
    target, outcome.target = outcome.target, None
    if target is None:
        return ""
    if outcome.bars == 0:  # nothing but a header: no file is better than an empty one
        target.part.unlink(missing_ok=True)
        return ""
    where = target.finish(complete=outcome.complete)
    if where == target.path:
        return f" to {where}"
    outcome.kept_aside = True
    return f" to {where} ({target.path} was left as it was)"


# --------------------------------------------------------------------------- download


@dataclass
class Outcome:
    """What happened so far; read after an interrupt to report how much was saved."""

    pages: int = 0
    bars: int = 0
    sink: Sink | None = None
    target: FileTarget | None = None
    cached: int = 0  # pages a hub answered from its cache
    complete: bool = False  # every page of the range arrived
    kept_aside: bool = False  # the bars are in a .part file; the file at --out was kept


async def _countdown(view: ProgressView) -> None:
    while True:
        view.tick()
        await asyncio.sleep(0.25)


def _say_wait(wait: RetryWait) -> None:
    """Without a progress bar, each pause is one line on stderr (a hub's rate-limit wait
    included), so a log says why the download was slow rather than nothing."""
    print(f"ticktape bars: {wait_text(wait.reason, wait.seconds)}", file=sys.stderr, flush=True)


async def _hub_waits(route: Route, say: Callable[[float], None]) -> None:
    """Through a hub, a request it holds for the plan's rate limit is only a slow answer:
    ask the hub once a second whether it holds requests, and for how long so far
    (``say(seconds)``; 0: it holds none)."""
    import httpx

    from ticktape.hub.relay import STATUS_PATH

    auth = {"Authorization": f"Bearer {route.credential}"}
    loopback = urlsplit(route.rest_url).hostname in ("127.0.0.1", "localhost", "::1")
    http = httpx.AsyncClient(headers=auth, timeout=2.0, trust_env=not loopback)
    async with http:
        while True:
            await asyncio.sleep(HUB_ASK_EVERY)
            try:
                reply = await http.get(route.rest_url + STATUS_PATH)
                rest = reply.json()["rest"]
                holding = rest["rate_limit_holding"] > 0
                held = max(0.1, float(rest["rate_limit_held_s"])) if holding else 0.0
            except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
                continue  # an older hub, an edge: nothing to say
            say(held)


def _say_hub_wait() -> Callable[[float], None]:
    """Without a progress bar: one stderr line each time the hub starts waiting."""
    waiting = False

    def say(seconds: float) -> None:
        nonlocal waiting
        if seconds > 0 and not waiting:  # said once per hold
            print(f"ticktape bars: {HUB_WAIT_TEXT}", file=sys.stderr, flush=True)
        waiting = seconds > 0  # a later hold, after this one ended, is said again

    return say


async def _download(
    req: Request,
    route: Route,
    outcome: Outcome,
    reducer: CandleReducer | None,
    view: ProgressView | None,
) -> None:
    on_wait: Callable[[RetryWait], None] = view.wait if view else _say_wait
    ticker = asyncio.create_task(_countdown(view)) if view else None
    watch = None
    if route.via_hub:
        say = view.hub_waits if view else _say_hub_wait()
        watch = asyncio.create_task(_hub_waits(route, say))
    try:
        async with RestClient(
            route.rest_url, route.credential, max_retries=req.retries, on_wait=on_wait
        ) as rest:
            pages = rest.iter_pages(
                req.symbol,
                req.multiplier,
                req.timespan,
                req.start,
                req.end,
                adjusted=req.adjusted,
                limit=req.limit,
            )
            async for page in pages:
                if req.out is not None:
                    if outcome.sink is None:
                        outcome.sink = _open(req, outcome)
                    outcome.sink.write_page(page)
                if reducer is not None:
                    for bar in page:
                        reducer.add(bar)
                outcome.pages += 1
                outcome.bars += len(page)
                if view is not None:
                    view.page(page, cached=rest.cache_hits > outcome.cached)
                outcome.cached = rest.cache_hits
            outcome.complete = True
    finally:
        for task in (ticker, watch):
            if task is not None:
                task.cancel()
        if outcome.sink is not None:
            outcome.sink.close()


async def _run(
    req: Request,
    route: Route | None,
    outcome: Outcome,
    reducer: CandleReducer | None,
    view: ProgressView | None,
) -> None:
    if route is None:  # --sim
        from ticktape.sim.server import Simulator

        async with Simulator() as sim:
            await _download(req, Route(sim.rest_url, "sim"), outcome, reducer, view)
    else:
        await _download(req, route, outcome, reducer, view)


def _no_data_message(req: Request) -> str:
    """Say which cause is likely: a closed market (weekend, future) or a wrong ticker."""
    days = [req.start + timedelta(days=i) for i in range((req.end - req.start).days + 1)]
    head = f"no bars for {req.symbol} from {req.start} to {req.end}"
    if req.start > date.today():
        return f"{head}: the range is in the future"
    is_stock = ":" not in req.symbol
    if is_stock and all(d.weekday() >= 5 for d in days):
        return f"{head}: the market was closed (weekend)"
    if is_stock or req.symbol.startswith("C:"):
        return (
            f"{head}: the market was closed (holiday?) or {req.symbol!r} is not a ticker"
            " (check the spelling; forex is C:EURUSD, crypto X:BTCUSD)"
        )
    return f"{head}: {req.symbol!r} is probably not a ticker (crypto trades every day)"


def _error_code(err: RestError) -> int:
    if isinstance(err, AuthError):
        return EXIT_AUTH
    if isinstance(err, NotEntitledError):
        return EXIT_NOT_ENTITLED
    if isinstance(err, NetworkError | RateLimitedError | ServerError):
        return EXIT_NETWORK
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ticktape bars``; returns the process exit code (see ``--help``)."""
    ns = _parser().parse_args(argv)
    try:
        req = _validate(ns)
        if req.plot and (small := plot_too_small(_plot_stream(req))):
            raise CliError(small, EXIT_USAGE)  # now, not after the download
        route = None if ns.sim else _route(ns.hub, load_settings({"rest_url": ns.rest_url}))
    except CliError as err:
        return _fail(str(err), err.code)
    except ValueError as err:  # settings: a broken config file
        return _fail(str(err), EXIT_USAGE)
    return _execute(req, route)


# --------------------------------------------------------------------------- the hub


def _route(hub: str, settings: Settings) -> Route:
    """Through the hub named or running here, else directly with the key.

    A running hub is used only when it relays the REST server these settings name
    (the bars must be the ones asked for). No hub is started: a one-shot command
    leaving a detached process behind would surprise a script or a cron job, and
    the hub's cache outlives any hub anyway (docs/hub-rest.md).
    """
    if hub not in ("auto", "off"):
        return _named_hub(hub)
    if hub == "auto" and (found := discovery.find_hub()) is not None:
        if found.relays_rest_of(settings.rest_url):
            return Route(found.rest_url, found.token, via_hub=True)
        if settings.has_key:
            print(
                f"ticktape bars: the running hub relays {found.upstream_rest}, not"
                f" {settings.rest_url}; going directly",
                file=sys.stderr,
            )
    if not settings.has_key:
        raise CliError(
            "no API key: set POLYGON_API_KEY (or MASSIVE_API_KEY) in the environment or"
            " .env, or add --sim to try it on simulated data",
            EXIT_AUTH,
        )
    return Route(settings.rest_url, settings.api_key.reveal())


def _named_hub(url: str) -> Route:
    """``--hub URL``: the hub's REST is on the same port as its WebSocket."""
    named = discovery.named_hub(url, os.environ.get(discovery.TOKEN_ENV, "").strip())
    if named is None:
        raise CliError(f"--hub must be auto, off or a hub's URL, not {url!r}", EXIT_USAGE)
    if not named.token:
        raise CliError(f"--hub URL needs the hub's token in ${discovery.TOKEN_ENV}", EXIT_USAGE)
    return Route(named.rest_url, named.token, via_hub=True)


def _hub_hint(err: RestError, route: Route) -> str:
    """A failure through a hub, said as one: the hub, not the data server, may be the cause."""
    if not route.via_hub:
        return str(err)
    if isinstance(err, AuthError) and "hub's API key" not in str(err):
        return (
            f"the hub at {route.rest_url} refused its token (it restarted, or"
            f" ${discovery.TOKEN_ENV} is not its token)"
        )
    return f"{err} (through the hub at {route.rest_url}; --hub off goes directly)"


# --------------------------------------------------------------------------- run


def _execute(req: Request, route: Route | None) -> int:
    outcome = Outcome()
    plot_stream = _plot_stream(req)
    reducer = CandleReducer(cap=max(10, plot_size(plot_stream)[0] // 2 - 8)) if req.plot else None
    label = f"{req.symbol} via hub" if route is not None and route.via_hub else req.symbol
    view = ProgressView(label, *_range_ms(req)) if sys.stderr.isatty() else None
    try:
        if view is not None:
            with view:
                asyncio.run(_run(req, route, outcome, reducer, view))
                view.finish()
        else:
            asyncio.run(_run(req, route, outcome, reducer, view))
    except KeyboardInterrupt:
        where = _settle(outcome)
        return _fail(
            f"interrupted: {outcome.bars} bars in {outcome.pages} pages written{where}",
            EXIT_INTERRUPTED,
        )
    except RestError as err:
        said = _hub_hint(err, route) if route is not None else str(err)
        return _fail(f"{said}{_partial(outcome)}", _error_code(err))
    except CliError as err:
        return _fail(f"{err}{_partial(outcome)}", err.code)
    except BrokenPipeError:
        # The reader (e.g. `head`) stopped early: not an error; keep Python quiet at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    where = _settle(outcome)
    if outcome.bars == 0:
        return _fail(_no_data_message(req), EXIT_NO_DATA)
    if outcome.kept_aside:  # the file appeared during the download: not ours to replace
        return _fail(f"{outcome.bars} bars written{where}", EXIT_ERROR)
    if reducer is not None:
        title = f"{req.symbol} {req.multiplier} {req.timespan} {req.start} → {req.end}"
        if reducer.per_candle > 1:
            title += f" ({reducer.per_candle} bars per candle)"
        plot(reducer.candles, title, req.tz, plot_stream)
    return EXIT_OK


def _partial(outcome: Outcome) -> str:
    """After a failure: what was saved before it, if anything."""
    where = _settle(outcome)
    return f" ({outcome.bars} bars written{where} first)" if where else ""


def _plot_stream(req: Request) -> IO[str]:
    """Where --plot draws: stdout, unless the data goes there."""
    return sys.stderr if req.out == "-" else sys.stdout


def _fail(message: str, code: int) -> int:
    print(f"ticktape bars: {message}", file=sys.stderr)
    return code

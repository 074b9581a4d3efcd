"""``ticktape alerts``: the config file's alerts watched headless (no Textual).

The app's session, alert book and delivery; one stdout line per fired alert. See docs/alerts.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from functools import partial
from typing import TextIO

from ticktape.alerting import AlertService
from ticktape.commands.run import SIM_KEY, checked_settings
from ticktape.config import MARKETS, Settings
from ticktape.feed.clusters import by_cluster
from ticktape.feed.events import Event
from ticktape.feed.session import ConnState, Session, SessionStatus
from ticktape.feed.wire import MONITOR_CHANNELS
from ticktape.market import MarketState
from ticktape.market.alerts import AlertError, Fired, parse_phrase
from ticktape.market.history import History
from ticktape.sim.process import SimProcess, app_sim_args
from ticktape.timeutil import ms_to_zone

#: Alerts are checked this often (the app checks on its frame timer, 10 a second by default).
CHECK_EVERY_S = 0.1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape alerts",
        description="Watch the config file's alerts without a screen: print each one that fires"
        " and run alert_command.",
    )
    p.add_argument("symbols", nargs="*", metavar="SYMBOL", help="watchlist (default: saved)")
    p.add_argument("--market", choices=MARKETS, help="stocks (default), forex or crypto")
    p.add_argument("--feed", choices=("realtime", "delayed"), help="real-time or 15-min delayed")
    p.add_argument("--sim", action="store_true", help="use the built-in simulator even with a key")
    p.add_argument("--seed", type=int, default=0, help="simulator random seed (with --sim)")
    p.add_argument("--ws-url", help="websocket base URL (the market path is appended)")
    p.add_argument("--rest-url", help="REST base URL")
    p.add_argument("--config", dest="config_path", help="config file path")
    p.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="PHRASE",
        help="add an alert to the config file first, e.g. --add 'AAPL above 230'",
    )
    p.add_argument("--list", action="store_true", help="list the alerts and exit")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--exit-after", type=int, metavar="N", help="stop after N alerts fired")
    p.set_defaults(symbols_csv=None, fps=None, tz=None, theme=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    settings = checked_settings(args, "ticktape alerts")
    if settings is None:
        return 2
    if settings.config_problem:
        print(f"ticktape alerts: {settings.config_problem}", file=sys.stderr)
        return 2
    # "watchlist" alerts watch the list the app shows (nothing here saves lists)
    settings = settings.with_(watchlist=settings.active_list().symbols or ())
    sim: SimProcess | None = None
    if args.sim or not settings.has_key:
        # a whole market: an alert may name a symbol the list does not hold
        sim = SimProcess(*app_sim_args(args.seed, settings.watchlist), wait=False)
        settings = settings.with_(api_key=SIM_KEY)
    with sim or contextlib.nullcontext():
        try:
            return asyncio.run(Watcher(settings, args, sim, sys.stdout).run())
        except KeyboardInterrupt:
            return 130


def _problem(text: str) -> None:
    print(f"ticktape alerts: {text}", file=sys.stderr, flush=True)


class Watcher:
    """One headless run: connect, seed history, check alerts on a timer, print what fires."""

    def __init__(
        self, settings: Settings, args: argparse.Namespace, sim: SimProcess | None, out: TextIO
    ) -> None:
        self.settings = settings
        self.args = args
        self.sim = sim
        self.out = out
        self.state = MarketState()
        self.fired = 0
        #: The symbols fed: the watchlist, then those only an alert names (set by run).
        self.followed: tuple[str, ...] = tuple(settings.watchlist)
        self.done = asyncio.Event()
        self.status: ConnState | None = None
        self.states: dict[str, ConnState] = {}  # per cluster ("" with one): said on change

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    async def run(self) -> int:
        service = AlertService(
            self.settings,
            self.state,
            watchlist=self.settings.watchlist,
            write=self._write if self.out.isatty() else None,  # bell/OSC only to a terminal
            problem=_problem,
        )
        for problem in service.problems:
            _problem(problem)
        for phrase in self.args.add:
            try:
                alert = service.add(parse_phrase(phrase))
            except AlertError as err:
                _problem(f"--add {phrase!r}: {err}")
                return 2
            print(f"added alert {alert.id}: {alert.phrase()}", flush=True)
        if self.args.list:
            for alert in service.book.alerts:
                print(f"{alert.id:>3}  {alert.phrase():<40} {alert.state(_now())}")
            return 0
        if not service.book.alerts:
            _problem(
                f"no alerts in {self.settings.config_path}; add one with --add 'AAPL above 230'"
            )
            return 1
        service.listeners.append(self._print)
        # an alert's symbol is fed whether or not the list holds it
        watchlist = tuple(self.settings.watchlist)
        self.followed = watchlist + tuple(s for s in service.book.followed() if s not in watchlist)
        if self.sim is not None:
            ws_url, rest_url = await self.sim.started()
            self.settings = self.settings.with_(ws_url=ws_url, rest_url=rest_url)
        sessions = self._sessions()
        count = len(service.book.alerts)
        _problem(f"watching {count} alert{'s' * (count != 1)} on {', '.join(self.followed)}")
        tasks = [
            *(asyncio.create_task(session.run()) for session in sessions),
            asyncio.create_task(self._seed()),
            asyncio.create_task(self._check(service)),
        ]
        try:
            await asyncio.wait_for(self.done.wait(), self.args.duration)
        except TimeoutError:
            pass
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.stop() for s in sessions)), 3.0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            service.close()
            await service.delivery.drain()
        return 0

    def _sessions(self) -> list[Session]:
        """One session per cluster of the watchlist (it may mix markets; see feed/clusters)."""
        groups = by_cluster(self.followed) or {self.settings.market: []}
        return [
            Session(
                f"{self.settings.ws_base}/{cluster}",
                self.settings.api_key.reveal(),
                channels=MONITOR_CHANNELS[cluster],
                on_events=self._on_events,
                on_status=partial(self._on_status, cluster if len(groups) > 1 else ""),
                symbols=symbols,
            )
            for cluster, symbols in groups.items()
        ]

    def _on_events(self, events: list[Event], recv_ms: int) -> None:
        self.state.apply(events, recv_ms)

    def _on_status(self, cluster: str, status: SessionStatus) -> None:
        if status.state is not self.states.get(cluster):
            self.states[cluster] = self.status = status.state
            feed = f"{cluster} feed" if cluster else "feed"
            _problem(f"{feed}: {status.state.name.lower().replace('_', ' ')} — {status.reason}")

    async def _check(self, service: AlertService) -> None:
        while True:
            service.frame(_now())
            await asyncio.sleep(CHECK_EVERY_S)

    def _print(self, fired: list[Fired]) -> None:
        for f in fired:
            when = ms_to_zone(f.at_ms, self.settings.tz).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{when}  {f.text}", file=self.out, flush=True)
        self.fired += len(fired)
        if self.args.exit_after and self.fired >= self.args.exit_after:
            self.done.set()

    async def _seed(self) -> None:
        """Minute history and the previous close, so volume and move alerts have a base."""
        from ticktape.feed.rest import RestClient  # httpx only once the feed is going

        watchlist = self.followed
        client: list[RestClient] = []
        history = History(
            self.state,
            self.settings.market,
            clock=_now,
            watched=lambda: watchlist,
            rest=lambda: client[0] if client else None,
            on_error=lambda err, symbol: _problem(f"{symbol} history: {err}"),
        )
        async with RestClient(self.settings.rest_url, self.settings.api_key.reveal()) as rest:
            client.append(rest)
            for symbol in watchlist:
                try:
                    await history.seed_minutes(symbol)
                except Exception as err:  # one symbol's history must not stop the watch
                    history.on_error(err, symbol)


def _now() -> int:
    return time.time_ns() // 1_000_000

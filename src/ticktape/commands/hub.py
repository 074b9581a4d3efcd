"""``ticktape hub``: hold the one upstream connection and serve it to every local client.

``ticktape hub status`` asks the running hub what it is doing. The hub prints
its URLs (never the key) and writes hub.json for discovery. See docs/hub.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx

from ticktape.config import load_settings
from ticktape.hub import discovery
from ticktape.hub.relay import STATUS_PATH, Hub, SessionFactory
from ticktape.link.connect import LinkConfigError, NatsOptions, add_arguments, options_from_args

if TYPE_CHECKING:
    from ticktape.hub.rest import RestRelay

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticktape hub",
        description="Share one upstream connection (and the API key) with every local client.",
        epilog="ticktape hub status: clients, upstream state, rates of the running hub.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=0, help="0 lets the OS choose (default)")
    p.add_argument(
        "--token-file",
        type=Path,
        help="file holding the token clients use as their key (required off loopback;"
        " default: a fresh random token in a 0600 file next to hub.json)",
    )
    p.add_argument("--feed", choices=("realtime", "delayed"), help="upstream feed")
    p.add_argument(
        "--idle-exit",
        type=float,
        metavar="SECONDS",
        help="exit this long after the last client leaves (default: run until stopped)",
    )
    p.add_argument("--ws-url", help="upstream websocket base URL")
    p.add_argument("--rest-url", help="upstream REST base URL")
    p.add_argument("--max-clients", type=int, default=64)
    p.add_argument("--max-subscriptions", type=int, default=10_000, help="per client")
    add_arguments(p)  # --nats / --from: hubs on several machines (docs/nats.md)
    return p


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rest_relay(upstream: str, key: str, public: str) -> RestRelay:
    """The REST relay: finished history cached in sqlite under the XDG cache dir."""
    from ticktape.hub.cache import default_path
    from ticktape.hub.rest import RestRelay

    return RestRelay(upstream, key, public, default_path())


async def _serve(args: argparse.Namespace, directory: Path, token_file: Path) -> int:
    settings = load_settings(
        cli={"feed": args.feed, "ws_url": args.ws_url, "rest_url": args.rest_url}
    )
    linked = options_from_args(args)
    if linked is not None and linked[0] == "edge":
        return await _serve_edge(args, directory, token_file, linked[1], settings.feed)
    if not settings.has_key:
        print("ticktape hub: no API key: set POLYGON_API_KEY (or MASSIVE_API_KEY)", file=sys.stderr)
        return 2
    key = settings.api_key.reveal()
    hub = Hub(
        upstream_url=settings.ws_base,
        api_key=key,
        token=discovery.read_token(token_file),
        host=args.host,
        port=args.port,
        max_clients=args.max_clients,
        max_subscriptions=args.max_subscriptions,
    )
    stop = _signals()
    async with hub:
        hub.rest = relay = _rest_relay(settings.rest_url, key, hub.rest_url)
        async with contextlib.AsyncExitStack() as stack:
            if linked is not None:
                from ticktape.link.origin import OriginLink
                from ticktape.link.subjects import Subjects

                link = OriginLink(
                    linked[1],
                    on_interest=hub.hold_remote,
                    rest=relay,
                    secret=key,
                    subjects=Subjects(args.nats_prefix),
                )
                hub.tap = link
                await stack.enter_async_context(link)
                print(f"origin: publishing on NATS at {linked[1].where}", flush=True)
            upstreams = (settings.rest_url, settings.ws_base)
            await _announce_and_wait(
                args, directory, token_file, hub, settings.feed, stop, upstreams
            )
    return 0


async def _serve_edge(
    args: argparse.Namespace, directory: Path, token_file: Path, options: NatsOptions, feed: str
) -> int:
    """An edge: the same hub downstream, its upstream an origin through NATS (no key here)."""
    from ticktape.link.edge import EdgeLink
    from ticktape.link.subjects import Subjects

    link = EdgeLink(options, subjects=Subjects(args.nats_prefix))
    hub = Hub(
        upstream_url=options.where.split(",")[0],
        api_key="",
        token=discovery.read_token(token_file),
        host=args.host,
        port=args.port,
        rest=link.rest,
        max_clients=args.max_clients,
        max_subscriptions=args.max_subscriptions,
        session_factory=cast(SessionFactory, link.upstream),  # session-shaped, NATS inside
    )
    stop = _signals()
    async with link, hub:
        link.rest.public_base_url = hub.rest_url
        print(f"edge: upstream from the origin through NATS at {options.where}", flush=True)
        await _announce_and_wait(args, directory, token_file, hub, feed, stop)
    return 0


def _signals() -> asyncio.Event:
    # Signals are ours before hub.json exists: a client that finds the hub may stop it
    # at once, and the files must still go.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _announce_and_wait(
    args: argparse.Namespace,
    directory: Path,
    token_file: Path,
    hub: Hub,
    feed: str,
    stop: asyncio.Event,
    upstreams: tuple[str, str] | None = None,
) -> None:
    """Write hub.json (``upstreams``: the REST and WebSocket servers relayed, None for an
    edge) and serve until stopped or idle; hub.json goes first when the hub stops."""
    upstream_rest, upstream_ws = upstreams or (None, None)
    info = discovery.HubInfo(
        host=args.host,
        port=hub.server.port,
        pid=os.getpid(),
        token_file=str(token_file),
        rest=hub.rest is not None,
        feed=feed,
        upstream_rest=upstream_rest,
        upstream_ws=upstream_ws,
    )
    info_path = discovery.write_info(directory, info)
    try:
        print(f"{hub.ws_url}/stocks|forex|crypto  {hub.rest_url}", flush=True)
        print(f"token file: {token_file}", flush=True)
        await _until_stopped(hub, args.idle_exit, stop)
    finally:
        discovery.remove_files(info_path)


async def _until_stopped(hub: Hub, idle_exit: float | None, stop: asyncio.Event) -> None:
    waits: set[asyncio.Task[Any]] = {asyncio.create_task(stop.wait())}
    if idle_exit is not None:
        waits.add(asyncio.create_task(hub.wait_idle(idle_exit)))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


def _token_file(args: argparse.Namespace, directory: Path) -> tuple[Path, bool]:
    """The token file to use, and whether we made it (then it goes when we do)."""
    if args.token_file is not None:
        discovery.read_token(args.token_file)  # fail now, with the file's name
        return args.token_file.resolve(), False
    return discovery.new_token(directory), True


def serve_main(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        if args.token_file is None:
            print(
                f"ticktape hub: binding {args.host} (not loopback) needs --token-file",
                file=sys.stderr,
            )
            return 2
        print(
            f"ticktape hub: warning: serving on {args.host}; traffic is unencrypted unless"
            " you put it behind TLS or an SSH tunnel",
            file=sys.stderr,
        )
    directory = discovery.runtime_dir()
    lock = discovery.HubLock(directory)
    if not lock.acquire():
        running = discovery.read_info(directory)
        where = f" (pid {running.pid}, port {running.port})" if running else ""
        print(f"ticktape hub: a hub is already running{where}", file=sys.stderr)
        return 0
    made: Path | None = None
    try:
        token_file, ours = _token_file(args, directory)
        made = token_file if ours else None
        return asyncio.run(_serve(args, directory, token_file))
    except (ValueError, LinkConfigError) as err:
        print(f"ticktape hub: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"ticktape hub: cannot serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    finally:
        if made is not None:
            discovery.remove_files(made)
        lock.release()


def _fmt_status(data: dict[str, Any]) -> str:
    lines = [
        f"events in {data['events_in_per_s']:,.0f}/s, out {data['events_out_per_s']:,.0f}/s"
        f"  (total in {data['events_in']:,}, out {data['events_out']:,});"
        f" slow consumers cut {data['slow_consumers']}",
    ]
    for cluster, up in sorted(data["upstreams"].items()):
        params = ",".join(up["params"][:8]) + (" …" if len(up["params"]) > 8 else "")
        lines.append(f"{cluster}: {up['message']} [{params or 'nothing'}]")
    if not data["upstreams"]:
        lines.append("upstream: not connected (no client has asked yet)")
    lines.append(f"clients: {len(data['clients'])}")
    for c in data["clients"]:
        subs = c["subscriptions"]
        shown = ",".join(subs[:6]) + (f" (+{len(subs) - 6})" if len(subs) > 6 else "")
        lines.append(
            f"  {c['address']:<22} {c['cluster']:<7} {c['events_per_s']:>9,.0f} ev/s"
            f"  queue {c['queue_bytes']:>8,} B  {shown or '-'}"
        )
    lines += _fmt_rest(data.get("rest") or {})
    return "\n".join(lines)


def _fmt_rest(rest: dict[str, Any]) -> list[str]:
    """The REST relay's counters in words; an edge's (or an unknown relay's) as they come."""
    if "upstream_requests" not in rest:
        return ["REST: " + (", ".join(f"{k} {v}" for k, v in rest.items()) or "not relayed")]
    return [
        f"REST: {rest['requests']} requests, {rest['upstream_requests']} sent upstream,"
        f" {rest['cache_hits']} answered from the cache ({rest['cache_entries']} kept),"
        f" {rest['coalesced']} joined an identical request, {rest['inflight']} in flight",
        f"  rate limit: waited {rest['rate_limit_waits']} times ({rest['rate_limit_wait_s']} s),"
        f" {rest.get('rate_limit_holding', 0)} requests held now,"
        f" {rest['rate_limited_replies']} clients told to come back;"
        f" upstream errors {rest['upstream_errors']}, refused {rest['refused']}"
        + (f", cache errors {rest['cache_errors']}" if rest.get("cache_errors") else ""),
    ]


def status_main() -> int:
    found = discovery.find_hub()
    if found is None:
        print("ticktape hub: no hub is running", file=sys.stderr)
        return 1
    try:
        reply = httpx.get(
            found.ws_url.replace("ws://", "http://", 1) + STATUS_PATH,
            headers={"Authorization": f"Bearer {found.token}"},
            timeout=5.0,
        )
        reply.raise_for_status()
        data = reply.json()
    except (httpx.HTTPError, ValueError) as err:
        print(f"ticktape hub: the hub (pid {found.pid}) did not answer: {err}", file=sys.stderr)
        return 1
    print(f"hub pid {found.pid} at {found.ws_url}, up {data['uptime_s']:,.0f} s")
    info = discovery.read_info()
    if info is not None:  # what a script needs to connect (the token, never the key)
        print(f"token file: {info.token_file}")
    print(_fmt_status(data))
    return 0


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["status"]:
        return status_main()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        return serve_main(args)
    return 130

"""One NATS connection that never gives up, and says in words what it is doing.

Wraps nats-py (imported here only, so a hub without ``--nats``/``--from``
never loads it): security options from files, endless reconnects, and the
state as one line a status bar can show. See docs/nats.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from nats.aio.client import Client

log = logging.getLogger(__name__)

_RECONNECT_WAIT: Final = 1  # seconds between attempts: loopback or LAN, a restart is quick


class LinkConfigError(ValueError):
    """A bad NATS option (a missing file, a URL that is not nats://); one line for the user."""


@dataclass(frozen=True)
class NatsOptions:
    """Where the bus is and how to prove who we are (``--nats-token-file`` etc.)."""

    url: str
    token_file: Path | None = None
    creds_file: Path | None = None
    tls_ca: Path | None = None
    name: str = "ticktape"

    def __post_init__(self) -> None:
        for server in self.url.split(","):
            scheme = urlsplit(server.strip()).scheme
            if scheme not in ("nats", "tls", "ws", "wss"):
                raise LinkConfigError(f"NATS URL must start with nats:// or tls://, not {server!r}")
        if self.token_file is not None and self.creds_file is not None:
            raise LinkConfigError("give --nats-token-file or --nats-creds, not both")
        for flag, path in (
            ("--nats-token-file", self.token_file),
            ("--nats-creds", self.creds_file),
            ("--nats-tls-ca", self.tls_ca),
        ):
            if path is not None and not path.is_file():
                raise LinkConfigError(f"{flag}: no such file: {path}")

    @property
    def where(self) -> str:
        """The servers without any credentials a URL might carry (for messages)."""
        parts = [urlsplit(s.strip()) for s in self.url.split(",")]
        return ",".join(f"{p.scheme}://{p.hostname}:{p.port or 4222}" for p in parts)

    def connect_kwargs(self) -> dict[str, Any]:
        """The security part of ``nats.connect``'s arguments."""
        kw: dict[str, Any] = {"servers": [s.strip() for s in self.url.split(",")]}
        if self.token_file is not None:
            token = self.token_file.read_text(encoding="utf-8").strip()
            if not token:
                raise LinkConfigError(f"--nats-token-file: {self.token_file} is empty")
            kw["token"] = token
        if self.creds_file is not None:
            try:
                import nkeys  # noqa: F401  (nats-py needs it for creds)
            except ImportError:
                raise LinkConfigError(
                    "--nats-creds needs the nkeys package: pip install nkeys"
                ) from None
            kw["user_credentials"] = str(self.creds_file)
        if self.tls_ca is not None:
            try:
                kw["tls"] = ssl.create_default_context(cafile=str(self.tls_ca))
            except (ssl.SSLError, OSError) as err:
                raise LinkConfigError(f"--nats-tls-ca: cannot load {self.tls_ca}: {err}") from None
        return kw


class NatsLink:
    """A NATS client that connects (and reconnects) forever in the background.

    ``on_state(up, why)`` is called on every change: ``up`` False with a reason
    ("cannot reach NATS at nats://h:4222", "NATS rejected the credentials").
    ``on_ready()`` is called on the first connection and every reconnection,
    after nats-py has restored the subscriptions: the place to re-announce.
    """

    def __init__(
        self,
        options: NatsOptions,
        *,
        on_state: Callable[[bool, str], None],
        on_ready: Callable[[], None],
    ) -> None:
        self.options = options
        self._on_state = on_state
        self._on_ready = on_ready
        self._kwargs = options.connect_kwargs()  # fails here, at start-up, on a bad file
        self.nc: Client | None = None
        self.up = False
        self.ever_up = False  # before the first connection, down is "connecting", not "lost"
        self.why = f"connecting to NATS at {options.where}"
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        from nats.aio.client import Client

        self.nc = Client()
        self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        assert self.nc is not None
        await self.nc.connect(
            name=self.options.name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,  # forever, the first connection included
            reconnect_time_wait=_RECONNECT_WAIT,
            connect_timeout=2,
            ping_interval=5,
            max_outstanding_pings=2,  # a dead server is noticed in about 10 s
            error_cb=self._error,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            **self._kwargs,
        )
        self._set(True, f"connected to NATS at {self.options.where}")
        self._on_ready()

    def _set(self, up: bool, why: str) -> None:
        if (up, why) == (self.up, self.why):
            return
        self.up, self.why = up, why
        if up:
            self.ever_up = True
            self.connected.set()
        else:
            self.connected.clear()
        log.info("nats %s: %s", self.options.where, why)
        self._on_state(up, why)

    async def _error(self, err: Exception) -> None:
        text = str(err).lower()
        if "authorization" in text or "authentication" in text:
            self._set(False, f"NATS at {self.options.where} rejected the credentials")
        elif not self.up:
            self._set(False, f"cannot reach NATS at {self.options.where}")

    async def _disconnected(self) -> None:
        self._set(False, f"lost NATS at {self.options.where}")

    async def _reconnected(self) -> None:
        self._set(True, f"connected to NATS at {self.options.where}")
        self._on_ready()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain() if self.nc.is_connected else await self.nc.close()
        self.up = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The hub's NATS flags (``ticktape hub --nats URL`` / ``--from URL`` and security)."""
    group = parser.add_argument_group("across machines (NATS)")
    role = group.add_mutually_exclusive_group()
    role.add_argument(
        "--nats",
        metavar="URL",
        help="be the origin: publish the upstream onto NATS at URL (nats://HOST:4222)",
    )
    role.add_argument(
        "--from",
        dest="nats_from",
        metavar="URL",
        help="be an edge: take the upstream from an origin through NATS at URL",
    )
    group.add_argument("--nats-token-file", type=Path, metavar="FILE", help="NATS token")
    group.add_argument("--nats-creds", type=Path, metavar="FILE", help="NATS credentials file")
    group.add_argument("--nats-tls-ca", type=Path, metavar="FILE", help="CA to trust for tls://")
    group.add_argument(
        "--nats-prefix",
        default="ticktape",
        metavar="NAME",
        help="first subject token, to run several origins on one NATS (default ticktape)",
    )


def options_from_args(args: argparse.Namespace) -> tuple[str, NatsOptions] | None:
    """``("origin" | "edge", options)``, or None without ``--nats``/``--from``.

    Raises :class:`LinkConfigError` with a one-line reason on bad flags.
    """
    url = args.nats or args.nats_from
    security = (args.nats_token_file, args.nats_creds, args.nats_tls_ca)
    if url is None:
        if any(x is not None for x in security):
            raise LinkConfigError("the --nats-* options need --nats URL or --from URL")
        return None
    role = "origin" if args.nats else "edge"
    options = NatsOptions(
        url,
        token_file=args.nats_token_file,
        creds_file=args.nats_creds,
        tls_ca=args.nats_tls_ca,
        name=f"ticktape-{role}",
    )
    return role, options

"""textual-serve's web server behind a gate: token or loopback, Host/Origin checks, a cap
on tab processes, and each tab's exact argv and environment. See docs/serve.md."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import shlex
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from ticktape.web import policy

log = logging.getLogger(__name__)

#: How long a tab's app gets to quit after its browser tab closes, before it is killed.
QUIT_TIMEOUT_S: Final = 5.0
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class TabCommand:
    """What each tab runs: the argv (no shell) and its whole environment."""

    argv: tuple[str, ...]
    env: Mapping[str, str]


@dataclass(frozen=True)
class Gate:
    """Who gets a tab: ``token`` (None: loopback only, no token) and how many at once."""

    token: str | None
    max_apps: int
    public_url: str | None = None
    #: Why ``max_apps`` is what it is, said on the refusal page.
    cap_reason: str = ""


class TabService(AppService):
    """One tab's app process, started with exactly the given argv and environment."""

    def __init__(self, tab: TabCommand, **kwargs: Any) -> None:
        super().__init__(shlex.join(tab.argv), **kwargs)
        self._tab = tab

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        # textual-serve starts from os.environ; keep only what it sets for its web driver
        # on top of the caller's environment, so nothing of ours leaks into the tab.
        theirs = super()._build_environment(width, height)
        driver = {k: v for k, v in theirs.items() if os.environ.get(k) != v}
        return {**self._tab.env, **driver}

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self._tab.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
            start_new_session=True,  # a Ctrl-C at the server's terminal is the server's
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        """Ask the app to quit; kill it if it has not within :data:`QUIT_TIMEOUT_S`.

        Returns only once the process has exited, so the cap counts live processes.
        """
        task, process = self._task, self._process
        if task is None or process is None:
            return
        self._task = None
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        try:
            async with asyncio.timeout(QUIT_TIMEOUT_S):  # a wedged app may not even read
                await self.send_meta({"type": "quit"})
                await process.wait()
        except TimeoutError:
            log.warning("tab app %d did not quit in %g s: killed", process.pid, QUIT_TIMEOUT_S)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        await task


def _page(name: str, **values: str) -> str:
    text = resources.files("ticktape.web").joinpath(name).read_text(encoding="utf-8")
    return string.Template(text).substitute({k: html.escape(v) for k, v in values.items()})


class TicktapeServer(Server):
    """``TicktapeServer(tab, gate).make_app()`` → an aiohttp application to run."""

    def __init__(
        self,
        tab: TabCommand,
        gate: Gate,
        *,
        title: str = "ticktape",
        make_tab: Callable[[], Awaitable[TabCommand]] | None = None,
    ) -> None:
        super().__init__(shlex.join(tab.argv), title=title, public_url=gate.public_url)
        self.tab = tab
        #: Asked afresh for each tab when set (what a tab runs may change while serving).
        self.make_tab = make_tab
        self.gate = gate
        self.sessions: dict[web.WebSocketResponse, TabService] = {}
        self._starting = 0  # tabs past the cap check whose process is not yet in sessions

    @property
    def running(self) -> int:
        """App processes alive or starting (what the cap counts)."""
        return len(self.sessions) + self._starting

    async def make_app(self) -> web.Application:
        app = await self._make_app()
        app.middlewares.append(self._guard)
        app.router.add_post("/login", self.handle_login)
        return app

    # -- the gate ---------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        response = await self._admit(request, handler)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    async def _admit(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        token = self.gate.token
        if token is None:
            if not policy.host_allowed(request.headers.get("Host"), self.gate.public_url):
                return web.Response(status=403, text="ticktape serve: unknown Host\n")
            return await handler(request)
        if request.path == "/login" and request.method == "POST":
            return await handler(request)
        offered = request.query.get("token")
        if offered is not None:  # once from a link: into a cookie, then off the URL
            if not policy.token_matches(offered, token):
                return self._login_page(status=401, wrong=True)
            query = {k: v for k, v in request.query.items() if k != "token"}
            clean = request.path + (f"?{urlencode(query)}" if query else "")
            return self._with_cookie(_see_other(clean), token)
        if policy.token_matches(request.cookies.get(policy.COOKIE), token):
            return await handler(request)
        if request.path == "/":
            return self._login_page(status=401, wrong=False)
        return web.Response(status=401, text="ticktape serve: token required\n")

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        offered = form.get("token")
        token = self.gate.token
        if token is None:
            return _see_other("/")
        if not isinstance(offered, str) or not policy.token_matches(offered.strip(), token):
            return self._login_page(status=401, wrong=True)
        return self._with_cookie(_see_other("/"), token)

    def _with_cookie(self, response: web.StreamResponse, token: str) -> web.StreamResponse:
        secure = (self.gate.public_url or "").startswith("https:")
        response.set_cookie(
            policy.COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/"
        )
        return response

    def _login_page(self, *, status: int, wrong: bool) -> web.Response:
        note = "That is not the token of this server. " if wrong else ""
        body = _page("login.html", title=self.title, note=note)
        return web.Response(status=status, text=body, content_type="text/html")

    # -- pages and tabs ---------------------------------------------------------------------

    def _full_message(self) -> str:
        reason = f" {self.gate.cap_reason}" if self.gate.cap_reason else ""
        return (
            f"All {self.gate.max_apps} tabs this server allows are open (--max-apps"
            f" {self.gate.max_apps}).{reason} Close one, then reload this page."
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.running >= self.gate.max_apps:
            body = _page("full.html", title=self.title, message=self._full_message())
            return web.Response(status=503, text=body, content_type="text/html")
        base = (self.gate.public_url or "").rstrip("/")
        font_size = request.query.get("fontsize", "16")
        body = _page(
            "index.html",
            title=self.title,
            static_url=f"{base}/static/",
            websocket_url=_websocket_url(base) if base else "",
            font_size=font_size if font_size.isdigit() else "16",
        )
        return web.Response(text=body, content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not policy.origin_allowed(
            request.headers.get("Origin"), request.headers.get("Host"), self.gate.public_url
        ):
            raise web.HTTPForbidden(text="ticktape serve: websocket from another site\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.running >= self.gate.max_apps:
            await self._refuse(websocket)
            return websocket
        self._starting += 1
        service: TabService | None = None
        try:
            tab = self.tab if self.make_tab is None else await self.make_tab()
            service = TabService(
                tab,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            width, height = _size(request)
            await service.start(width, height)
            self.sessions[websocket] = service
            self._starting -= 1
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("tab failed")
        finally:
            if service is not None:
                await service.stop()  # returns once the process is gone: only then is a slot free
            if self.sessions.pop(websocket, None) is None:
                self._starting -= 1
        return websocket

    async def _refuse(self, websocket: web.WebSocketResponse) -> None:
        """Say why in the tab's terminal (the page shows it), then close: no process."""
        text = f"\x1b[2J\x1b[H\r\n  ticktape serve: {self._full_message()}\r\n"
        with contextlib.suppress(ConnectionError):
            await websocket.send_bytes(text.encode("utf-8"))
        await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too many tabs")

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; the command prints its own lines."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab's socket: each handler then stops its app process."""
        for websocket in list(self.sessions):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _size(request: web.Request) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        text = request.query.get(name, "")
        return min(int(text), 1000) if text.isdigit() and int(text) > 0 else default

    return number("width", 80), number("height", 24)


def _websocket_url(base: str) -> str:
    scheme, _, rest = base.partition(":")
    return ("wss:" if scheme == "https" else "ws:") + rest + "/ws"

"""The served page and its websocket: token gate, cookie, Host/Origin checks, the tab cap.

Tabs run ``fake_app.py`` (textual-serve's packet protocol, no Textual) so nine of them
cost little; the real app is exercised in tests/commands/test_serve.py and the browser test.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

import aiohttp
import psutil
import pytest

from tests.web.conftest import DEADLINE, FAKE_APP, served
from ticktape.web import policy, server
from ticktape.web.server import Gate, TabCommand

TOKEN = "s3cret-token-for-tests-0123456789"


def session() -> aiohttp.ClientSession:
    # unsafe: keep cookies set by an IP-address host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def fake_tabs() -> list[psutil.Process]:
    """This test process's children that are tab apps."""
    me = psutil.Process(os.getpid())
    return [p for p in me.children(recursive=True) if "fake_app.py" in " ".join(p.cmdline())]


async def first_words(ws: aiohttp.ClientWebSocketResponse) -> str:
    """The text a tab's terminal receives first (the fake app's 'ready' line)."""
    msg = await ws.receive(timeout=DEADLINE)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    return bytes(msg.data).decode()


async def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_loopback_serves_the_page_and_a_tab_without_a_token() -> None:
    async with served(Gate(token=None, max_apps=8)) as (_, url), session() as http:
        page = await http.get(url + "/")
        assert page.status == 200
        body = await page.text()
        assert "textual.js" in body and "<title>ticktape</title>" in body
        assert "googleapis" not in body  # the page loads nothing from other hosts
        async with http.ws_connect(url + "/ws?width=100&height=30") as ws:
            assert "ready" in await first_words(ws)
            await ws.send_str('["stdin", "j"]')
            assert (await first_words(ws)).startswith("key:j")


async def test_a_foreign_host_name_is_refused_on_loopback() -> None:
    """A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) gets nothing."""
    async with served(Gate(token=None, max_apps=8)) as (server, url), session() as http:
        r = await http.get(url + "/", headers={"Host": "attacker.example:8000"})
        assert r.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(url + "/ws", headers={"Host": "attacker.example:8000"})
        assert err.value.status == 403
        assert server.running == 0 and fake_tabs() == []


async def test_a_websocket_from_another_site_is_refused() -> None:
    async with served(Gate(token=None, max_apps=8)) as (server, url), session() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(url + "/ws", origin="http://attacker.example")
        assert err.value.status == 403
        assert server.running == 0 and fake_tabs() == []
        async with http.ws_connect(url + "/ws", origin=url) as ws:  # its own page: fine
            assert "ready" in await first_words(ws)


async def test_without_the_token_every_path_is_401_and_no_process_starts() -> None:
    async with served(Gate(token=TOKEN, max_apps=8)) as (server, url), session() as http:
        for path in ("/", "/static/js/textual.js", "/download/x", "/?token=wrong-" + TOKEN):
            r = await http.get(url + path, allow_redirects=False)
            assert r.status == 401, path
            assert policy.COOKIE not in r.cookies
        page = await (await http.get(url + "/")).text()
        assert 'name="token"' in page and TOKEN not in page  # it asks; it never tells
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(url + "/ws")
        assert err.value.status == 401
        bad = {policy.COOKIE: "x" + TOKEN}
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url + "/ws", headers={"Cookie": f"{policy.COOKIE}={bad}"})
        assert server.running == 0 and fake_tabs() == []


async def test_a_token_in_the_url_becomes_a_strict_httponly_cookie_and_leaves_the_url() -> None:
    async with served(Gate(token=TOKEN, max_apps=8)) as (_, url), session() as http:
        r = await http.get(f"{url}/?fontsize=20&token={TOKEN}", allow_redirects=False)
        assert r.status == 303
        assert r.headers["Location"] == "/?fontsize=20"
        cookie = r.headers["Set-Cookie"]
        assert re.search(r"HttpOnly", cookie, re.I) and re.search(r"SameSite=Strict", cookie)
        assert r.headers["Referrer-Policy"] == "no-referrer"
        page = await http.get(url + "/?fontsize=20")  # the cookie alone now
        assert page.status == 200 and "textual.js" in await page.text()
        async with http.ws_connect(url + "/ws") as ws:
            assert "ready" in await first_words(ws)


async def test_the_login_form_sets_the_cookie_and_a_wrong_token_is_told() -> None:
    async with served(Gate(token=TOKEN, max_apps=8)) as (_, url), session() as http:
        wrong = await http.post(url + "/login", data={"token": "nope"}, allow_redirects=False)
        assert wrong.status == 401 and "not the token of this server" in await wrong.text()
        r = await http.post(url + "/login", data={"token": TOKEN}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/"
        assert (await http.get(url + "/")).status == 200


async def test_the_ninth_tab_is_told_to_wait_and_starts_no_process() -> None:
    async with served(Gate(token=None, max_apps=8)) as (server, url), session() as http:
        tabs = [await http.ws_connect(url + "/ws") for _ in range(8)]
        pids = [int((await first_words(ws)).split()[2]) for ws in tabs]  # "fake app PID ready"
        assert server.running == 8 and len(fake_tabs()) == 8

        page = await http.get(url + "/")
        assert page.status == 503
        assert "All 8 tabs this server allows are open" in await page.text()
        ninth = await http.ws_connect(url + "/ws")
        said = await first_words(ninth)  # written into the tab's terminal, then closed
        assert "All 8 tabs" in said and "--max-apps 8" in said
        closing = await ninth.receive(timeout=DEADLINE)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert ninth.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
        assert len(fake_tabs()) == 8

        await tabs.pop().close()  # one tab closes: its process goes, a slot opens
        await wait_until(lambda: server.running == 7, "the closed tab's slot")
        assert sorted(p.pid for p in fake_tabs()) == sorted(pids[:7])
        async with http.ws_connect(url + "/ws") as again:
            assert "ready" in await first_words(again)
        for ws in tabs:
            await ws.close()
        await wait_until(lambda: server.running == 0, "every tab to stop")
        assert fake_tabs() == []


async def test_an_app_that_ignores_quit_is_killed_and_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server, "QUIT_TIMEOUT_S", 0.5)
    wedged = TabCommand((*FAKE_APP, "--wedged"), dict(os.environ))
    async with served(Gate(token=None, max_apps=1), wedged) as (srv, url), session() as http:
        async with http.ws_connect(url + "/ws") as ws:
            pid = int((await first_words(ws)).split()[2])
        await wait_until(lambda: srv.running == 0, "the wedged app's slot")
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

"""``ticktape serve`` in a real headless Chromium: the screen renders and keys reach the app.

Debian's ``chromium`` driven by Playwright for Python (no browser download). xterm.js
draws the terminal on a canvas, so what the tab shows is read two ways: the websocket
frames the page receives (the app's screen as terminal output) and a screenshot that
must not be blank. CI installs chromium (.ci/run); elsewhere the test says it skipped.
"""

from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import StartServe

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEADLINE_S = 20.0
SGR = re.compile(rb"\x1b\[[0-9;:]*m")  # colours split a screen's words; positions do not

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason=f"no browser: {CHROMIUM} is missing (make chromium installs Debian's package)",
)

#: Counts the distinct colours of a PNG (base64) in the page itself: no image library here.
COUNT_COLOURS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


class Tab:
    """One browser tab on the server, and every screen byte its page has received."""

    def __init__(self, page: Any, url: str, foreign: list[str]) -> None:
        self.page = page
        self.received = bytearray()
        page.set_default_timeout(DEADLINE_S * 1000)
        page.route("**/*", lambda route: self._only(route, url, foreign))
        page.on("websocket", lambda ws: ws.on("framereceived", self._keep))
        page.goto(url)

    @staticmethod
    def _only(route: Any, url: str, foreign: list[str]) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:  # the page must load nothing from other hosts
            foreign.append(route.request.url)
            route.abort()

    def _keep(self, payload: bytes | str) -> None:
        self.received.extend(payload if isinstance(payload, bytes) else payload.encode())

    def text(self, since: int = 0) -> bytes:
        return SGR.sub(b"", bytes(self.received[since:]))

    def wait_for(self, pattern: bytes, since: int = 0) -> float:
        """Seconds until ``pattern`` (a regex) is on the screen received after ``since``."""
        start = time.monotonic()
        while not re.search(pattern, self.text(since)):
            assert time.monotonic() - start < DEADLINE_S, f"no {pattern!r} on the tab's screen"
            self.page.wait_for_timeout(50)  # Playwright delivers frames while it waits
        return time.monotonic() - start

    def press(self, key: str, then: bytes) -> None:
        since = len(self.received)
        self.page.keyboard.press(key)
        self.wait_for(then, since)


#: The page's title names ``symbol`` and a price (the app's OSC 2 title, set by the page).
TITLE_IS = r"(symbol) => new RegExp('^' + symbol + ' [0-9,]+[.][0-9]+ ').test(document.title)"


def tab_apps(serve_pid: int) -> list[psutil.Process]:
    children = psutil.Process(serve_pid).children()
    return [c for c in children if "--shared-sim" in c.cmdline()]


def test_two_tabs_render_in_chromium_share_one_simulator_and_answer_keys(
    start_serve: StartServe, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    proc, url = start_serve("AAPL", "MSFT", "NVDA")
    foreign: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = Tab(browser.new_page(viewport={"width": 1280, "height": 800}), url, foreign)
            first_screen_s = tab.wait_for(rb"SIMULATED")
            tab.wait_for(rb"AAPL 1m")  # the chart of the first symbol
            tab.wait_for(rb"NVDA")
            tab.page.wait_for_function("document.body.classList.contains('-first-byte')")
            shot = tmp_path / "serve.png"
            tab.page.screenshot(path=str(shot))
            colours = tab.page.evaluate(COUNT_COLOURS, base64.b64encode(shot.read_bytes()).decode())
            assert colours > 8, f"the screen looks blank ({colours} colours); see {shot}"

            tab.page.wait_for_function(TITLE_IS, arg="AAPL")  # the symbol and its price
            assert re.fullmatch(r"AAPL [\d,]+\.\d+ · ticktape", tab.page.title())

            tab.page.locator(".xterm-screen").click()
            tab.press("j", then=rb"MSFT 1m")  # the next symbol's chart
            tab.page.wait_for_function(TITLE_IS, arg="MSFT")
            tab.press("5", then=rb"MSFT 1D")  # daily candles
            tab.press("?", then=rb"Next symbol")  # the help screen
            tab.press("Escape", then=rb"MSFT 1D")
            tab.press("Control+p", then=rb"Search for commands")  # not the browser's Print
            tab.press("Escape", then=rb"MSFT 1D")

            other = Tab(browser.new_page(viewport={"width": 1024, "height": 600}), url, foreign)
            other.wait_for(rb"AAPL 1m")
            assert len(tab_apps(proc.pid)) == 2  # two apps, one simulator
            sims = [c for c in psutil.Process(proc.pid).children() if "sim" in c.cmdline()]
            assert len(sims) == 1
        finally:
            browser.close()
    assert foreign == []
    print(f"first screen in {first_screen_s:.1f} s; screenshot {shot}")

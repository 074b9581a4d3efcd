"""``ticktape serve`` in a real headless Chromium: the screen renders and keys reach the app.

Debian's ``chromium`` driven by Playwright for Python (no browser download). xterm.js
draws the terminal on a canvas, so what the tab shows is read two ways: the websocket
frames the page receives (the app's screen as terminal output) and a screenshot that
must not be blank. CI installs chromium (.ci/run); elsewhere the test says it skipped.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def serve_url(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLYGON_API_KEY", "MASSIVE_API_KEY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ticktape", "serve", "--port", "0", "AAPL", "MSFT", "NVDA"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_app_renders_in_chromium_and_answers_a_key(serve_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    received = bytearray()
    foreign: list[str] = []

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(serve_url):
            route.continue_()
        else:  # the page must load nothing from other hosts
            foreign.append(route.request.url)
            route.abort()

    def keep(payload: bytes | str) -> None:
        received.extend(payload if isinstance(payload, bytes) else payload.encode())

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(DEADLINE_S * 1000)
            page.route("**/*", only_ours)
            page.on("websocket", lambda ws: ws.on("framereceived", keep))
            started = time.monotonic()
            page.goto(serve_url)

            def until(done: Callable[[], bool], what: str) -> None:
                deadline = time.monotonic() + DEADLINE_S
                while not done():  # Playwright delivers events while it waits
                    assert time.monotonic() < deadline, f"timed out waiting for {what}"
                    page.wait_for_timeout(50)

            until(lambda: b"AAPL" in received and b"SIMULATED" in received, "the watchlist")
            first_screen_s = time.monotonic() - started
            page.wait_for_function("document.body.classList.contains('-first-byte')")
            until(lambda: b"NVDA" in received, "the whole watchlist")
            shot = tmp_path / "serve.png"
            page.screenshot(path=str(shot))
            colours = page.evaluate(COUNT_COLOURS, base64.b64encode(shot.read_bytes()).decode())
            assert colours > 8, f"the screen looks blank ({colours} colours); see {shot}"

            page.locator(".xterm-screen").click()
            before = len(received)
            page.keyboard.press("?")
            until(lambda: b"Next symbol" in received[before:], "the help screen after ?")
            page.keyboard.press("Escape")
        finally:
            browser.close()
    assert foreign == []
    assert first_screen_s < DEADLINE_S
    print(f"first screen in {first_screen_s:.1f} s; screenshot {shot}")

"""A stand-in for the app behind textual-serve: the same stdin/stdout packets, no Textual.

It announces itself, paints one line, then reads packets until a ``quit`` meta (or EOF),
so the server's tests can open many tabs without paying for many real apps. With
``--wedged`` it ignores ``quit`` and reads nothing more, like an app that hangs.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def _packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def main() -> None:
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    out.write(b"__GANGLION__\n")
    out.write(_packet(b"D", f"fake app {os.getpid()} ready\r\n".encode()))
    out.flush()
    if "--wedged" in sys.argv:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        signal.pause()
    while header := inp.read(5):
        if len(header) < 5:
            break
        payload = inp.read(int.from_bytes(header[1:], "big"))
        if header[:1] == b"M" and json.loads(payload).get("type") == "quit":
            break
        if header[:1] == b"D":  # echo keys, so a test sees its input arrive
            out.write(_packet(b"D", b"key:" + payload + b"\r\n"))
            out.flush()


if __name__ == "__main__":
    main()

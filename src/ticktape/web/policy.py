"""Who may open a tab: loopback or a token, the Host and Origin a browser sends, the cookie.

Pure functions (no aiohttp), so the rules are tested on their own. See docs/serve.md.
"""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

#: The cookie that carries the token after the first visit (HttpOnly, SameSite=Strict).
COOKIE = "ticktape_serve_token"
#: Shorter tokens are refused: this one guards a live screen from the network.
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


class TokenFileError(ValueError):
    """The token file cannot be used (the message names the file and why)."""


def is_loopback(host: str) -> bool:
    """True for names and addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_required(bind_host: str, token_file: Path | None, public_url: str | None = None) -> bool:
    """A token is asked for off loopback — a bind address, or a public URL that a proxy on
    this machine serves to others — and whenever one is given (loopback is shared by every
    user of a multi-user machine)."""
    public_host = urlsplit(public_url).hostname if public_url else None
    off_loopback = not is_loopback(bind_host) or not is_loopback(public_host or "localhost")
    return token_file is not None or off_loopback


def read_token(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace dropped), or :class:`TokenFileError`."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise TokenFileError(
            f"--token-file {path}: no such file; put a long random token in it, e.g."
            f" python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > {path}"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise TokenFileError(f"--token-file {path}: cannot read it ({reason})") from None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise TokenFileError(
            f"--token-file {path}: the token must be one word of at least"
            f" {MIN_TOKEN_CHARS} characters"
        )
    return token


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so the answer's timing says nothing about the token."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


def host_allowed(host_header: str | None, public_url: str | None) -> bool:
    """Without a token only a loopback Host (or the public URL's host) is served.

    A web page elsewhere can point its own name at 127.0.0.1 (DNS rebinding); its
    requests then carry that name as Host and are refused here.
    """
    if not host_header:
        return False
    name = urlsplit(f"//{host_header}").hostname or ""
    if is_loopback(name):
        return True
    return public_url is not None and name == (urlsplit(public_url).hostname or "").lower()


def origin_allowed(origin: str | None, host_header: str | None, public_url: str | None) -> bool:
    """A browser's websocket must come from this server's own page.

    Websockets are not bound by the same-origin policy: without this check any site
    the user visits could open the screen's socket. A client that sends no Origin
    (not a browser) passes; the token and Host checks still apply to it.
    """
    if origin is None:
        return True
    parts = urlsplit(origin)
    if host_header and parts.netloc.lower() == host_header.lower():
        return True
    if public_url is not None:
        public = urlsplit(public_url)
        return (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower())
    return False

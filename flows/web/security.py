"""The web app's security rules that are plain functions: no FastAPI here.

- `LoginThrottle`: failed logins counted in a sliding window, per (user name, client address),
  per address and per user name over all addresses, with a limit each; past one, logins of that
  kind are refused (429) until the window has moved on. A browser that logged in as a user
  before (a known device, OWASP's "device cookie") is counted on its own instead, so that
  nobody else's failures lock that user out of it. Kept in memory: one ``posecoach web``
  process serves the site, and a restart forgets at most a window.
- `same_token`: the CSRF check (a constant-time comparison; a missing token never matches).
- `security_headers`: the response headers of every page (a Content-Security-Policy with no
  inline scripts or handlers, no framing, no MIME sniffing, no referrer leaks, no camera);
  `live_page_headers` the Live page's (the camera and its WebSocket allowed).
- `report_file`: the file under the reports folder that a URL path names, or None for any path
  that could leave it (``..``, encoded slashes or backslashes, NUL, hidden names, symlinks).
"""

from __future__ import annotations

import hmac
import math
import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Failed logins within the window (OWASP Authentication and Credential Stuffing cheat sheets:
#: lock per account with a bounded duration, and do not let anyone lock an account out; heuristic
#: numbers): a person mistyping gets 5 tries per user from where they are (or on their known
#: device); one address (a gym's shared NAT) 20 over all names, against spraying names from it;
#: a user name 100 from all unknown clients together, against guessing from many addresses.
MAX_FAILED_LOGINS = 5
MAX_FAILED_PER_ADDRESS = 20
MAX_FAILED_PER_USER = 100
FAILED_LOGIN_WINDOW_S = 15 * 60.0

#: The app's own pages: scripts and styles only from files it serves, nothing inline.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
#: The reports (built to open from a shared folder too): the same, but plotly's charts set
#: inline style attributes, and the pages post no forms. No inline scripts either way.
REPORT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self'; connect-src 'none'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def security_headers(*, report: bool = False, https: bool = False) -> dict[str, str]:
    """The headers every response carries (``report``: a page of the reports folder)."""
    headers = {
        "Content-Security-Policy": REPORT_CSP if report else PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def live_page_headers(host: str, *, https: bool = False) -> dict[str, str]:
    """The Live page's own policy: the camera allowed (for this site's pages only), and its
    WebSocket named in ``connect-src`` besides ``'self'`` (older Safaris do not count ``ws:``
    as ``'self'``). ``host``: the request's ``Host``, the site the page came from."""
    # Only a plain host[:port] goes into the policy: nothing else can add a directive.
    socket = f" {'wss' if https else 'ws'}://{host}" if _HOST.fullmatch(host) else ""
    return {
        "Content-Security-Policy": PAGE_CSP.replace(
            "connect-src 'self'", f"connect-src 'self'{socket}"
        ),
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    }


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether a submitted CSRF token is the expected one (both present, constant time)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class LoginThrottle:
    """Failed logins within a sliding window, counted per kind of key (see the module doc).

    ``device``: the key of a known device the login comes from (its id, checked by the caller:
    a device of the user named). Its failures count for it alone, and only its own limit holds
    for it: whoever guesses elsewhere, from the same address or from many, cannot lock it out.
    """

    max_failures: int = MAX_FAILED_LOGINS
    max_per_address: int = MAX_FAILED_PER_ADDRESS
    max_per_user: int = MAX_FAILED_PER_USER
    window_s: float = FAILED_LOGIN_WINDOW_S
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def limits(self, name: str, address: str, device: str | None = None) -> list[tuple[str, int]]:
        """The keys a login attempt counts under, each with its limit; the first is its own."""
        user = name.strip().casefold()  # "Ana" and "ana" are one name to count
        if device is not None:
            return [(f"device:{device}", self.max_failures)]
        return [
            (f"user-address:{user}\x00{address}", self.max_failures),
            (f"address:{address}", self.max_per_address),
            (f"user:{user}", self.max_per_user),
        ]

    def _recent(self, key: str) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= self.clock() - self.window_s:
            times.popleft()
        return times

    def retry_after_s(self, name: str, address: str, device: str | None = None) -> int:
        """0 when a login may be tried now, else the seconds until one may."""
        wait = 0.0
        for key, limit in self.limits(name, address, device):
            times = self._recent(key)
            if len(times) >= limit:
                wait = max(wait, times[-limit] + self.window_s - self.clock())
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, name: str, address: str, device: str | None = None) -> None:
        for key, _ in self.limits(name, address, device):
            self._recent(key).append(self.clock())
        # Forget keys with nothing recent, so that a flood of made-up names cannot grow memory
        # without bound.
        if len(self._failures) > 10_000:
            for key in [k for k in self._failures if not self._recent(k)]:
                del self._failures[key]

    def succeeded(self, name: str, address: str, device: str | None = None) -> None:
        """A login succeeded: its own count (the pair's, or the device's) starts again. The
        address's and the user's are left: a spray that finds one password goes on counting."""
        key, _ = self.limits(name, address, device)[0]
        self._failures.pop(key, None)


# Raw (still percent-encoded) path parts that may decode to a separator or a NUL.
_ENCODED_SEPARATORS = ("%2f", "%5c", "%00")


def report_file(root: str | os.PathLike[str], raw_path: str, path: str) -> Path | None:
    """The regular file under ``root`` that a request names, or None.

    ``raw_path`` is the request's path as sent (percent-encoded), ``path`` the decoded part
    after ``/reports/``. Refused: an encoded ``/``, ``\\`` or NUL; empty, ``.``, ``..`` or hidden
    parts; a backslash; any symlink on the way (so nothing links out of the folder); anything
    that resolves outside ``root`` or is not a regular file. A folder gives its index.html.
    """
    if any(bad in raw_path.lower() for bad in _ENCODED_SEPARATORS):
        return None
    if "\\" in path or "\x00" in path:
        return None
    parts = [p for p in path.split("/")]
    if parts and parts[-1] == "":
        parts[-1] = "index.html"  # a folder's URL ends with a slash
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    base = Path(root).resolve()
    here = base
    for part in parts:
        here = here / part
        if here.is_symlink():
            return None
    if here.is_dir():
        here = here / "index.html"
        if here.is_symlink():
            return None
    real = here.resolve()
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real

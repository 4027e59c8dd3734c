"""Fetch a feed: conditional GET, a deadline, a size limit and redirects checked hop by hop."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import requests

from campaigns.feeds.egress import AddressPolicy, RefusedAddress, checked_session

#: Redirects followed before a check gives up (each hop's host is checked again).
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


class FeedUnavailable(Exception):
    """The feed could not be read; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout_seconds: float
    max_bytes: int
    user_agent: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's answer: ``body`` is None when the server said it has not changed (304)."""

    body: bytes | None
    etag: str = ""
    last_modified: str = ""


def fetch_feed(
    url: str, *, etag: str, last_modified: str, policy: AddressPolicy, limits: FetchLimits
) -> Fetched:
    """Fetch ``url`` with the validators of the last answer; raise ``FeedUnavailable`` if not.

    The timeouts requests is given bound each connect and each read, not the whole: a server
    that sends a byte a second never trips them. A watchdog shuts the check's connections at the
    deadline, so the check ends then, whatever the server does.
    """
    deadline = time.monotonic() + limits.timeout_seconds
    headers = {"Accept": ACCEPT, "User-Agent": limits.user_agent}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with _Watchdog(limits.timeout_seconds) as watchdog:
        try:
            with checked_session(policy, on_connect=watchdog.track) as session:
                fetched = _follow(session, url, headers, policy, _Budget(deadline, limits))
        except (FeedUnavailable, requests.RequestException, OSError):
            if watchdog.expired:  # whatever the shut connection raised, time ran out
                raise FeedUnavailable(_too_slow(limits)) from None
            raise
        if watchdog.expired:  # a shut connection can also look like an answer that ended
            raise FeedUnavailable(_too_slow(limits))
        return fetched


@dataclass(frozen=True, slots=True)
class _Budget:
    deadline: float
    limits: FetchLimits

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FeedUnavailable(_too_slow(self.limits))
        return left


def _follow(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    policy: AddressPolicy,
    budget: _Budget,
) -> Fetched:
    for _hop in range(MAX_REDIRECTS + 1):
        _check_url(url, policy)
        try:
            response = session.get(
                url, headers=headers, stream=True, allow_redirects=False, timeout=budget.remaining()
            )
        except RefusedAddress as error:
            raise FeedUnavailable(str(error)) from None
        except requests.Timeout:
            raise FeedUnavailable(_too_slow(budget.limits)) from None
        except requests.RequestException as error:
            raise FeedUnavailable(_connection_failure(url, error)) from None
        except ValueError:  # requests reads a redirect's Location before it hands it over
            raise FeedUnavailable(
                f"{url} redirected to an address that is not a web address."
            ) from None
        with response:
            if response.is_redirect:
                url = _redirected(url, response.headers.get("Location", ""))
                continue
            return _answer(response, budget)
    raise FeedUnavailable(
        f"The feed redirected more than {MAX_REDIRECTS} times; give its final address."
    )


class _Watchdog:
    """Shut every connection a check opened once its time is up.

    ``shutdown`` rather than ``close``: closing a socket that another thread is reading does not
    wake that read on Linux, while shutting it down ends the read at once.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


def split_address(url: str) -> tuple[SplitResult, int]:
    """Split ``url`` and return it with its port; raise ``ValueError`` saying what is wrong."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(f"{url} is not a web address.") from None
    try:
        port = parts.port
    except ValueError:
        written = parts.netloc.rpartition(":")[2]
        problem = "out of range (1 to 65535)" if written.isdigit() else "not a number"
        raise ValueError(f"{url} has a port that is {problem}.") from None
    return parts, port or (443 if parts.scheme == "https" else 80)


def _check_url(url: str, policy: AddressPolicy) -> None:
    try:
        parts, port = split_address(url)
    except ValueError as error:
        raise FeedUnavailable(str(error)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedUnavailable(f"{url} is not a web address (http or https).")
    try:
        policy.check_host(parts.hostname, port)
    except RefusedAddress as error:
        raise FeedUnavailable(str(error)) from None


def _redirected(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError:
        raise FeedUnavailable(
            f"The feed redirected to {location[:200]!r}, which is not a web address."
        ) from None


def _answer(response: requests.Response, budget: _Budget) -> Fetched:
    if response.status_code == 304:
        return Fetched(None)
    if response.status_code != 200:
        reason = f" {response.reason}" if response.reason else ""
        raise FeedUnavailable(f"The feed's server answered {response.status_code}{reason}.")
    limits = budget.limits
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FeedUnavailable(_too_large(limits))
    body = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > limits.max_bytes:
                raise FeedUnavailable(_too_large(limits))
            budget.remaining()
    except requests.RequestException as error:
        raise FeedUnavailable(f"The feed stopped half-way: {_cut_short(error)}.") from None
    return Fetched(
        bytes(body),
        etag=response.headers.get("ETag", "")[:500],
        last_modified=response.headers.get("Last-Modified", "")[:100],
    )


def _too_slow(limits: FetchLimits) -> str:
    return (
        f"The feed took longer than {limits.timeout_seconds:g} seconds, the most a check may "
        "take (PINWHEEL_FEED_TIMEOUT_SECONDS)."
    )


def _too_large(limits: FetchLimits) -> str:
    return (
        f"The feed is larger than {limits.max_bytes / 1_048_576:.1f} MB, the most Pinwheel "
        "reads (PINWHEEL_FEED_MAX_BYTES)."
    )


def _connection_failure(url: str, error: requests.RequestException) -> str:
    host = urlsplit(url).hostname or url
    return f"Could not connect to {host}: {_reason(error)}."


def _cut_short(error: requests.RequestException) -> str:
    # requests reports a body shorter than its Content-Length, or a chunked body that stops
    # before its last chunk, as a chunked-encoding error: the server closed the connection.
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the server closed the connection before the whole feed arrived"
    return _reason(error)


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.SSLError):
        return "its HTTPS certificate could not be verified"
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "its compressed answer could not be read"
    if isinstance(error, requests.ConnectionError):
        return "the connection was refused or broken"
    return "the answer was not valid HTTP"

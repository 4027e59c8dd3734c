"""Score a message with SpamAssassin's daemon, speaking its SPAMC protocol over one socket.

``PINWHEEL_SPAMD_URL`` names the daemon as ``spamd://host[:port][?timeout=seconds]`` (port 783
and 10 seconds by default). The ``REPORT`` command answers with the score, the threshold and
the table of rules that fired, which is what staff need to see beside the pre-send checks.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORT = 783
DEFAULT_TIMEOUT = 10.0
#: A report is a few kilobytes; more means the other end is not spamd.
MAX_REPLY_BYTES = 1024 * 1024
_SPAM_HEADER = re.compile(
    r"\s*(true|false|yes|no)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*", re.IGNORECASE
)
_RULE_ROW = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_]+)\s+(.*)")
_CONTINUATION = re.compile(r"\s{8,}(\S.*)")


class SpamdError(Exception):
    """spamd could not be reached, or did not answer as spamd does; the message says which."""


@dataclass(frozen=True, slots=True)
class SpamdRule:
    name: str
    points: float
    description: str


@dataclass(frozen=True, slots=True)
class SpamdReport:
    """spamd's verdict: the total, the threshold it compares with and each rule that fired."""

    score: float
    threshold: float
    is_spam: bool
    rules: tuple[SpamdRule, ...]


@dataclass(frozen=True, slots=True)
class SpamdTarget:
    host: str
    port: int
    timeout: float


def parse_spamd_url(url: str) -> SpamdTarget:
    """Parse ``spamd://host[:port][?timeout=seconds]``; raise ``ValueError`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "spamd" or not parts.hostname:
        raise ValueError(f"not a spamd://host:port URL: {url!r}")
    timeout = float(parse_qs(parts.query).get("timeout", [str(DEFAULT_TIMEOUT)])[0])
    return SpamdTarget(parts.hostname, parts.port or DEFAULT_PORT, timeout)


def score_message(url: str, message: bytes) -> SpamdReport:
    """Ask the spamd at ``url`` to score ``message`` (RFC 5322 bytes); raise ``SpamdError``."""
    try:
        target = parse_spamd_url(url)
    except ValueError as error:
        raise SpamdError(str(error)) from None
    request = b"REPORT SPAMC/1.5\r\nContent-length: %d\r\n\r\n%b" % (len(message), message)
    try:
        with socket.create_connection((target.host, target.port), timeout=target.timeout) as conn:
            conn.sendall(request)
            # spamd reads the body up to Content-length; closing our side says nothing follows.
            conn.shutdown(socket.SHUT_WR)
            reply = _receive(conn)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise SpamdError(f"spamd at {target.host}:{target.port} did not answer: {reason}") from None
    return parse_reply(reply)


def _receive(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := conn.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise SpamdError("spamd's answer is too long to be a report")
    return b"".join(chunks)


def parse_reply(reply: bytes) -> SpamdReport:
    """Parse spamd's answer to ``REPORT``; raise ``SpamdError`` when it is not one."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    words = status.split(None, 2)
    if len(words) < 2 or not words[0].startswith("SPAMD/"):
        raise SpamdError(f"the answer is not spamd's: {status[:80]!r}")
    if words[1] != "0":
        raise SpamdError(f"spamd refused the message: {' '.join(words[1:])}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value
    verdict = _SPAM_HEADER.fullmatch(headers.get("spam", ""))
    if verdict is None:
        raise SpamdError("spamd's answer has no score")
    return SpamdReport(
        score=float(verdict.group(2)),
        threshold=float(verdict.group(3)),
        is_spam=verdict.group(1).lower() in ("true", "yes"),
        rules=tuple(report_rules(body.decode("utf-8", errors="replace"))),
    )


def report_rules(report: str) -> list[SpamdRule]:
    """Read the rules table (points, name, description) at the end of a SpamAssassin report."""
    rules: list[SpamdRule] = []
    in_table = False
    for line in report.splitlines():
        if line.startswith("----"):
            in_table = True
        elif in_table and (row := _RULE_ROW.fullmatch(line)):
            rules.append(SpamdRule(row.group(2), float(row.group(1)), row.group(3).strip()))
        elif in_table and rules and (more := _CONTINUATION.fullmatch(line)):
            last = rules[-1]
            rules[-1] = SpamdRule(last.name, last.points, f"{last.description} {more.group(1)}")
    return rules

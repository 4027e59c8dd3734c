"""Deliver through an SMTP relay over one reused connection."""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from engine.clock import now
from engine.config import Settings
from engine.delivery.base import (
    BackendAuthError,
    OutcomeUnknownError,
    OutgoingMessage,
    ResultStatus,
    SendResult,
)
from engine.delivery.dkim import RawMessages, signer_from_settings
from engine.delivery.mime import split_address

log = logging.getLogger(__name__)

#: Greylisting relays usually accept a retry after about five minutes.
TRANSIENT_RETRY = timedelta(minutes=5)
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


#: Replies to MAIL FROM meaning the relay wants (other) credentials (RFC 4954).
AUTH_REFUSALS = frozenset({530, 534, 535, 538})


class _UncertainError(Exception):
    """The message body went out in full but no final reply came back."""


class _SenderRefusedError(Exception):
    """MAIL FROM was refused: a matter of our sender or account, not of the recipient."""

    def __init__(self, code: int, reply: bytes):
        super().__init__(f"{code} {reply.decode('utf-8', 'replace')}")
        self.code = code


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to connect, parsed from ``PINWHEEL_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str
    password: str
    timeout: float


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse ``smtp[s]://user:pass@host:port?starttls=1&timeout=10`` into an ``SmtpTarget``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"not an smtp:// or smtps:// URL: {parts.scheme}://{parts.hostname}")
    query = parse_qs(parts.query)
    implicit_tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes", "on"),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=float(query.get("timeout", ["30"])[0]),
    )


class SmtpBackend:
    """Send each message of a batch over one kept-alive SMTP connection, reconnecting on drops."""

    name = "smtp"

    def __init__(self, settings: Settings, *, ssl_context: ssl.SSLContext | None = None):
        self.target = parse_smtp_url(settings.SMTP_URL)
        #: MAIL FROM for messages without an envelope sender of their own (system emails).
        self.return_path = settings.RETURN_PATH
        self._ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None
        #: Builds each message and, with DKIM configured, signs it just before it is sent.
        self._raw_messages = RawMessages(signer_from_settings(settings))

    @property
    def sock(self) -> socket.socket | None:
        """Return the socket of the open connection, if any."""
        return self._conn.sock if self._conn is not None else None

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send every message and return one result per message, in order.

        Raises ``OutcomeUnknownError`` after the batch if a connection dropped while a
        message's final reply was awaited, and ``BackendAuthError`` if the relay refuses
        our credentials.
        """
        results: list[SendResult] = []
        unknown: list[int] = []
        self._check_alive()
        raws = self._raw_messages.for_batch(messages)
        for index, message in enumerate(messages):
            try:
                results.append(self._send_one(message, next(raws)))
            except _UncertainError:
                unknown.append(message.delivery_id)
            except BackendAuthError as exc:
                if not unknown and all(r.status != ResultStatus.ACCEPTED for r in results):
                    raise
                # Part of the batch went out: raising would have the caller send it again.
                results += [_transient(m, str(exc)) for m in messages[index:]]
                break
        if unknown:
            log.warning("smtp: %d message(s) with unknown outcome", len(unknown))
            raise OutcomeUnknownError(unknown, results, "connection lost awaiting the reply")
        return results

    def close(self) -> None:
        """Send QUIT and close the connection, ignoring a relay that is already gone."""
        self._raw_messages.close()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def _send_one(self, message: OutgoingMessage, raw_message: Callable[[], bytes]) -> SendResult:
        try:
            raw = raw_message()
            sender = (
                message.envelope_sender
                or self.return_path
                or split_address(message.from_address)[1]
            )
        except ValueError as exc:
            return _result(message, ResultStatus.FAILED_PERMANENT, error=str(exc))
        try:
            conn = self._connection()
        except (smtplib.SMTPException, OSError) as exc:
            self._discard()
            return _transient(message, f"cannot connect: {exc}")
        try:
            return self._transmit(conn, message, sender, raw)
        except _UncertainError:
            self._discard()
            raise
        except _SenderRefusedError as exc:
            self._reset(conn)
            if exc.code in AUTH_REFUSALS:
                raise BackendAuthError(f"SMTP relay refused the sender: {exc}") from exc
            return _transient(message, f"sender refused: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            # The body never went out in full, so the relay cannot have taken the message.
            self._discard()
            return _transient(message, f"connection lost: {exc}")

    def _transmit(
        self, conn: smtplib.SMTP, message: OutgoingMessage, sender: str, raw: bytes
    ) -> SendResult:
        code, reply = _envelope(conn, sender, message.to_address)
        if code == 354:
            code, reply = _body(conn, raw)
        if 200 <= code < 300:
            return _result(message, ResultStatus.ACCEPTED, message.headers.get("Message-ID"))
        self._reset(conn)
        error = f"{code} {reply.decode('utf-8', 'replace')}"
        if 500 <= code < 600:
            return _result(message, ResultStatus.FAILED_PERMANENT, error=error)
        return _transient(message, error)

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _check_alive(self) -> None:
        """Drop a kept connection the relay closed while idle, before a batch relies on it."""
        if self._conn is None:
            return
        try:
            alive = self._conn.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            alive = False
        if not alive:
            self._discard()

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        conn: smtplib.SMTP
        if target.implicit_tls:
            conn = smtplib.SMTP_SSL(
                target.host, target.port, timeout=target.timeout, context=self._context()
            )
        else:
            conn = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        try:
            _set_nodelay(conn)
            conn.ehlo()
            if target.starttls:
                conn.starttls(context=self._context())
                _set_nodelay(conn)
                conn.ehlo()
            if target.username:
                conn.login(target.username, target.password)
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            raise BackendAuthError(f"SMTP relay refused the credentials: {exc.smtp_code}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _set_nodelay(conn: smtplib.SMTP) -> None:
    # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs stall each TLS send ~40 ms.
    if conn.sock is not None:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _envelope(conn: smtplib.SMTP, sender: str, recipient: str) -> tuple[int, bytes]:
    """Run MAIL, RCPT and DATA; return DATA's 354 or the recipient's refusal.

    Raises ``_SenderRefusedError`` when MAIL FROM itself is refused.
    """
    if conn.has_extn("pipelining"):
        replies = _pipelined(conn, sender, recipient)
    else:
        replies = [conn.mail(sender)]
        if replies[0][0] == 250:
            replies.append(conn.rcpt(recipient))
        if len(replies) == 2 and replies[1][0] in (250, 251):
            replies.append(conn.docmd("DATA"))
    if replies[0][0] != 250:
        raise _SenderRefusedError(*replies[0])
    return next(r for r in replies[1:] if r[0] not in (250, 251))


def _pipelined(conn: smtplib.SMTP, sender: str, recipient: str) -> list[tuple[int, bytes]]:
    # RFC 2920 pipelining: one round trip instead of three, which is what bounds a remote relay.
    conn.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii"))
    replies = [conn.getreply() for _ in range(3)]
    refused = replies[0][0] != 250 or replies[1][0] not in (250, 251)
    if refused and replies[2][0] == 354:
        conn.send(b".\r\n")
        conn.getreply()
    return replies


def _body(conn: smtplib.SMTP, raw: bytes) -> tuple[int, bytes]:
    """Send the body and its final dot; a drop before the reply leaves the outcome unknown."""
    if raw.startswith(b".") or b"\n." in raw:
        raw = _LEADING_DOT.sub(b"..", raw)
    conn.send(raw + b".\r\n")
    try:
        return conn.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _UncertainError(str(exc)) from exc


def _result(
    message: OutgoingMessage,
    status: ResultStatus,
    provider_id: str | None = None,
    *,
    error: str | None = None,
) -> SendResult:
    return SendResult(message.delivery_id, status, provider_message_id=provider_id, error=error)


def _transient(message: OutgoingMessage, error: str) -> SendResult:
    retry_at: datetime = now() + TRANSIENT_RETRY
    return SendResult(
        message.delivery_id, ResultStatus.FAILED_TRANSIENT, error=error, retry_at=retry_at
    )

"""Configure logging: JSON or plain lines carrying the request id and the bound campaign.

Every request gets an id (the client's ``X-Request-ID`` when it is sane, else a fresh one), echoed
in the response's ``X-Request-ID`` header and carried by every log line written while the request
runs. Code outside a request, such as the send pipeline, binds a campaign the same way::

    from engine.logs import bind_campaign

    with bind_campaign(campaign.id):
        log.info("batch %s sent", batch.number)   # the line carries "campaign_id"

``bind_campaign(id)`` called without ``with`` stays bound for the rest of the current context
(thread or task). With ``PINWHEEL_LOG_JSON=true`` each line is one JSON object with ``time``,
``level``, ``logger``, ``message``, ``request_id``, ``campaign_id`` (when bound), ``path``, and for
the per-request line ``status`` and ``duration_ms``.

Logs never hold the secrets some URLs carry: the path segment a route names ``token``
(``/unsubscribe/<token>``, ``/preferences/<token>``, ``/confirm/<token>``) is logged as
``[redacted]``, and so are the values of the ``t`` and ``token`` query parameters (personal web
views, calendar feeds) wherever a query string is logged (gunicorn's access log). Control
characters are escaped (``\\x1b``), in plain lines as JSON does, so that a URL cannot end a
line and forge the next one or drive the terminal that shows it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, current_app, g, request

from engine.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "[redacted]"
#: ``environ`` key holding the request's path as logs show it (for ``engine.micro_cache`` and
#: the access log, which log the request outside Flask).
LOG_PATH = "pinwheel.log_path"
#: The path argument and query parameters whose values are secrets (see the module docstring).
REDACTED_ARGUMENT = "token"
REDACTED_PARAMETERS = frozenset({"t", "token"})
#: C0 controls, DEL, C1 controls (which include the 8-bit CSI) and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: A variable part of a URL rule, as werkzeug writes it: ``<token>``, ``<int(max=9):id>``.
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?(?P<name>\w+)>")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Probes and scrapes arrive every few seconds; logging them at INFO would drown real traffic.
_QUIET_PATHS = frozenset({"/healthz", "/metrics"})

_request_id: ContextVar[str | None] = ContextVar("pinwheel_request_id", default=None)
_campaign_id: ContextVar[int | None] = ContextVar("pinwheel_campaign_id", default=None)
_path: ContextVar[str | None] = ContextVar("pinwheel_path", default=None)

request_log = logging.getLogger("pinwheel.request")


class CampaignBinding:
    """Undo a ``bind_campaign`` when used as a context manager."""

    def __init__(self, token: Token[int | None]) -> None:
        self._token = token

    def __enter__(self) -> CampaignBinding:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        _campaign_id.reset(self._token)


def bind_campaign(campaign_id: int | None) -> CampaignBinding:
    """Attach ``campaign_id`` to every log line of the current context (``with`` undoes it)."""
    return CampaignBinding(_campaign_id.set(campaign_id))


def current_request_id() -> str | None:
    """Return the id of the request being handled, if any."""
    return _request_id.get()


class ContextFilter(logging.Filter):
    """Copy the request id, bound campaign and path onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or _request_id.get()
        record.campaign_id = getattr(record, "campaign_id", None) or _campaign_id.get()
        record.path = getattr(record, "path", None) or _path.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    OPTIONAL = ("campaign_id", "path", "status", "duration_ms", "method")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in self.OPTIONAL:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """Format a line with control characters escaped; only a traceback may span lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return escape_controls(super().formatMessage(record))


def escape_controls(text: str) -> str:
    """Return ``text`` with every control character written as an escape (``\\x0a``)."""
    return _CONTROL.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def loggable_path(
    path: str,
    rule: str | None = None,
    arguments: Mapping[str, Any] | None = None,
    token_prefixes: Iterable[str] = (),
) -> str:
    """Return ``path`` as logs show it: the ``token`` argument of its ``rule`` redacted, escaped.

    ``rule`` and ``arguments`` are the matched URL rule and its values (``request.url_rule``,
    ``request.view_args``). A path that matched no rule (a 404 or 405 on ``/unsubscribe/<token>/``)
    still hides the segment after any of ``token_prefixes``, the rules' text before a token.
    """
    if rule is not None and arguments and REDACTED_ARGUMENT in arguments:
        values = {name: str(value) for name, value in arguments.items()}
        values[REDACTED_ARGUMENT] = REDACTED
        path = _RULE_ARGUMENT.sub(lambda found: values.get(found["name"], found.group()), rule)
    elif rule is None:
        for prefix in token_prefixes:
            if path.startswith(prefix) and len(path) > len(prefix):
                _secret, slash, rest = path[len(prefix) :].partition("/")
                path = f"{prefix}{REDACTED}{slash}{rest}"
                break
    return escape_controls(path)


def token_prefixes(rules: Iterable[str]) -> tuple[str, ...]:
    """Return the text before ``<token>`` of every URL rule that carries one, longest first."""
    marker = f"<{REDACTED_ARGUMENT}>"
    found = {rule.split(marker)[0] for rule in rules if marker in rule}
    return tuple(sorted(found, key=len, reverse=True))


def loggable_query(query: str) -> str:
    """Return a raw query string with the values of secret parameters redacted."""
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        pairs.append(
            f"{name}={REDACTED}" if equals and unquote(name) in REDACTED_PARAMETERS else pair
        )
    return escape_controls("&".join(pairs))


OWN_LOGGERS = ("pinwheel", "engine", "subscribers", "campaigns")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """Install Pinwheel's handler on the root logger, replacing one installed before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("pinwheel")
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.LOG_JSON else PlainFormatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == "pinwheel"]:
        root.removeHandler(previous)
    root.addHandler(handler)
    # Our own INFO lines (one per request, pipeline progress) but only warnings from libraries.
    if root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
    return handler


def _start_request() -> None:
    request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
    rule = request.url_rule.rule if request.url_rule is not None else None
    prefixes = current_app.extensions.get("pinwheel.token_prefixes")
    if prefixes is None:
        prefixes = token_prefixes(r.rule for r in current_app.url_map.iter_rules())
        current_app.extensions["pinwheel.token_prefixes"] = prefixes
    path = loggable_path(request.path, rule, request.view_args, prefixes)
    request.environ[LOG_PATH] = path
    g.log_tokens = (_request_id.set(request_id), _path.set(path))
    g.log_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    request_id = _request_id.get()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("log_started")
    if started is not None:
        log_request(request.method, _path.get() or "", response.status_code, started)
    return response


def new_request_id(supplied: str | None) -> str:
    """Return the client's request id when it is sane, else a fresh one."""
    return supplied if supplied and _SANE_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


def log_request(
    method: str, path: str, status: int, started: float, request_id: str | None = None
) -> None:
    """Write the one line a request gets (``started`` is its ``time.perf_counter()``).

    ``path`` is written as given: pass it through ``loggable_path`` first.
    """
    level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
    if not request_log.isEnabledFor(level):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    extra = {"status": status, "duration_ms": duration_ms, "method": method}
    if request_id is not None:
        extra |= {"request_id": request_id, "path": path}
    request_log.log(level, "%s %s %s", method, path, status, extra=extra)


def _clear_request(_exc: BaseException | None) -> None:
    tokens = g.pop("log_tokens", None)
    if tokens is not None:
        _request_id.reset(tokens[0])
        _path.reset(tokens[1])


def init_app(app: Flask, settings: Settings) -> None:
    """Configure logging and give every request an id that its response and log lines carry."""
    configure_logging(settings)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_clear_request)

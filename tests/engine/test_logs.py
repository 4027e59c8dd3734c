from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.config import Settings
from engine.logs import bind_campaign, configure_logging, current_request_id
from subscribers.tokens import Purpose, TokenSigner


@pytest.fixture
def json_lines(settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(settings.with_overrides(LOG_JSON=True), stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def _entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_request_id_is_generated_and_echoed(client: FlaskClient) -> None:
    response = client.get("/admin/login")
    assert len(response.headers["X-Request-ID"]) == 32


def test_client_request_id_is_kept(client: FlaskClient) -> None:
    response = client.get("/admin/login", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_unreasonable_request_id_is_replaced(client: FlaskClient) -> None:
    response = client.get("/admin/login", headers={"X-Request-ID": "bad id\u00e9" * 40})
    assert response.headers["X-Request-ID"] != "bad id"
    assert len(response.headers["X-Request-ID"]) == 32


def test_json_request_line_carries_request_id(
    app: Flask, client: FlaskClient, json_lines: io.StringIO
) -> None:
    client.get("/admin/login", headers={"X-Request-ID": "req-42"})
    entry = next(e for e in _entries(json_lines) if e["logger"] == "pinwheel.request")
    assert entry["request_id"] == "req-42"
    assert entry["path"] == "/admin/login"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)
    assert {"time", "level", "message"} <= entry.keys()


def test_lines_logged_inside_a_view_carry_request_id(
    app: Flask, client: FlaskClient, json_lines: io.StringIO
) -> None:
    @app.get("/log-something")
    def log_something() -> str:
        logging.getLogger("engine.test").warning("inside %s", current_request_id())
        return "ok"

    client.get("/log-something", headers={"X-Request-ID": "req-7"})
    entry = next(e for e in _entries(json_lines) if e["logger"] == "engine.test")
    assert entry["message"] == "inside req-7"
    assert entry["request_id"] == "req-7"
    assert entry["level"] == "WARNING"


def test_bound_campaign_appears_then_goes(json_lines: io.StringIO) -> None:
    log = logging.getLogger("engine.pipeline-test")
    with bind_campaign(12):
        log.info("batch sent")
    log.info("after")
    first, second = _entries(json_lines)[-2:]
    assert first["campaign_id"] == 12
    assert first["request_id"] is None
    assert "campaign_id" not in second


def test_plain_format_without_log_json(settings: Settings) -> None:
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        logging.getLogger("engine.plain-test").info("hello")
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith("INFO engine.plain-test [None] hello")


def test_configuring_twice_keeps_one_handler(settings: Settings) -> None:
    configure_logging(settings)
    configure_logging(settings)
    names = [h.get_name() for h in logging.getLogger().handlers]
    assert names.count("pinwheel") == 1


@pytest.fixture(params=[False, True], ids=["plain", "json"])
def lines(request: pytest.FixtureRequest, settings: Settings) -> Iterator[io.StringIO]:
    """Capture log lines in either format."""
    stream = io.StringIO()
    handler = configure_logging(settings.with_overrides(LOG_JSON=request.param), stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def _request_line(stream: io.StringIO) -> str:
    line, *_ = [line for line in stream.getvalue().splitlines() if "pinwheel.request" in line]
    return line


TOKENED = (
    ("/unsubscribe/{token}", "/unsubscribe/[redacted]"),
    ("/preferences/{token}", "/preferences/[redacted]"),
    ("/confirm/{token}", "/confirm/[redacted]"),
    ("/view/an-issue?t={token}", "/view/an-issue"),
    ("/view/an-issue/email?t={token}", "/view/an-issue/email"),
    ("/calendar.ics?token={token}", "/calendar.ics"),
    # Paths that match no rule (404, 405) hide the token all the same.
    ("/unsubscribe/{token}/", "/unsubscribe/[redacted]/"),
    ("/preferences/{token}/extra", "/preferences/[redacted]/extra"),
    ("/admin/invite/{token}/", "/admin/invite/[redacted]/"),
)


@pytest.mark.parametrize(("url", "logged"), TOKENED)
def test_subscriber_tokens_never_reach_the_logs(
    client: FlaskClient, lines: io.StringIO, settings: Settings, url: str, logged: str
) -> None:
    token = TokenSigner(settings.SECRET_KEY, 90).sign(Purpose.UNSUBSCRIBE, 4242)
    client.get(url.format(token=token))
    client.put(url.format(token=token))  # 405 on a matched path: still hidden
    assert token.split(".")[-1] not in lines.getvalue()
    line = _request_line(lines)
    if line.startswith("{"):
        assert json.loads(line)["path"] == logged
    assert f"GET {logged} " in line


def test_a_url_cannot_forge_a_log_line(client: FlaskClient, lines: io.StringIO) -> None:
    forged = "2026-01-01 00:00:00,000 INFO pinwheel.request [x] GET /admin 200"
    client.get(f"/archive/x%0d%0a{forged.replace(' ', '%20')}%1b[2J%7f%c2%85%00")
    (line,) = lines.getvalue().splitlines()
    if line.startswith("{"):
        line = json.loads(line)["message"]
    assert "x\\x0d\\x0a2026-01-01 00:00:00,000 INFO" in line
    assert "\\x1b[2J\\x7f\\x85\\x00 404" in line


def test_plain_lines_escape_controls_in_any_message(settings: Settings) -> None:
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        logging.getLogger("engine.plain-test").warning("name %s", "Ann\r\nERROR forged\x1b[31m")
    finally:
        logging.getLogger().removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING engine.plain-test [None] name Ann\\x0d\\x0aERROR forged\\x1b[31m")


def test_json_lines_escape_controls(json_lines: io.StringIO) -> None:
    logging.getLogger("engine.json-test").warning("name %s", "Ann\r\nforged\x1b[31m\u2028")
    (line,) = json_lines.getvalue().splitlines()
    assert "\x1b" not in line and "\u2028" not in line
    assert json.loads(line)["message"] == "name Ann\r\nforged\x1b[31m\u2028"

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from engine.config import Settings
from engine.health import (
    check_broker,
    check_database,
    check_liveness,
    check_readiness,
    ping_database,
)

#: Nothing listens on the discard port: a connection there is refused at once.
REFUSED_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def _with_broker(app: Flask, url: str) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(BROKER_URL=url)


def test_liveness_needs_only_settings(settings: Settings) -> None:
    broken = settings.with_overrides(
        DATABASE_URL="sqlite:////nowhere/x.db", BROKER_URL=REFUSED_REDIS
    )
    [check] = check_liveness(broken)
    assert (check.name, check.status) == ("settings", "ok")


def test_database_answers(settings: Settings, database) -> None:
    assert check_database(settings).status == "ok"
    assert ping_database(database.read_engine).message.startswith("reachable")


def test_missing_sqlite_file_is_not_created(settings: Settings, tmp_path) -> None:
    path = tmp_path / "nope.db"
    check = check_database(settings.with_overrides(DATABASE_URL=f"sqlite:///{path}"))
    assert check.status == "fail" and "pinwheel db upgrade" in check.hint
    assert not path.exists()


def test_unreachable_postgresql_fails(settings: Settings) -> None:
    down = settings.with_overrides(DATABASE_URL="postgresql+psycopg://pinwheel@127.0.0.1:9/x")
    check = check_database(down, timeout=1)
    assert check.status == "fail" and check.message == "unreachable: OperationalError"


def test_broker(settings: Settings) -> None:
    assert check_broker(settings).status == "ok"
    assert check_broker(settings.with_overrides(BROKER_URL=REFUSED_REDIS)).status == "fail"


def test_readiness_fails_a_silent_server_within_the_timeout(
    settings: Settings, silent_port: int
) -> None:
    # libpq waits at least 2 s to connect: the deadline, not the driver, ends this check.
    silent = settings.with_overrides(
        DATABASE_URL=f"postgresql+psycopg://pinwheel@127.0.0.1:{silent_port}/x",
        BROKER_URL=f"redis://127.0.0.1:{silent_port}/0",
    )
    started = time.monotonic()
    database, broker = check_readiness(silent, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert (database.status, database.message) == ("fail", "no answer within 0.5 s")
    assert "PINWHEEL_DATABASE_URL" in database.hint
    assert broker.status == "fail"


def test_health_is_ready_by_default(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["health"])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines()] == [
        ["ok", "database"],
        ["ok", "broker"],
    ]
    document = json.loads(runner.invoke(args=["health", "--ready", "--json"]).output)
    assert document["ok"] is True
    assert [check["name"] for check in document["checks"]] == ["database", "broker"]


def test_health_exits_1_with_a_line_per_failed_check(app: Flask, runner: FlaskCliRunner) -> None:
    _with_broker(app, REFUSED_REDIS)
    result = runner.invoke(args=["health", "--timeout", "2"])
    assert result.exit_code == 1
    assert "fail  broker    redis did not answer (ConnectionError)" in result.output
    assert "ok    database" in result.output
    document = json.loads(runner.invoke(args=["health", "--json"]).output)
    assert document["ok"] is False


def test_liveness_ignores_the_broker(app: Flask, runner: FlaskCliRunner) -> None:
    _with_broker(app, REFUSED_REDIS)
    result = runner.invoke(args=["health", "--live"])
    assert result.exit_code == 0, result.output
    assert result.output.split()[:2] == ["ok", "settings"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--live", "--ready"], "Choose one of --ready and --live."),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--timeout", "soon"], "Invalid value for '--timeout'"),
        (["--verbose"], "No such option '--verbose'"),
    ],
)
def test_bad_usage_exits_2(runner: FlaskCliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(args=["health", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_healthz_is_ready_without_the_broker(app: Flask) -> None:
    # Pages work while Redis is away: a broker outage must not take the site out of rotation.
    _with_broker(app, REFUSED_REDIS)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_the_failed_database_check(tmp_path) -> None:
    from engine.app import create_app
    from engine.config import load_settings

    missing = tmp_path / "missing" / "db.sqlite"
    app = create_app(
        load_settings(
            environ={},
            ENV="testing",
            SECRET_KEY="x",
            INSTANCE_PATH=str(tmp_path / "instance"),
            DATABASE_URL=f"sqlite:///{missing}",
        )
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "unreachable: OperationalError",
    }

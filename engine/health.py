"""Probe what a running process depends on, for ``pinwheel health``, ``/healthz`` and the doctor.

Liveness asks only whether the process could load its settings: an orchestrator restarts a
process that fails it, and restarting every process because the database is down helps nobody.
Readiness asks whether the database answers a query and, with a broker, whether Redis answers
PING, all within one timeout: a process that is not ready gets no traffic (or sends nothing)
until it is again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa

from engine.checks import Check
from engine.config import Settings

#: Seconds a probe waits for the database and the broker unless told otherwise.
DEFAULT_TIMEOUT = 5.0
_UNREACHABLE_HINTS = {
    "database": "Check PINWHEEL_DATABASE_URL and that the server is running.",
    "broker": "Check PINWHEEL_BROKER_URL and that Redis is running.",
}


def check_liveness(settings: Settings) -> list[Check]:
    """Report that this process loaded its settings (a process that cannot never gets here)."""
    return [Check("settings", "ok", f"loaded ({settings.ENV})")]


def check_readiness(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Ask the database and the broker at once; one that has not answered in time fails."""
    probes: dict[str, Callable[[], Check]] = {
        "database": lambda: check_database(settings, timeout),
        "broker": lambda: check_broker(settings, timeout),
    }
    return _within(timeout, probes)


def _within(timeout: float, probes: dict[str, Callable[[], Check]]) -> list[Check]:
    # Driver timeouts bound the connection, not every way a server can hang (a stalled TLS
    # handshake, a query stuck behind a lock): daemon threads and one deadline bound them all.
    answers: dict[str, Check] = {}

    def run(name: str, probe: Callable[[], Check]) -> None:
        try:
            answers[name] = probe()
        except Exception as error:  # a probe must report, not crash the command
            answers[name] = Check(name, "fail", f"error: {error.__class__.__name__}: {error}")

    threads = [
        threading.Thread(target=run, args=item, name=f"health-{item[0]}", daemon=True)
        for item in probes.items()
    ]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        answers.get(name)
        or Check(name, "fail", f"no answer within {timeout:g} s", _UNREACHABLE_HINTS[name])
        for name in probes
    ]


def check_database(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Check that the database answers a query, on a connection of its own."""
    url = sa.make_url(settings.DATABASE_URL)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would create an empty file and report it healthy.
        return Check(
            "database",
            "fail",
            f"no SQLite file at {url.database}",
            "Run `pinwheel db upgrade` to create it, or fix PINWHEEL_DATABASE_URL.",
        )
    connect_args = (
        # libpq takes whole seconds (and treats 1 as 2).
        {"connect_timeout": max(1, math.ceil(timeout))}
        if url.get_backend_name() == "postgresql"
        else {}
    )
    engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    try:
        return ping_database(engine)
    finally:
        engine.dispose()


def ping_database(engine: sa.Engine) -> Check:
    """Run ``SELECT 1`` on ``engine`` (a fresh one, or a process's own pool for ``/healthz``)."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        return Check(
            "database",
            "fail",
            f"unreachable: {error.__class__.__name__}",
            _UNREACHABLE_HINTS["database"],
        )
    return Check("database", "ok", f"reachable ({engine.dialect.name})")


def check_broker(settings: Settings, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Ping the Redis broker when ``BROKER_URL`` is set."""
    if not settings.BROKER_URL:
        return Check("broker", "ok", "none: send batches run in the web/scheduler process")
    if not settings.BROKER_URL.startswith(("redis://", "rediss://")):
        return Check("broker", "warn", "only Redis brokers are checked")
    return ping_redis("broker", settings.BROKER_URL, "PINWHEEL_BROKER_URL", timeout)


def ping_redis(name: str, url: str, setting: str, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Check that the Redis server at ``url`` answers PING; ``setting`` names it in the hint."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as error:
        return Check(
            name,
            "fail",
            f"redis did not answer ({error.__class__.__name__})",
            f"Check {setting} and that Redis is running.",
        )
    finally:
        client.close()
    return Check(name, "ok", "redis answered PING")

"""Who used the CPU during a send: the workers, the fake provider and PostgreSQL's backends.

PostgreSQL's share is read from ``/proc`` for every backend connected to the send's database
(sampled while they live, so each backend's last reading stands when it exits), plus the
server's own writers (WAL writer, checkpointer, background writer), which other databases on
the same server also use.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from bench.floor import process_cpu

_WRITERS = ("walwriter", "checkpointer", "background writer")


class PostgresCpu:
    """Sample the CPU of the backends of ``database`` until ``stop()``; sum it."""

    def __init__(self, admin_url: str, database: str, every: float = 0.25) -> None:
        self._engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._database, self._every = database, every
        self._seen: dict[int, tuple[float, float]] = {}
        self._writers: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> PostgresCpu:
        self._writers = {pid: process_cpu(pid) for pid in _writer_pids()}
        self._thread.start()
        return self

    def stop(self) -> tuple[float, float]:
        """Return the backends' CPU seconds and the server writers' since ``start``."""
        self._done.set()
        self._thread.join()
        self._engine.dispose()
        backends = sum(last - first for first, last in self._seen.values())
        writers = sum(_cpu_or(pid, before) - before for pid, before in self._writers.items())
        return backends, writers

    def _sample(self) -> None:
        with self._engine.connect() as connection:
            while not self._done.wait(self._every):
                pids = connection.execute(
                    sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                    {"d": self._database},
                ).scalars()
                for pid in pids:
                    now = _cpu_or(pid, -1.0)
                    if now >= 0:
                        first = self._seen.get(pid, (now, now))[0]
                        self._seen[pid] = (first, now)


def _cpu_or(pid: int, default: float) -> float:
    """Return the CPU of ``pid``, or ``default`` once it has exited."""
    try:
        return process_cpu(pid)
    except (FileNotFoundError, ProcessLookupError):
        return default


def _writer_pids() -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if command.startswith("postgres:") and any(name in command for name in _WRITERS):
            pids.append(int(status.parent.name))
    return pids

"""The provider's send budget, shared by every worker thread, process and host.

SendGrid limits the account, not the connection: ``SEND_RATE`` and the pause a 429 announces
hold for the fleet only if every sender books them in one place. That place is the database,
which every worker reaches with or without a broker: one ``provider_budget`` row per provider.

Reservations are scheduled, not counted: each request pushes ``next_free`` (the end of the
time the fleet has reserved) by its own cost in one atomic statement and starts when its
reservation ends. A 429 sets ``paused_until`` to its reset and forgets the reservations not
yet used, whose holders notice the new pause when they wake and book again behind it.
Times are epoch seconds, as SendGrid's ``X-RateLimit-Reset``: hosts keep their clocks in step.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from engine.config import Settings
from engine.db import READ_ONLY, Base, create_engine


class BudgetUnavailableError(Exception):
    """The budget could not be read or booked: no request may start (nothing was sent)."""


class ProviderBudget(Base):
    __tablename__ = "provider_budget"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    #: When the sending time the fleet has reserved runs out.
    next_free: Mapped[float] = mapped_column(sa.Float, server_default="0")
    #: No request starts before this moment: the latest reset a 429 announced.
    paused_until: Mapped[float] = mapped_column(sa.Float, server_default="0")


@dataclass(frozen=True, slots=True)
class Slot:
    """A reservation: when its request may start, and the pause known when it was made."""

    ready_at: float
    paused_until: float


class SendBudget(Protocol):
    """Where senders book their requests against the provider's limits.

    Each method may raise ``BudgetUnavailableError``.
    """

    def reserve(self, count: int, now: float) -> Slot:
        """Book sending time for ``count`` messages (nothing when the rate is unlimited)."""
        ...

    def paused_until(self) -> float:
        """Return the moment before which no request may start."""
        ...

    def pause(self, until: float, now: float) -> None:
        """Hold every sender back until ``until`` (a later pause already in force stays)."""
        ...


def burst_seconds(rate: float) -> float:
    """Return how much unused sending time may be saved up: one second's worth of messages."""
    return max(rate, 1.0) / rate


class ProcessBudget:
    """A budget kept in memory, for a single sending process (tests, one-off tools)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next_free = self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self, count: int, now: float) -> Slot:
        with self._lock:
            if self.rate <= 0:
                return Slot(now, self._paused_until)
            start = max(self._next_free, now - burst_seconds(self.rate), self._paused_until)
            self._next_free = start + count / self.rate
            return Slot(self._next_free, self._paused_until)

    def paused_until(self) -> float:
        with self._lock:
            return self._paused_until

    def pause(self, until: float, now: float) -> None:
        with self._lock:
            if until > self._paused_until:
                self._paused_until = until
                self._next_free = min(self._next_free, now)


class DatabaseBudget:
    """The fleet's budget for one provider, in the ``provider_budget`` row named ``name``."""

    def __init__(self, engine: Engine, name: str, rate: float) -> None:
        self.name, self.rate = name, rate
        postgres = engine.dialect.name == "postgresql"
        # Each statement stands alone, so PostgreSQL needs no BEGIN and COMMIT round trips.
        self._engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if postgres else engine
        )
        # On SQLite a read-only transaction neither waits for nor holds the write lock.
        self._reader = self._engine.execution_options(**{READ_ONLY: True})
        self._sql = _statements(postgres, name)

    def reserve(self, count: int, now: float) -> Slot:
        if self.rate <= 0:
            return Slot(now, self.paused_until())
        params = {"floor": now - burst_seconds(self.rate), "cost": count / self.rate}
        with _unavailable_as_error(), self._engine.begin() as connection:
            ready_at, paused_until = connection.execute(self._sql.reserve, params).one()
        return Slot(ready_at, paused_until)

    def paused_until(self) -> float:
        with _unavailable_as_error(), self._reader.connect() as connection:
            return connection.scalar(self._sql.read) or 0.0

    def pause(self, until: float, now: float) -> None:
        with _unavailable_as_error(), self._engine.begin() as connection:
            connection.execute(self._sql.pause, {"until": until, "now": now})


@dataclass(frozen=True, slots=True)
class _Statements:
    #: Book ``cost`` seconds from the latest of ``floor``, the last reservation and the pause.
    reserve: sa.Executable
    read: sa.Executable
    #: Pause until ``until``; a later pause than before also voids the unused reservations.
    pause: sa.Executable


@functools.cache
def _statements(postgres: bool, name: str) -> _Statements:
    """Build the budget's statements once: each request runs one, and building costs more."""
    table = ProviderBudget.__table__
    insert: Callable[[sa.Table], Any] = postgresql.insert if postgres else sqlite.insert
    # SQLite's many-argument max() and min() are PostgreSQL's greatest() and least().
    greatest, least = (sa.func.greatest, sa.func.least) if postgres else (sa.func.max, sa.func.min)
    floor, cost, until, now = (
        sa.bindparam(key, type_=sa.Float) for key in ("floor", "cost", "until", "now")
    )
    start = greatest(table.c.next_free, floor, table.c.paused_until)
    reserve = (
        insert(table)
        .values(name=name, next_free=floor + cost, paused_until=0.0)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"next_free": start + cost})
        .returning(table.c.next_free, table.c.paused_until)
    )
    later = table.c.paused_until < until
    pause = (
        insert(table)
        .values(name=name, next_free=0.0, paused_until=until)
        .on_conflict_do_update(
            index_elements=[table.c.name],
            set_={
                "next_free": sa.case(
                    (later, least(table.c.next_free, now)), else_=table.c.next_free
                ),
                "paused_until": greatest(table.c.paused_until, until),
            },
        )
    )
    read = sa.select(table.c.paused_until).where(table.c.name == name)
    return _Statements(reserve, read, pause)


@contextmanager
def _unavailable_as_error() -> Iterator[None]:
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise BudgetUnavailableError(f"the send budget is out of reach: {error.orig}") from error


def wait_turn(
    budget: SendBudget,
    count: int,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    jitter: Callable[[], float],
    max_wait: float,
) -> float | None:
    """Sleep until a request of ``count`` messages may start; return ``None`` then.

    Returns the end of the provider's pause instead, without waiting, when it lies more than
    ``max_wait`` ahead. A pause announced while this sender slept for its reservation forgot
    that reservation: the sender waits past the pause and books again.
    """
    while True:
        slot = budget.reserve(count, clock())
        paused_until = slot.paused_until
        if paused_until - clock() > max_wait:
            return paused_until
        if slot.ready_at > clock():
            sleep(slot.ready_at - clock())
            paused_until = budget.paused_until()
            if paused_until == slot.paused_until:
                return None
        elif paused_until <= clock():
            return None
        wait = paused_until - clock()
        if wait > max_wait:
            return paused_until
        if wait > 0:
            # Jitter spreads the senders that the pause held back, instead of waking them at once.
            sleep(wait + jitter())


def shared_budget(settings: Settings, name: str) -> DatabaseBudget:
    """Return the fleet's budget for provider ``name`` in the configured database."""
    return DatabaseBudget(_engine(settings.DATABASE_URL), name, settings.SEND_RATE)


#: A pool per process beside the worker's own: backends are built from settings alone.
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(url: str) -> Engine:
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            # A process sends through one database; another URL means the last one is done.
            for stale in _engines.values():
                stale.dispose()
            _engines.clear()
            engine = _engines[url] = _create_engine(url)
        return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("postgresql"):
        # Reservations are soft state: one lost in a server crash costs a 429 at worst, so no
        # statement waits for its WAL to reach the disk.
        options = {"options": "-c synchronous_commit=off"}
        return sa.create_engine(url, pool_pre_ping=True, connect_args=options)
    return create_engine(url)


def _forget_engines() -> None:
    # A forked child (a Celery pool process, a test's worker) must neither use nor close the
    # parent's connections, and a lock held by another parent thread would never be released.
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines)

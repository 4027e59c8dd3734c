"""The provider's send budget: one rate and one pause for senders that share a database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.db import create_engine
from engine.delivery.base import ResultStatus, TemplateBatch, TemplateRecipient
from engine.delivery.budget import (
    BudgetUnavailableError,
    DatabaseBudget,
    ProcessBudget,
    ProviderBudget,
    SendBudget,
    wait_turn,
)
from engine.delivery.sendgrid import SendGridBackend

START = 1_800_000_000.0
JITTER = 0.1
Hosts = Callable[[float], tuple[DatabaseBudget, DatabaseBudget]]


def after(offset: float) -> object:
    """Match ``offset`` seconds after START (to the microsecond: a relative match is too loose)."""
    return pytest.approx(START + offset, rel=0, abs=1e-6)


class Timeline:
    """A clock that moves only when a sender sleeps, running what others do meanwhile."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []
        self._events: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def at(self, moment: float, action: Callable[[], None]) -> None:
        self._events.append((moment, action))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.now + seconds
        while due := sorted((e for e in self._events if e[0] <= wake), key=lambda e: e[0]):
            moment, action = due[0]
            self._events.remove(due[0])
            self.now = moment
            action()
        self.now = wake

    def wait_turn(self, budget: SendBudget, count: int, max_wait: float = 120.0) -> float | None:
        return wait_turn(
            budget,
            count,
            clock=self.clock,
            sleep=self.sleep,
            jitter=lambda: JITTER,
            max_wait=max_wait,
        )


@pytest.fixture
def hosts(database_url: str) -> Iterator[Hosts]:
    """Return a builder of two budgets on two engines (two hosts) sharing one database."""
    engines: list[sa.Engine] = []

    def build(rate: float) -> tuple[DatabaseBudget, DatabaseBudget]:
        first, second = create_engine(database_url), create_engine(database_url)
        engines.extend([first, second])
        return DatabaseBudget(first, "sendgrid", rate), DatabaseBudget(second, "sendgrid", rate)

    yield build
    for engine in engines:
        engine.dispose()


def test_the_rate_holds_for_senders_on_two_hosts(hosts: Hosts) -> None:
    first, second = hosts(100)
    # Six requests of 100 messages booked at the same instant, alternately from each host: the
    # first uses the saved-up second, each of the others a second of its own.
    slots = [(first, second)[n % 2].reserve(100, START) for n in range(6)]
    assert [slot.ready_at for slot in slots] == [after(n) for n in range(6)]
    # Time nobody used is not saved up beyond one second's worth.
    later = START + 100
    assert second.reserve(50, later).ready_at == after(99.5)
    assert first.reserve(150, later).ready_at == after(101)


@pytest.mark.parametrize("rate", [0, 50])
def test_a_pause_set_on_one_host_holds_back_the_other(hosts: Hosts, rate: float) -> None:
    first, second = hosts(rate)
    timeline = Timeline()
    first.pause(START + 5, START)
    assert second.paused_until() == START + 5
    assert timeline.wait_turn(second, 10) is None
    assert START + 5 < timeline.now <= START + 5 + JITTER + 10 / 50


def test_a_pause_announced_while_waiting_sends_the_sender_behind_it(hosts: Hosts) -> None:
    first, second = hosts(100)
    timeline = Timeline()
    assert first.reserve(200, START).ready_at == after(1)
    # The second host books the next second, and while it sleeps the first is told 429.
    timeline.at(START + 0.5, lambda: first.pause(START + 3, START + 0.5))
    assert timeline.wait_turn(second, 100) is None
    # Not at START + 2 as booked: the pause voided every reservation made before it, so the
    # sender booked again behind it and went once its second had passed.
    assert timeline.now == after(4)
    assert first.reserve(100, timeline.now).ready_at == after(5)


def test_reservations_a_pause_voided_are_not_charged_twice(hosts: Hosts) -> None:
    first, second = hosts(100)
    timeline = Timeline()
    assert first.reserve(500, START).ready_at == after(4)
    timeline.at(START + 0.5, lambda: first.pause(START + 2, START + 0.5))
    assert timeline.wait_turn(second, 100) is None
    # Booked for START + 5, it woke after the pause and booked again: the time the pause
    # voided counts for nobody, so it went at once and the next second is the next reservation's.
    assert timeline.now == after(5)
    assert first.reserve(100, timeline.now).ready_at == after(6)


def test_a_late_429_from_a_request_in_flight_keeps_pause_and_reservations(hosts: Hosts) -> None:
    first, second = hosts(100)
    first.pause(START + 5, START)
    booked = second.reserve(100, START + 0.1)
    assert booked.ready_at == after(6)
    # A request that had already started when the pause began is answered 429 with an
    # earlier reset: the pause stays, and so does the reservation made under it.
    first.pause(START + 4, START + 0.2)
    assert second.paused_until() == START + 5
    assert first.reserve(100, START + 0.3).ready_at == after(7)
    timeline = Timeline()
    timeline.now = START + 0.1
    timeline.at(START + 0.2, lambda: first.pause(START + 4, START + 0.2))
    assert timeline.wait_turn(second, 100) is None
    assert timeline.now == after(8)


def test_a_distant_pause_is_reported_not_slept(hosts: Hosts) -> None:
    first, second = hosts(100)
    timeline = Timeline()
    first.pause(START + 600, START)
    assert timeline.wait_turn(second, 10, max_wait=120) == START + 600
    assert timeline.sleeps == []


def test_unlimited_rate_only_reads_the_pause(hosts: Hosts, database_url: str) -> None:
    first, second = hosts(0)
    assert first.reserve(1000, START).ready_at == START
    engine = create_engine(database_url)
    with engine.connect() as connection:
        # Nothing written: an unlimited sender costs one primary-key read per request.
        assert connection.scalar(sa.select(sa.func.count()).select_from(ProviderBudget)) == 0
    second.pause(START + 2, START)
    assert first.reserve(1000, START + 1).paused_until == START + 2
    engine.dispose()


def test_process_budget_paces_and_pauses_like_the_shared_one() -> None:
    budget = ProcessBudget(10)
    assert budget.reserve(10, START).ready_at == START
    assert budget.reserve(10, START + 0.5).ready_at == START + 1
    budget.pause(START + 3, START + 0.6)
    budget.pause(START + 2, START + 0.7)
    assert budget.paused_until() == START + 3
    assert budget.reserve(10, START + 0.8).ready_at == START + 4
    assert ProcessBudget(0).reserve(1_000_000, START).ready_at == START


def test_a_budget_out_of_reach_fails_the_request_before_it_is_sent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    budget = DatabaseBudget(engine, "sendgrid", 100)
    with pytest.raises(BudgetUnavailableError):
        budget.reserve(10, START)
    settings = Settings(SENDGRID_API_KEY="SG.test-key", SENDGRID_API_URL="http://127.0.0.1:9")
    backend = SendGridBackend(settings, sleep=lambda _seconds: None, budget=budget)
    recipients = [TemplateRecipient(1, "reader@example.org")]
    results = backend.send_template(
        TemplateBatch("news@example.org", "Hello", "<p>Hi</p>", "Hi", recipients)
    )
    # A transient failure to retry later, not an unknown outcome: nothing left the building.
    assert [r.status for r in results] == [ResultStatus.FAILED_TRANSIENT]
    assert results[0].error is not None and "out of reach" in results[0].error
    engine.dispose()

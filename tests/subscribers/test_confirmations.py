"""The confirmation queue: claimed with a lease, sent outside a transaction, retried, given up."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from sqlalchemy.orm import Session

from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.delivery.base import BackendAuthError, ResultStatus
from engine.delivery.memory import MemoryBackend
from engine.scheduler import JOBS
from subscribers import confirmations
from subscribers.confirmations import (
    LEASE,
    LEASE_MARGIN,
    MAX_ATTEMPTS,
    claim_confirmations,
    find_due_confirmations,
    record_confirmation_results,
    send_confirmations,
    send_confirmations_job,
    send_due_confirmations,
)
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberEvent,
    SuppressionReason,
    Topic,
)
from subscribers.service import confirm_subscriber, subscribe
from subscribers.suppression import suppress
from tests.factories import make_topic


def _queue(session: Session, email: str, topic: Topic) -> Subscriber:
    outcome = subscribe(session, email, [topic])
    assert outcome.confirmation_queued
    subscriber = session.get(Subscriber, outcome.subscriber_id)
    session.commit()  # ends the transaction: on SQLite it holds the write lock
    return subscriber


def _claim(session: Session) -> tuple:
    claimed = claim_confirmations(session, *find_due_confirmations(session))
    session.commit()
    return claimed


def test_two_senders_never_claim_the_same_confirmation(session: Session) -> None:
    _queue(session, "once@example.com", make_topic(session))
    due, drop = find_due_confirmations(session)
    first, _ = claim_confirmations(session, due, drop)
    second, _ = claim_confirmations(session, due, drop)
    assert len(first) == 1 and second == []
    session.commit()


def _state(session: Session, subscriber: Subscriber) -> tuple:
    session.expire_all()
    row = session.get(Subscriber, subscriber.id)
    kinds = session.scalars(
        sa.select(SubscriberEvent.kind)
        .where(SubscriberEvent.subscriber_id == subscriber.id)
        .order_by(SubscriberEvent.id)
    ).all()
    session.commit()
    return row.confirmation_due_at, row.confirmation_attempts, row.confirmation_sent_at, kinds


def test_a_sent_confirmation_is_recorded_once(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    topic = make_topic(session, "trafficking")
    subscriber = _queue(session, "reader@example.com", topic)
    run = send_due_confirmations(database, settings)
    assert (run.claimed, run.sent) == (1, 1)
    due, attempts, sent_at, kinds = _state(session, subscriber)
    assert due is None and attempts == 0 and sent_at is not None
    assert kinds[-1] == EventKind.CONFIRMATION_SENT
    assert [m.to_address for m in outbox.sent] == ["reader@example.com"]
    assert "/confirm/" in outbox.sent[0].text
    assert send_due_confirmations(database, settings).claimed == 0
    assert len(outbox.sent) == 1


def test_a_transient_failure_is_retried_later_then_given_up(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    topic = make_topic(session)
    subscriber = _queue(session, "flaky@example.com", topic)
    outbox.fail_addresses["flaky@example.com"] = ResultStatus.FAILED_TRANSIENT
    with time_machine.travel(now(), tick=False) as traveller:
        assert send_due_confirmations(database, settings).retrying == 1
        due, attempts, _, _ = _state(session, subscriber)
        assert attempts == 1 and due == now() + timedelta(minutes=1)
        # Not due yet: the next tick leaves it alone.
        assert send_due_confirmations(database, settings).claimed == 0
        for attempt in range(2, MAX_ATTEMPTS + 1):
            traveller.shift(timedelta(minutes=2 ** (attempt - 1)))
            run = send_due_confirmations(database, settings)
            assert run.claimed == 1
        assert run.given_up == 1
    due, attempts, sent_at, kinds = _state(session, subscriber)
    assert due is None and attempts == MAX_ATTEMPTS and sent_at is None
    assert kinds[-1] == EventKind.CONFIRMATION_FAILED
    assert outbox.sent == []


def test_a_permanent_failure_is_given_up_at_once(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    subscriber = _queue(session, "nobody@example.com", make_topic(session))
    outbox.fail_addresses["nobody@example.com"] = ResultStatus.FAILED_PERMANENT
    assert send_due_confirmations(database, settings).given_up == 1
    due, attempts, _, kinds = _state(session, subscriber)
    assert due is None and attempts == 1 and kinds[-1] == EventKind.CONFIRMATION_FAILED


def test_nothing_left_to_confirm_or_a_hard_suppression_drops_it_without_mail(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    topic = make_topic(session)
    confirmed = _queue(session, "quick@example.com", topic)
    confirm_subscriber(session, confirmed, ip=None)
    _queue(session, "bounced@example.com", topic)
    suppress(session, "bounced@example.com", SuppressionReason.BOUNCE, source="test")
    session.commit()
    run = send_due_confirmations(database, settings)
    assert (run.claimed, run.dropped) == (0, 2)
    assert outbox.sent == []
    waiting = sa.select(sa.func.count()).where(Subscriber.confirmation_due_at.is_not(None))
    assert session.scalar(waiting) == 0


def test_a_claim_holds_for_its_lease_then_a_crashed_send_is_retried(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    subscriber = _queue(session, "crash@example.com", make_topic(session))
    with time_machine.travel(now(), tick=False) as traveller:
        # A sender claims the confirmation and dies before recording anything.
        claimed, _ = _claim(session)
        assert [p.subscriber.id for p in claimed] == [subscriber.id]
        assert send_due_confirmations(database, settings).claimed == 0
        traveller.shift(LEASE + timedelta(seconds=1))
        assert send_due_confirmations(database, settings).sent == 1
    assert [m.to_address for m in outbox.sent] == ["crash@example.com"]


def test_an_outcome_is_not_recorded_over_a_newer_claim(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    subscriber = _queue(session, "slow@example.com", make_topic(session))
    with time_machine.travel(now(), tick=False) as traveller:
        claimed, _ = _claim(session)
        results = send_confirmations(settings, claimed)
        # The lease ran out and another sender claimed it meanwhile.
        traveller.shift(LEASE + timedelta(seconds=1))
        newer, _ = _claim(session)
        record_confirmation_results(session, claimed, results)
        session.commit()
        due, _, sent_at, _ = _state(session, subscriber)
        assert due == newer[0].lease_end and sent_at is None


def test_the_staff_api_path_sends_only_its_own_subscriber(
    session: Session, database: Database, settings: Settings, outbox: MemoryBackend
) -> None:
    topic = make_topic(session)
    _queue(session, "other@example.com", topic)
    mine = _queue(session, "mine@example.com", topic)
    run = send_due_confirmations(database, settings, subscriber_ids=[mine.id])
    assert run.sent == 1 and [m.to_address for m in outbox.sent] == ["mine@example.com"]


def test_the_scheduler_runs_the_job_every_few_seconds(
    app: Flask, session: Session, outbox: MemoryBackend
) -> None:
    job = next(job for job in JOBS if job.name == "send-confirmations")
    assert job.seconds <= 10 and job.run_at_start
    topic = make_topic(session)
    for n in range(3):
        _queue(session, f"r{n}@example.com", topic)
    send_confirmations_job(app)
    assert sorted(m.to_address for m in outbox.sent) == [f"r{n}@example.com" for n in range(3)]


class _Clock:
    """Stands in for ``time`` in the module: each reading of CPU time is 5 ms later."""

    def __init__(self) -> None:
        self.cpu, self.rests = 0.0, []

    def monotonic(self) -> float:
        return 0.0

    def thread_time(self) -> float:
        self.cpu += 0.005
        return self.cpu

    def sleep(self, seconds: float) -> None:
        self.rests.append(seconds)


def test_the_job_rests_between_full_rounds_and_the_cli_does_not(
    app: Flask, session: Session, outbox: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confirmations, "BATCH_SIZE", 2)
    clock = _Clock()
    monkeypatch.setattr(confirmations, "time", clock)
    topic = make_topic(session)
    for n in range(5):
        _queue(session, f"r{n}@example.com", topic)
    send_confirmations_job(app)
    # Rounds of 2, 2 and 1: a rest as long as the round's CPU after each full one, none after.
    assert len(outbox.sent) == 5 and clock.rests == pytest.approx([0.005, 0.005])
    for n in range(5, 10):
        _queue(session, f"r{n}@example.com", topic)
    clock.rests.clear()
    result = app.test_cli_runner().invoke(args=["subscribers", "send-confirmations"])
    assert result.exit_code == 0 and len(outbox.sent) == 10 and clock.rests == []


def test_the_cli_sends_what_is_waiting(app: Flask, session: Session, outbox: MemoryBackend) -> None:
    _queue(session, "cli@example.com", make_topic(session))
    result = app.test_cli_runner().invoke(args=["subscribers", "send-confirmations"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 sent, 0 to retry later, 0 given up."
    assert [m.to_address for m in outbox.sent] == ["cli@example.com"]


class _RefusingBackend:
    """A provider that refuses the credentials on the first message."""

    name = "refusing"

    def __init__(self) -> None:
        self.calls = 0

    def send_batch(self, messages):
        self.calls += 1
        raise BackendAuthError("401")

    def close(self) -> None:
        return None


def test_refused_credentials_stop_the_round_and_the_rest_go_back(
    session: Session,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = make_topic(session)
    first, second = _queue(session, "a@example.com", topic), _queue(session, "b@example.com", topic)
    backend = _RefusingBackend()
    monkeypatch.setattr(confirmations, "backend_from_settings", lambda _settings: backend)
    run = send_due_confirmations(database, settings)
    assert backend.calls == 1 and (run.claimed, run.retrying) == (1, 1)
    assert _state(session, first)[1] == 1  # one attempt counted, retried later
    due, attempts, _, _ = _state(session, second)
    assert attempts == 0 and due is not None and due <= now()  # not tried: due again at once


def test_a_round_stops_sending_before_its_lease_runs_out(
    session: Session, settings: Settings, outbox: MemoryBackend
) -> None:
    subscriber = _queue(session, "late@example.com", make_topic(session))
    with time_machine.travel(now(), tick=False) as traveller:
        claimed, _ = _claim(session)
        traveller.shift(LEASE - LEASE_MARGIN)
        assert send_confirmations(settings, claimed) == []
        run = record_confirmation_results(session, claimed, [])
        session.commit()
        assert run.claimed == 0
        due, attempts, _, _ = _state(session, subscriber)
        assert due == now() and attempts == 0
    assert outbox.sent == []


def test_a_suppression_between_finding_and_claiming_drops_it(session: Session) -> None:
    _queue(session, "bounced-late@example.com", make_topic(session))
    due, drop = find_due_confirmations(session)
    suppress(session, "bounced-late@example.com", SuppressionReason.BOUNCE, source="test")
    claimed, dropped = claim_confirmations(session, due, drop)
    assert claimed == [] and dropped == 1
    session.commit()

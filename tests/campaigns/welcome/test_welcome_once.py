"""A welcome goes once per reader and welcome, only while approved, never to a quick returner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from campaigns.issues.service import save_revision
from campaigns.welcome.delivering import Recorded, record_newcomer, send_pending_welcomes
from campaigns.welcome.eligibility import find_newcomers
from campaigns.welcome.handover import WelcomeSender
from campaigns.welcome.models import WelcomeDelivery, WelcomeDeliveryStatus
from campaigns.welcome.service import set_welcome_active
from engine.config import Settings
from engine.db import Database
from engine.delivery.base import ResultStatus
from engine.delivery.memory import MemoryBackend
from subscribers.models import Frequency, Subscriber, Topic
from subscribers.service import leave_topics
from tests.campaigns.welcome.conftest import MakeWelcome, Staff, approve_welcome, join
from tests.factories import read_rows

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sent_to(outbox: MemoryBackend) -> list[str]:
    return [message.to_address for message in outbox.sent]


def test_welcome_once(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome("Practice")
    reader = join(session, "kim@example.org", [topics["foster"]])
    session.rollback()

    run = send_pending_welcomes(database, settings)
    assert run.sent == 1 and _sent_to(outbox) == ["kim@example.org"]
    # The scheduler's next tick, and the one after: nothing more.
    assert send_pending_welcomes(database, settings).sent == 0
    assert send_pending_welcomes(database, settings).sent == 0
    # A second topic of the same category: one welcome per category, already sent.
    join(session, "kim@example.org", [topics["kinship"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0
    assert _sent_to(outbox) == ["kim@example.org"]
    (delivery,) = read_rows(session, WelcomeDelivery)
    assert delivery.subscriber_id == reader.id and delivery.status == WelcomeDeliveryStatus.SENT
    assert delivery.number == 1 and delivery.sent_at is not None
    assert delivery.message_id == outbox.sent[0].headers["Message-ID"]


def test_a_topic_outside_the_category_gets_no_category_welcome(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome("Practice")
    join(session, "pat@example.org", [topics["policy"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0 and outbox.sent == []


def test_a_category_welcome_wins_over_the_one_for_all(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    for_all = make_welcome()
    policy = make_welcome("Policy")
    join(session, "kim@example.org", [topics["foster"], topics["kinship"], topics["policy"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 2
    assert send_pending_welcomes(database, settings).sent == 0
    by_welcome = {row.welcome_id: row for row in read_rows(session, WelcomeDelivery)}
    assert sorted(by_welcome[for_all.id].topic_ids) == sorted(
        [topics["foster"].id, topics["kinship"].id]
    )
    assert by_welcome[policy.id].topic_ids == [topics["policy"].id]


def test_nothing_is_sent_before_an_approved_welcome_is_on(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    staff: Staff,
) -> None:
    join(session, "early@example.org", [topics["foster"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0  # no welcome at all

    welcome = make_welcome(approved=False)
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0  # written, not approved
    assert read_rows(session, WelcomeDelivery) == []

    approve_welcome(session, settings, staff, session.merge(welcome))
    session.commit()
    assert send_pending_welcomes(database, settings).sent == 1
    # The reader who confirmed before the welcome existed is not welcomed.
    assert _sent_to(outbox) == ["kim@example.org"]

    set_welcome_active(session, session.merge(welcome), False)
    session.commit()
    join(session, "off@example.org", [topics["kinship"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0


def test_an_edit_holds_the_welcome_until_it_is_approved_again(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    staff: Staff,
) -> None:
    welcome = make_welcome()
    issue = welcome.issue
    edited = {**issue.content, "subject": "Welcome aboard"}
    save_revision(session, issue, edited, base_revision=issue.revision, saved_by_id=staff.editor.id)
    session.commit()
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 0

    approve_welcome(session, settings, staff, session.merge(welcome))
    session.commit()
    assert send_pending_welcomes(database, settings).sent == 1
    assert outbox.sent[0].subject == "Welcome aboard"


def test_not_to_a_re_subscriber_within_90_days(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    foster = topics["foster"]
    with time_machine.travel(START, tick=False):
        make_welcome("Practice")
        reader = join(session, "kim@example.org", [foster])
        session.rollback()
        assert send_pending_welcomes(database, settings).sent == 1

    def leave(at: datetime) -> None:
        with time_machine.travel(at, tick=False):
            subscriber = session.get(Subscriber, reader.id)
            assert subscriber is not None
            leave_topics(session, subscriber, [foster], source="test")
            session.commit()

    def come_back(at: datetime) -> int:
        with time_machine.travel(at, tick=False):
            join(session, "kim@example.org", [foster])
            session.rollback()
            return send_pending_welcomes(database, settings).sent

    leave(START + timedelta(days=20))
    assert come_back(START + timedelta(days=40)) == 0
    leave(START + timedelta(days=60))
    # 120 days after the welcome, but only 60 after leaving: not welcomed again.
    assert come_back(START + timedelta(days=120)) == 0
    leave(START + timedelta(days=130))
    # 100 days after leaving, 260 after the welcome: a newcomer again.
    assert come_back(START + timedelta(days=230)) == 1
    rows = read_rows(session, WelcomeDelivery)
    assert [(row.number, row.status) for row in rows] == [
        (1, WelcomeDeliveryStatus.SENT),
        (2, WelcomeDeliveryStatus.SKIPPED),
        (3, WelcomeDeliveryStatus.SENT),
    ]
    assert "within 90 days" in rows[1].note
    assert _sent_to(outbox) == ["kim@example.org", "kim@example.org"]


def test_a_reader_who_left_before_the_welcome_existed_is_not_welcomed_on_return(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    foster = topics["foster"]
    with time_machine.travel(START, tick=False):
        reader = join(session, "kim@example.org", [foster])
    with time_machine.travel(START + timedelta(days=10), tick=False):
        subscriber = session.get(Subscriber, reader.id)
        assert subscriber is not None
        leave_topics(session, subscriber, [foster], source="test")
        session.commit()
    with time_machine.travel(START + timedelta(days=20), tick=False):
        make_welcome("Practice")
        join(session, "kim@example.org", [foster])
        session.rollback()
        assert send_pending_welcomes(database, settings).sent == 0
    assert outbox.sent == []


def test_a_crash_between_record_and_send_does_not_send_twice(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_welcome()
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()

    def crash(*_args: object) -> None:
        raise SystemExit("the sender died")

    with monkeypatch.context() as patched:
        patched.setattr(WelcomeSender, "send", crash)
        with pytest.raises(SystemExit):
            send_pending_welcomes(database, settings)
    (delivery,) = read_rows(session, WelcomeDelivery)
    assert delivery.status == WelcomeDeliveryStatus.SENDING

    # The next tick, and the one after: the reader may have it, so it is never sent again.
    assert send_pending_welcomes(database, settings).sent == 0
    assert send_pending_welcomes(database, settings).sent == 0
    assert outbox.sent == [] and len(read_rows(session, WelcomeDelivery)) == 1


def test_two_senders_record_a_newcomer_once(
    session: Session,
    database: Database,
    settings: Settings,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    at = datetime.now(UTC)
    with database.read_sessionmaker() as reader:
        first = find_newcomers(reader, at, limit=10)
    with database.read_sessionmaker() as reader:
        second = find_newcomers(reader, at, limit=10)
    assert first == second and len(first) == 1
    with database.session() as one:
        outcome, letter = record_newcomer(one, first[0], settings, at)
    assert outcome is Recorded.SENDING and letter is not None
    with database.session() as other:
        outcome, letter = record_newcomer(other, second[0], settings, at)
    assert outcome is Recorded.TAKEN and letter is None
    assert len(read_rows(session, WelcomeDelivery)) == 1


def test_a_temporary_refusal_is_retried_and_sent_once(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    join(session, "kim@example.org", [topics["foster"]], frequency=Frequency.WEEKLY)
    session.rollback()
    outbox.fail_addresses["kim@example.org"] = ResultStatus.FAILED_TRANSIENT
    assert send_pending_welcomes(database, settings).retrying == 1
    (delivery,) = read_rows(session, WelcomeDelivery)
    assert delivery.status == WelcomeDeliveryStatus.RETRY and delivery.retry_at is not None

    outbox.fail_addresses.clear()
    assert send_pending_welcomes(database, settings).sent == 0  # not due yet
    later = delivery.retry_at + timedelta(seconds=1)
    assert send_pending_welcomes(database, settings, at=later).sent == 1
    assert send_pending_welcomes(database, settings, at=later).sent == 0
    (delivery,) = read_rows(session, WelcomeDelivery)
    assert delivery.status == WelcomeDeliveryStatus.SENT and delivery.attempts == 2
    assert _sent_to(outbox) == ["kim@example.org"]


def test_imported_readers_are_not_welcomed(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    reader = join(session, "kim@example.org", [topics["foster"]])
    session.execute(
        sa.text("UPDATE subscription SET source = 'import' WHERE subscriber_id = :id"),
        {"id": reader.id},
    )
    session.commit()
    assert send_pending_welcomes(database, settings).sent == 0 and outbox.sent == []


def test_a_retry_for_a_reader_who_left_meanwhile_is_dropped(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    reader = join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    outbox.fail_addresses["kim@example.org"] = ResultStatus.FAILED_TRANSIENT
    assert send_pending_welcomes(database, settings).retrying == 1
    outbox.fail_addresses.clear()
    subscriber = session.get(Subscriber, reader.id)
    assert subscriber is not None
    leave_topics(session, subscriber, [topics["foster"]], source="test")
    session.commit()
    (delivery,) = read_rows(session, WelcomeDelivery)
    later = delivery.retry_at + timedelta(seconds=1)
    assert send_pending_welcomes(database, settings, at=later).sent == 0
    (delivery,) = read_rows(session, WelcomeDelivery)
    assert delivery.status == WelcomeDeliveryStatus.SKIPPED and "left" in delivery.note
    assert outbox.sent == []

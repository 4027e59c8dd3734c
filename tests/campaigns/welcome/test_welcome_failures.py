"""When sending goes wrong: no answer, refused credentials, a crash mid-round, a bad reader."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.welcome import delivering
from campaigns.welcome.delivering import MAX_ATTEMPTS, send_pending_welcomes
from campaigns.welcome.eligibility import Newcomer
from campaigns.welcome.models import WelcomeDelivery, WelcomeDeliveryStatus
from engine.config import Settings
from engine.db import Database
from engine.delivery.base import (
    BackendAuthError,
    OutcomeUnknownError,
    OutgoingMessage,
    ResultStatus,
    SendResult,
)
from engine.delivery.memory import MemoryBackend
from subscribers.models import SuppressionReason, Topic
from subscribers.suppression import suppress
from tests.api.conftest import ApiClient, api, api_as, secrets  # noqa: F401  (fixtures)
from tests.campaigns.welcome.conftest import MakeWelcome, join
from tests.factories import login, make_user, read_rows


def _deliveries(session: Session) -> dict[int, WelcomeDelivery]:
    """Return the deliveries by subscriber id."""
    return {row.subscriber_id: row for row in read_rows(session, WelcomeDelivery)}


def _readers(session: Session, topic: Topic, *names: str) -> list[int]:
    """Subscribe and confirm ``name@example.org`` for each name; return their ids."""
    ids = [join(session, f"{name}@example.org", [topic]).id for name in names]
    session.rollback()  # the code under test needs SQLite's write lock
    return ids


def _break(
    outbox: MemoryBackend,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    *,
    on: str | None = None,
) -> None:
    """Make the memory backend raise ``error`` for a welcome to ``on`` (None: to anyone)."""
    send = outbox.send_batch

    def send_batch(messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        if on is None or any(message.to_address == on for message in messages):
            raise error
        return send(messages)

    monkeypatch.setattr(outbox, "send_batch", send_batch)


def test_a_welcome_with_no_answer_is_never_sent_again(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_welcome()
    kim, pat = _readers(session, topics["foster"], "kim", "pat")
    with monkeypatch.context() as patched:
        lost = OutcomeUnknownError([0], [], "connection lost awaiting the reply")
        _break(outbox, patched, lost, on="kim@example.org")
        run = send_pending_welcomes(database, settings)
    assert run.not_known == 1 and run.sent == 1 and run.retrying == 0
    rows = _deliveries(session)
    assert rows[kim].status == WelcomeDeliveryStatus.SENDING
    assert rows[kim].note.startswith("Not known") and rows[kim].retry_at is None
    assert rows[pat].status == WelcomeDeliveryStatus.SENT

    # Hours later: the reader may have it, so it is not sent again.
    later = rows[kim].recorded_at + timedelta(hours=6)
    assert send_pending_welcomes(database, settings, at=later) == delivering.WelcomeRun()
    assert [message.to_address for message in outbox.sent] == ["pat@example.org"]

    editor = make_user(session, role="editor")
    session.commit()
    login(client, editor)
    session.rollback()
    page = client.get("/admin/welcome/").get_data(as_text=True)
    assert "1 not known (may have arrived; never sent again)" in page


def test_refused_credentials_hold_welcomes_back_without_spending_tries(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_welcome()
    kim, pat = _readers(session, topics["foster"], "kim", "pat")
    at = delivering.now()
    with monkeypatch.context() as patched:
        _break(outbox, patched, BackendAuthError("401"))
        for _ in range(MAX_ATTEMPTS + 2):
            with caplog.at_level(logging.ERROR, logger=delivering.__name__):
                run = send_pending_welcomes(database, settings, at=at)
            assert run.credentials_refused and run.sent == 0
            at += timedelta(hours=1)
    assert "refused the credentials" in caplog.text
    rows = _deliveries(session)
    # Each round stopped at its first refusal; nobody spent a try, nobody failed for good.
    for held in (rows[kim], rows[pat]):
        assert held.status == WelcomeDeliveryStatus.RETRY and held.attempts == 0
        assert "refused our credentials" in held.note

    # The credentials are fixed: both are welcomed, once.
    run = send_pending_welcomes(database, settings, at=at)
    assert run.sent == 2 and not run.credentials_refused
    rows = _deliveries(session)
    assert [(row.status, row.attempts) for row in rows.values()] == [("sent", 1), ("sent", 1)]
    assert sorted(message.to_address for message in outbox.sent) == [
        "kim@example.org",
        "pat@example.org",
    ]


def test_the_cli_and_the_api_say_the_credentials_were_refused(
    session: Session,
    runner: FlaskCliRunner,
    api: ApiClient,  # noqa: F811
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_welcome()
    _readers(session, topics["foster"], "kim")
    _break(outbox, monkeypatch, BackendAuthError("401"))
    result = runner.invoke(args=["welcome", "send-pending"])
    assert result.exit_code == 1
    assert "refused our credentials" in result.output and "Traceback" not in result.output
    _readers(session, topics["foster"], "pat")  # Kim's waits 5 minutes: another reader
    answer = api.post("/welcome/send-pending", json={})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["credentials_refused"] is True


def test_no_row_is_left_sending_when_the_backend_cannot_be_built(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    _readers(session, topics["foster"], "kim")
    broken = dataclasses.replace(settings, MAIL_BACKEND="smtp", SMTP_URL="ftp://nowhere")
    with pytest.raises(ValueError, match="smtp"):
        send_pending_welcomes(database, broken)
    assert _deliveries(session) == {}
    # Fixed: the reader is welcomed after all.
    assert send_pending_welcomes(database, settings).sent == 1


def test_each_outcome_is_recorded_right_after_its_send(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_welcome()
    kim, pat, ann = _readers(session, topics["foster"], "kim", "pat", "ann")
    with monkeypatch.context() as patched:
        _break(outbox, patched, SystemExit("the sender died"), on="pat@example.org")
        with pytest.raises(SystemExit):
            send_pending_welcomes(database, settings)
    rows = _deliveries(session)
    # Kim's welcome went and says so; Pat's is the only one not known; Ann was not recorded.
    assert rows[kim].status == WelcomeDeliveryStatus.SENT
    assert rows[pat].status == WelcomeDeliveryStatus.SENDING
    assert ann not in rows
    assert send_pending_welcomes(database, settings).sent == 1
    assert [message.to_address for message in outbox.sent] == [
        "kim@example.org",
        "ann@example.org",
    ]


def test_a_reader_that_cannot_be_recorded_does_not_strand_the_others(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_welcome()
    kim, pat, ann = _readers(session, topics["foster"], "kim", "pat", "ann")
    record = delivering.record_newcomer

    def record_newcomer(db_session: Session, newcomer: Newcomer, *args: Any) -> Any:
        outcome = record(db_session, newcomer, *args)
        if newcomer.subscriber_id == pat:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))
        return outcome

    with monkeypatch.context() as patched:
        patched.setattr(delivering, "record_newcomer", record_newcomer)
        run = send_pending_welcomes(database, settings)
    assert run.sent == 2
    rows = _deliveries(session)
    assert rows[kim].status == rows[ann].status == WelcomeDeliveryStatus.SENT
    assert pat not in rows  # rolled back: welcomed on the next round
    assert send_pending_welcomes(database, settings).sent == 1
    assert sorted(message.to_address for message in outbox.sent) == [
        "ann@example.org",
        "kim@example.org",
        "pat@example.org",
    ]


def test_a_retry_to_an_address_suppressed_meanwhile_is_dropped(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    make_welcome: MakeWelcome,
) -> None:
    make_welcome()
    (kim,) = _readers(session, topics["foster"], "kim")
    outbox.fail_addresses["kim@example.org"] = ResultStatus.FAILED_TRANSIENT
    assert send_pending_welcomes(database, settings).retrying == 1
    outbox.fail_addresses.clear()
    suppress(session, "kim@example.org", SuppressionReason.BOUNCE, source="test")
    session.commit()
    retry_at = _deliveries(session)[kim].retry_at
    assert retry_at is not None
    run = send_pending_welcomes(database, settings, at=retry_at + timedelta(seconds=1))
    assert run.sent == 0 and run.skipped == 1
    delivery = _deliveries(session)[kim]
    assert delivery.status == WelcomeDeliveryStatus.SKIPPED and "suppressed" in delivery.note
    assert outbox.sent == []

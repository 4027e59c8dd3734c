"""The outbox backend: one ``.eml`` file per message, and a message it cannot write fails alone."""

from __future__ import annotations

from pathlib import Path

from engine.delivery.base import ResultStatus
from engine.delivery.outbox import OutboxBackend, list_outbox, read_outbox_message
from tests.engine.delivery.test_mime import HEADERS, make_message


def test_a_message_that_cannot_be_built_fails_alone(tmp_path: Path) -> None:
    backend = OutboxBackend(tmp_path)
    first = make_message(delivery_id=1, headers={**HEADERS, "Message-ID": "<one@example.org>"})
    broken = make_message(delivery_id=2, to_address="two words@example.org")
    last = make_message(delivery_id=3, headers={**HEADERS, "Message-ID": "<three@example.org>"})
    results = backend.send_batch([first, broken, last])
    assert [(r.delivery_id, r.status) for r in results] == [
        (1, ResultStatus.ACCEPTED),
        (2, ResultStatus.FAILED_PERMANENT),
        (3, ResultStatus.ACCEPTED),
    ]
    assert "not a usable email address" in (results[1].error or "")
    entries, total = list_outbox(tmp_path)
    assert total == 2 and not list(tmp_path.glob("*.part"))
    message = read_outbox_message(tmp_path, entries[0].name)
    assert message is not None and message["To"] == "Ana Reader <reader@example.org>"


def test_the_return_path_is_written_as_a_mailbox_would_record_it(tmp_path: Path) -> None:
    backend = OutboxBackend(tmp_path, return_path="bounces@agency.example")
    own = make_message(
        delivery_id=1,
        headers={**HEADERS, "Message-ID": "<one@example.org>"},
        envelope_sender="bounces+1-abcdefghijklmnop@agency.example",
    )
    system = make_message(delivery_id=0, headers={**HEADERS, "Message-ID": "<two@example.org>"})
    backend.send_batch([own, system])
    first = read_outbox_message(tmp_path, "one_example.org.eml")
    second = read_outbox_message(tmp_path, "two_example.org.eml")
    assert first is not None and second is not None
    assert first["Return-Path"] == "<bounces+1-abcdefghijklmnop@agency.example>"
    assert second["Return-Path"] == "<bounces@agency.example>"
    OutboxBackend(tmp_path / "plain").send_batch([system])
    plain = read_outbox_message(tmp_path / "plain", "two_example.org.eml")
    assert plain is not None and plain["Return-Path"] is None

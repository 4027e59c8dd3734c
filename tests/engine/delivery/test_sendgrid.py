"""The SendGrid backend against the local fake API: request shape, retries, splits, faults."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests

from engine.config import Settings
from engine.delivery.base import (
    BackendAuthError,
    OutcomeUnknownError,
    OutgoingMessage,
    TemplateBatch,
    TemplateRecipient,
)
from engine.delivery.sendgrid import SendGridBackend
from engine.delivery.sendgrid_request import request_body
from tests.fakes.sendgrid_server import FakeSendGrid, fake_sendgrid_process, read_state

SENDER = "Pinwheel Newsletters <newsletters@pinwheel.example.org>"
HTML = '<p>Hi %%first_name%%</p><a href="%%unsubscribe_url%%">Unsubscribe</a>'
TEXT = "Hi %%first_name%%\nUnsubscribe: %%unsubscribe_url%%"


def recipient(n: int, address: str | None = None) -> TemplateRecipient:
    url = f"https://pinwheel.example.org/u/tok{n}"
    return TemplateRecipient(
        delivery_id=n,
        to_address=address or f"reader{n}@example.org",
        to_name=f"Reader {n}",
        substitutions={"first_name": f"Reader{n}", "unsubscribe_url": url},
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": f"<c9.s{n}@pinwheel.example.org>",
        },
    )


def batch(count: int, start: int = 0, **changes: object) -> TemplateBatch:
    values: dict[str, object] = {
        "from_address": SENDER,
        "subject": "Spotlight On: Foster Care, %%first_name%%",
        "html": HTML,
        "text": TEXT,
        "recipients": [recipient(n) for n in range(start, start + count)],
        "categories": ["newsletter", "foster-care-month"],
        "custom_args": {"campaign_id": "9"},
    }
    values.update(changes)
    return TemplateBatch(**values)  # type: ignore[arg-type]


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_backend(url: str, **kwargs: object) -> SendGridBackend:
    settings = Settings(
        SENDGRID_API_KEY="SG.test-key",
        SENDGRID_API_URL=url,
        SEND_RATE=float(kwargs.pop("rate", 0.0)),  # type: ignore[arg-type]
    )
    kwargs.setdefault("backoff_base", 0.01)
    return SendGridBackend(settings, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as running:
        yield running


def test_one_request_carries_a_batch_of_1000(fake: FakeSendGrid) -> None:
    results = make_backend(fake.url).send_template(batch(1000))
    assert len(fake.requests) == 1
    assert [r.status for r in results] == ["accepted"] * 1000
    assert fake.counts() == {str(n): 1 for n in range(1000)}
    sent = fake.accepted[7]
    assert (sent.to, sent.name, sent.categories) == (
        "reader7@example.org",
        "Reader 7",
        ["newsletter", "foster-care-month"],
    )
    assert sent.subject == "Spotlight On: Foster Care, Reader7"
    assert (
        sent.html
        == '<p>Hi Reader7</p><a href="https://pinwheel.example.org/u/tok7">Unsubscribe</a>'
    )
    assert sent.text == "Hi Reader7\nUnsubscribe: https://pinwheel.example.org/u/tok7"
    assert "%%unsubscribe_url%%" in sent.html_template
    assert sent.custom_args == {"campaign_id": "9", "delivery_id": "7"}
    assert sent.headers == recipient(7).headers


def test_202_keeps_the_x_message_id(fake: FakeSendGrid) -> None:
    results = make_backend(fake.url).send_template(batch(3))
    assert {r.provider_message_id for r in results} == {fake.accepted[0].message_id}


def test_more_than_1000_recipients_take_several_requests(fake: FakeSendGrid) -> None:
    results = make_backend(fake.url).send_template(batch(2500))
    assert [r.personalizations for r in fake.requests] == [1000, 1000, 500]
    assert len(results) == 2500 and sum(fake.counts().values()) == 2500


def test_request_body_is_plain_json_with_tags_left_in_place() -> None:
    body = orjson.loads(request_body(batch(2), batch(2).recipients))
    assert body["from"] == {
        "email": "newsletters@pinwheel.example.org",
        "name": "Pinwheel Newsletters",
    }
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][1]["value"] == HTML
    first = body["personalizations"][0]
    assert first["to"] == [{"email": "reader0@example.org", "name": "Reader 0"}]
    assert first["substitutions"] == {
        "%%first_name%%": "Reader0",
        "%%unsubscribe_url%%": "https://pinwheel.example.org/u/tok0",
    }
    assert first["custom_args"] == {"delivery_id": "0"}
    assert body["custom_args"] == {"campaign_id": "9"}


def test_429_waits_for_the_reset_before_retrying() -> None:
    with FakeSendGrid(reset_seconds=1.0) as fake:
        fake.fail_next("429")
        started = time.time()
        results = make_backend(fake.url).send_template(batch(5))
        reset = int(started) + 2
    assert [r.status for r in results] == ["accepted"] * 5
    assert [r.status for r in fake.requests] == [429, 202]
    assert fake.early_requests == 0
    assert fake.requests[1].at >= reset - 1


def test_429_with_a_distant_reset_becomes_transient() -> None:
    with FakeSendGrid(reset_seconds=600) as fake:
        fake.fail_next("429")
        results = make_backend(fake.url, max_rate_wait=5.0).send_template(batch(2))
    assert [r.status for r in results] == ["failed_transient"] * 2
    assert results[0].retry_at is not None and results[0].retry_at.timestamp() > time.time() + 500
    assert len(fake.requests) == 1


def test_500_backs_off_then_succeeds(fake: FakeSendGrid) -> None:
    fake.fail_next("500", "500")
    sleeps: list[float] = []
    backend = make_backend(fake.url, sleep=sleeps.append, backoff_base=0.5)
    results = backend.send_template(batch(4))
    assert [r.status for r in results] == ["accepted"] * 4
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    assert sum(fake.counts().values()) == 4


def test_500_every_time_gives_up_with_a_retry_time(fake: FakeSendGrid) -> None:
    fake.fail_next(*["500"] * 5)
    results = make_backend(fake.url, max_attempts=5).send_template(batch(2))
    assert [r.status for r in results] == ["failed_transient"] * 2
    assert results[0].retry_at is not None
    assert len(fake.requests) == 5 and fake.accepted == []


def test_reset_while_sending_is_retried(fake: FakeSendGrid) -> None:
    # A 12 MB body outgrows the socket buffers, so the reset lands while it is still being written.
    fake.fail_next("reset")
    results = make_backend(fake.url).send_template(batch(3, html=HTML + "x" * 12_000_000))
    assert [r.status for r in results] == ["accepted"] * 3
    assert [r.fault for r in fake.requests] == ["reset", None]
    assert fake.counts() == {"0": 1, "1": 1, "2": 1}


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = make_backend(f"http://127.0.0.1:{port}", max_attempts=3).send_template(batch(2))
    assert [r.status for r in results] == ["failed_transient"] * 2


def test_accept_then_drop_is_an_unknown_outcome_not_a_resend(fake: FakeSendGrid) -> None:
    fake.fail_next("accept_drop")
    with pytest.raises(OutcomeUnknownError) as caught:
        make_backend(fake.url).send_template(batch(4))
    assert caught.value.unknown_ids == (0, 1, 2, 3)
    assert caught.value.results == []
    assert len(fake.requests) == 1
    assert fake.counts() == {"0": 1, "1": 1, "2": 1, "3": 1}


def test_400_split_isolates_the_bad_recipient(fake: FakeSendGrid) -> None:
    recipients = [recipient(n) for n in range(100)]
    recipients[37] = recipient(37, "reader37@nowhere")
    results = make_backend(fake.url).send_template(batch(0, recipients=recipients))
    failed = [r for r in results if r.status != "accepted"]
    assert [(r.delivery_id, r.status) for r in failed] == [(37, "failed_permanent")]
    assert failed[0].error is not None and "valid address" in failed[0].error
    assert sum(fake.counts().values()) == 99 and "37" not in fake.counts()
    assert len(fake.requests) <= 2 * 7 + 1


def test_400_about_the_whole_request_is_not_split(fake: FakeSendGrid) -> None:
    results = make_backend(fake.url).send_template(batch(50, from_address="news@localhost"))
    assert {r.status for r in results} == {"failed_permanent"}
    assert len(fake.requests) == 1


@pytest.mark.parametrize("options", [{"auth_fail": True}, {"api_key": "SG.other"}])
def test_401_raises_backend_auth_error(options: dict[str, object]) -> None:
    with FakeSendGrid(**options) as fake, pytest.raises(BackendAuthError):  # type: ignore[arg-type]
        make_backend(fake.url).send_template(batch(2))
    assert fake.accepted == []


def test_limits_are_checked_before_sending(fake: FakeSendGrid) -> None:
    backend = make_backend(fake.url)
    too_many = backend.send_template(batch(3, categories=[f"c{n}" for n in range(11)]))
    no_subject = backend.send_template(batch(3, subject=" "))
    assert {r.status for r in too_many + no_subject} == {"failed_permanent"}
    assert fake.requests == []
    recipients = [recipient(n) for n in range(3)]
    recipients[1] = TemplateRecipient(
        1, "big@example.org", substitutions={"first_name": "x" * 10_000}
    )
    recipients[2] = TemplateRecipient(
        2, "pii@example.org", custom_args={"email": "pii@example.org"}
    )
    results = backend.send_template(batch(0, recipients=recipients))
    assert [r.status for r in results] == ["accepted", "failed_permanent", "failed_permanent"]
    assert fake.counts() == {"0": 1}


def test_send_rate_is_honoured(fake: FakeSendGrid) -> None:
    fake_time = FakeTime()
    backend = make_backend(fake.url, rate=100, clock=fake_time.clock, sleep=fake_time.sleep)
    for start in range(0, 500, 100):
        backend.send_template(batch(100, start))
    assert sum(fake_time.sleeps) == pytest.approx(4.0)
    assert sum(fake.counts().values()) == 500


def test_personalized_messages_are_grouped_by_shared_content(fake: FakeSendGrid) -> None:
    def outgoing(n: int, html: str) -> OutgoingMessage:
        return OutgoingMessage(
            n, f"r{n}@example.org", "", SENDER, "Hello", html, "Hello", {}, {"campaign_id": "3"}
        )

    messages = [outgoing(1, "<p>a</p>"), outgoing(2, "<p>b</p>"), outgoing(3, "<p>a</p>")]
    results = make_backend(fake.url).send_batch(messages)
    assert [r.delivery_id for r in results] == [1, 2, 3]
    assert [r.personalizations for r in fake.requests] == [2, 1]


def test_fault_mix_delivers_every_message_exactly_once() -> None:
    mix = {"429": 0.15, "500": 0.10, "reset": 0.05}
    with FakeSendGrid(fault_mix=mix, seed=7, reset_seconds=0.05, fractional_reset=True) as fake:
        backend = make_backend(fake.url, rate_jitter=0.02, max_attempts=8)
        unknown: list[int] = []
        for start in range(0, 1000, 25):
            try:
                backend.send_template(batch(25, start))
            except OutcomeUnknownError as exc:
                unknown += exc.unknown_ids
        # The fake resets before reading, so an operator's resend of the unknown ones is safe.
        assert not {str(n) for n in unknown} & set(fake.counts())
        if unknown:
            recipients = [recipient(n) for n in unknown]
            backend.send_template(batch(0, recipients=recipients))
    faults = {r.fault for r in fake.requests}
    assert {"429", "500", "reset"} <= faults
    assert fake.counts() == {str(n): 1 for n in range(1000)}
    assert fake.early_requests == 0


def test_fake_runs_as_a_separate_process(tmp_path: Path) -> None:
    state_file = tmp_path / "sendgrid.jsonl"
    with fake_sendgrid_process(state_file) as url:
        results = make_backend(url).send_template(batch(10))
    assert [r.status for r in results] == ["accepted"] * 10
    state = read_state(state_file)
    assert state.counts() == {str(n): 1 for n in range(10)}
    assert state.accepted[3]["subject"] == "Spotlight On: Foster Care, Reader3"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"personalizations": [{"to": [{"email": "a@example.org"}]}] * 1001}, "personalizations"),
        ({"personalizations": [{"to": []}]}, "personalizations.0.to"),
        ({"subject": ""}, "subject"),
        ({"content": []}, "content"),
        ({"categories": [str(n) for n in range(11)]}, "categories"),
    ],
)
def test_fake_refuses_what_sendgrid_refuses(
    fake: FakeSendGrid, change: dict[str, object], field: str
) -> None:
    body = orjson.loads(request_body(batch(2), batch(2).recipients)) | change
    headers = {"Authorization": "Bearer SG.test-key", "Content-Type": "application/json"}
    response = requests.post(f"{fake.url}/v3/mail/send", json=body, headers=headers, timeout=5)
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]
    assert fake.accepted == []


def test_401_after_part_of_the_batch_went_out_does_not_raise(fake: FakeSendGrid) -> None:
    fake.fail_next("ok", "401")
    results = make_backend(fake.url).send_template(batch(1500))
    assert [r.status for r in results[:1000]] == ["accepted"] * 1000
    assert [r.status for r in results[1000:]] == ["failed_transient"] * 500
    assert sum(fake.counts().values()) == 1000

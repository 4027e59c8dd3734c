from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery.events import BounceType, EventKind
from engine.delivery.sendgrid_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    PayloadError,
    SignatureError,
    WebhookConfigError,
    load_public_key,
    parse_events,
    verify_signature,
)
from tests.fakes.sendgrid_signing import SendGridSigner, sendgrid_batch, sendgrid_event

NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture(scope="module")
def public_key(signer: SendGridSigner) -> ec.EllipticCurvePublicKey:
    return load_public_key(signer.public_key_b64)


def check(
    key: ec.EllipticCurvePublicKey, body: bytes, headers: dict[str, str], now: datetime = NOW
) -> None:
    verify_signature(
        key, body, headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER), now=now
    )


def rejection(key: ec.EllipticCurvePublicKey, body: bytes, headers: dict[str, str]) -> int:
    with pytest.raises(SignatureError) as caught:
        check(key, body, headers)
    return caught.value.status


# Verification


def test_good_signature_is_accepted(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(3)
    check(public_key, body, signer.headers(body, NOW))


def test_pem_pasted_key_is_accepted(signer: SendGridSigner) -> None:
    pem = f"-----BEGIN PUBLIC KEY-----\n{signer.public_key_b64}\n-----END PUBLIC KEY-----\n"
    body = b"[]"
    check(load_public_key(pem), body, signer.headers(body, NOW))


def test_tampered_body_is_rejected(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(3)
    headers = signer.headers(body, NOW)
    assert rejection(public_key, body.replace(b"delivered", b"bounce", 1), headers) == 403


def test_reserialised_json_is_rejected(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(3)
    headers = signer.headers(body, NOW)
    same_data = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2)
    assert orjson.loads(same_data) == orjson.loads(body)
    assert rejection(public_key, same_data, headers) == 403


def test_wrong_key_is_rejected(signer: SendGridSigner) -> None:
    body = sendgrid_batch(1)
    other = load_public_key(SendGridSigner().public_key_b64)
    assert rejection(other, body, signer.headers(body, NOW)) == 403


def test_timestamp_is_part_of_the_signature(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(1)
    headers = signer.headers(body, NOW)
    headers[TIMESTAMP_HEADER] = str(int(headers[TIMESTAMP_HEADER]) + 1)
    assert rejection(public_key, body, headers) == 403


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_header_is_401(signer: SendGridSigner, public_key, missing: str) -> None:
    body = sendgrid_batch(1)
    headers = signer.headers(body, NOW)
    del headers[missing]
    assert rejection(public_key, body, headers) == 401


def test_empty_header_is_401(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(1)
    headers = {**signer.headers(body, NOW), SIGNATURE_HEADER: ""}
    assert rejection(public_key, body, headers) == 401


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_timestamp_is_rejected(
    signer: SendGridSigner, public_key, offset: timedelta
) -> None:
    body = sendgrid_batch(1)
    headers = signer.headers(body, NOW + offset)
    with pytest.raises(SignatureError) as caught:
        check(public_key, body, headers)
    assert caught.value.status == 403
    assert "timestamp" in caught.value.reason


def test_timestamp_within_tolerance_is_accepted(signer: SendGridSigner, public_key) -> None:
    body = sendgrid_batch(1)
    check(public_key, body, signer.headers(body, NOW - timedelta(minutes=4)))


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"\x30\x02junk").decode()])
def test_garbage_signature_is_403(signer: SendGridSigner, public_key, bad: str) -> None:
    body = b"[]"
    headers = {**signer.headers(body, NOW), SIGNATURE_HEADER: bad}
    assert rejection(public_key, body, headers) == 403


@pytest.mark.parametrize("bad", ["yesterday", "-1700000000", "\uff11\uff12", "9" * 5000])
def test_malformed_timestamp_is_403(signer: SendGridSigner, public_key, bad: str) -> None:
    body = b"[]"
    headers = {**signer.headers(body, NOW), TIMESTAMP_HEADER: bad}
    assert rejection(public_key, body, headers) == 403


def test_naive_now_is_a_programming_error(signer: SendGridSigner, public_key) -> None:
    body = b"[]"
    with pytest.raises(ValueError, match="aware"):
        check(public_key, body, signer.headers(body, NOW), now=NOW.replace(tzinfo=None))


# Key loading


def rsa_key_b64() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def p384_key_b64() -> str:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("%%% not base64 %%%", "base64"),
        (base64.b64encode(b"hello world").decode(), "DER"),
        (rsa_key_b64(), "P-256"),
        (p384_key_b64(), "P-256"),
    ],
)
def test_unusable_public_key_is_a_config_error(value: str, message: str) -> None:
    with pytest.raises(WebhookConfigError, match=message):
        load_public_key(value)


# Parsing


def test_events_are_read_into_provider_events() -> None:
    element = sendgrid_event(
        "bounce",
        7,
        email=" Reader@Example.ORG ",
        type="bounce",
        reason="550 5.1.1 The email account that you tried to reach does not exist.",
    )
    [event] = parse_events(orjson.dumps([element])).events
    assert event.provider_event_id == element["sg_event_id"]
    assert event.kind is EventKind.BOUNCE
    assert event.bounce_type is BounceType.HARD
    assert event.email == "reader@example.org"
    assert event.occurred_at == datetime.fromtimestamp(element["timestamp"], UTC)
    assert event.occurred_at.tzinfo is UTC
    assert (event.campaign_id, event.delivery_id) == (42, 1007)
    assert event.provider_message_id == "14c5d75ce93"
    assert event.reason is not None and event.reason.startswith("550 5.1.1")
    assert event.raw == element


def test_blocked_bounce_click_and_machine_open() -> None:
    body = orjson.dumps(
        [
            sendgrid_event("bounce", 1, type="blocked"),
            sendgrid_event("click", 2, url="https://pinwheel.example.org/a"),
            sendgrid_event("open", 3, sg_machine_open=True),
            sendgrid_event("open", 4, sg_machine_open="true"),
            sendgrid_event("deferred", 5, response="421 4.7.0 try again later"),
        ]
    )
    blocked, click, machine, human, deferred = parse_events(body).events
    assert blocked.bounce_type is BounceType.BLOCKED
    assert click.url == "https://pinwheel.example.org/a"
    assert machine.machine_open and not human.machine_open
    assert deferred.reason == "421 4.7.0 try again later"


def test_foreign_custom_args_become_none() -> None:
    body = orjson.dumps([sendgrid_event(campaign_id="spring-drive", delivery_id=-3)])
    [event] = parse_events(body).events
    assert event.campaign_id is None and event.delivery_id is None


def test_missing_event_id_gets_a_stable_hash() -> None:
    element = sendgrid_event()
    del element["sg_event_id"]
    first = parse_events(orjson.dumps([element])).events[0]
    again = parse_events(orjson.dumps([dict(reversed(element.items()))])).events[0]
    assert first.provider_event_id == again.provider_event_id
    assert first.provider_event_id.startswith("sgh:")


def test_malformed_elements_are_reported_without_rejecting_the_batch() -> None:
    good = sendgrid_event("delivered", 1)
    elements = [
        good,
        "not an object",
        {k: v for k, v in sendgrid_event().items() if k != "event"},
        {k: v for k, v in sendgrid_event().items() if k != "email"},
        {k: v for k, v in sendgrid_event().items() if k != "timestamp"},
        sendgrid_event(timestamp="yesterday"),
        sendgrid_event(timestamp=True),
        sendgrid_event(email=12),
        sendgrid_event(email="no-at-sign"),
        sendgrid_event("teleported"),
        sendgrid_event(event=["open"]),
        sendgrid_event(timestamp=10**20),
        sendgrid_event("open", 2),
    ]
    batch = parse_events(json.dumps(elements).encode())
    assert [event.email for event in batch.events] == ["reader1@example.org", "reader2@example.org"]
    assert [index for index, _ in batch.rejected] == list(range(1, 12))
    reasons = dict(batch.rejected)
    assert "not an object" in reasons[1]
    assert "missing 'event'" in reasons[2]
    assert "missing 'email'" in reasons[3]
    assert "missing 'timestamp'" in reasons[4]
    assert "unknown event kind 'teleported'" in reasons[9]


@pytest.mark.parametrize("body", [b"{}", b'{"event": "open"}', b"null", b"42", b"", b"[1,"])
def test_body_that_is_not_an_array_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_events(body)


def test_empty_array_is_an_empty_batch() -> None:
    batch = parse_events(b"[]")
    assert batch.events == [] and batch.rejected == []


def test_five_thousand_events_verify_and_parse_completely(
    signer: SendGridSigner, public_key
) -> None:
    body = sendgrid_batch(5000)
    assert len(body) > 1_000_000
    check(public_key, body, signer.headers(body, NOW))
    batch = parse_events(body)
    assert batch.rejected == []
    assert len(batch.events) == 5000
    assert len({event.provider_event_id for event in batch.events}) == 5000
    assert [event.delivery_id for event in batch.events] == list(range(1000, 6000))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
ELEMENTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"event": st.sampled_from(["open", "bounce", "x"]) | JSON, "email": JSON},
        optional={"timestamp": JSON, "type": JSON, "sg_event_id": JSON, "delivery_id": JSON},
    ),
)


@given(st.lists(ELEMENTS, max_size=8))
def test_every_element_is_either_an_event_or_rejected(elements: list[object]) -> None:
    batch = parse_events(json.dumps(elements).encode())
    assert len(batch.events) + len(batch.rejected) == len(elements)
    assert all(event.occurred_at.tzinfo is UTC for event in batch.events)

"""Verify and parse SendGrid's signed Event Webhook, without a database or a request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from engine.delivery.events import (
    CAMPAIGN_ID_ARG,
    DELIVERY_ID_ARG,
    BounceType,
    EventKind,
    ProviderEvent,
)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_PEM_ARMOUR = re.compile(r"-----[A-Z ]+-----")
_KINDS: Mapping[str, EventKind] = {kind.value: kind for kind in EventKind}
_BOUNCE_TYPES: Mapping[str, BounceType] = {"bounce": BounceType.HARD, "blocked": BounceType.BLOCKED}


class WebhookConfigError(ValueError):
    """The configured SendGrid webhook public key is unusable; the message says why."""


class SignatureError(Exception):
    """The request is not provably from SendGrid; ``status`` is the HTTP status to answer."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class PayloadError(ValueError):
    """The verified body is not a JSON array of events."""


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    events: list[ProviderEvent] = field(default_factory=list)
    #: ``(index in the array, reason)`` for each element that could not be read.
    rejected: list[tuple[int, str]] = field(default_factory=list)


def load_public_key(b64_der: str) -> ec.EllipticCurvePublicKey:
    """Load the P-256 public key SendGrid shows as base64 of a DER SubjectPublicKeyInfo."""
    # Accept a pasted PEM block too: its body is the same base64 DER.
    text = "".join(_PEM_ARMOUR.sub("", b64_der).split())
    if not text:
        raise WebhookConfigError("the SendGrid webhook public key is empty")
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError("the SendGrid webhook public key is not valid base64") from None
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise WebhookConfigError(
            "the SendGrid webhook public key is not a DER-encoded public key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WebhookConfigError("the SendGrid webhook public key is not an ECDSA P-256 key")
    return key


def verify_signature(
    public_key: ec.EllipticCurvePublicKey,
    payload: bytes,
    signature_b64: str | None,
    timestamp: str | None,
    *,
    now: datetime,
    tolerance_seconds: int = 300,
) -> None:
    """Check SendGrid's ECDSA signature over ``timestamp + payload`` (the raw body bytes).

    Raise ``SignatureError`` with status 401 when a header is missing and 403 when the
    signature does not match or the timestamp is outside ``tolerance_seconds`` of ``now``,
    which bounds how long a captured request can be replayed.
    """
    if not signature_b64 or not timestamp:
        raise SignatureError("missing SendGrid signature or timestamp header", 401)
    _check_timestamp(timestamp.strip(), now, tolerance_seconds)
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature header is not valid base64", 403) from None
    try:
        public_key.verify(signature, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("signature does not match the body", 403) from None


def _check_timestamp(timestamp: str, now: datetime, tolerance_seconds: int) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    # The length cap keeps int() away from huge digit strings an attacker could send.
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("timestamp header is not a Unix time", 403)
    age = now.timestamp() - int(timestamp)
    if age > tolerance_seconds:
        raise SignatureError("timestamp is too old", 403)
    if age < -tolerance_seconds:
        raise SignatureError("timestamp is in the future", 403)


def parse_events(payload: bytes) -> ParsedBatch:
    """Parse a verified body into events; unreadable elements are rejected one by one."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, list):
        raise PayloadError(f"body must be a JSON array, got {type(document).__name__}")
    batch = ParsedBatch()
    for index, element in enumerate(document):
        try:
            batch.events.append(parse_event(element))
        except ValueError as exc:
            batch.rejected.append((index, str(exc)))
    return batch


def parse_event(element: Any) -> ProviderEvent:
    """Read one element of SendGrid's array; raise ``ValueError`` naming what is wrong."""
    if not isinstance(element, dict):
        raise ValueError(f"element is a {_json_type(element)}, not an object")
    kind = _read_kind(element.get("event"))
    return ProviderEvent(
        provider_event_id=_event_id(element),
        kind=kind,
        occurred_at=_read_timestamp(element.get("timestamp")),
        email=_read_email(element.get("email")),
        campaign_id=_optional_id(element.get(CAMPAIGN_ID_ARG)),
        delivery_id=_optional_id(element.get(DELIVERY_ID_ARG)),
        provider_message_id=_message_id(element.get("sg_message_id")),
        bounce_type=_bounce_type(kind, element.get("type")),
        reason=_optional_str(element.get("reason")) or _optional_str(element.get("response")),
        url=_optional_str(element.get("url")),
        machine_open=element.get("sg_machine_open") is True,
        raw=element,
    )


def _read_kind(value: Any) -> EventKind:
    if value is None:
        raise ValueError("missing 'event'")
    if not isinstance(value, str):
        raise ValueError(f"'event' must be a string, got {_json_type(value)}")
    kind = _KINDS.get(value)
    if kind is None:
        raise ValueError(f"unknown event kind {value[:40]!r}")
    return kind


def _read_timestamp(value: Any) -> datetime:
    if value is None:
        raise ValueError("missing 'timestamp'")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'timestamp' must be a Unix time, got {_json_type(value)}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"'timestamp' is out of range: {value!r}") from None


def _read_email(value: Any) -> str:
    if value is None:
        raise ValueError("missing 'email'")
    if not isinstance(value, str):
        raise ValueError(f"'email' must be a string, got {_json_type(value)}")
    email = value.strip().lower()
    if "@" not in email:
        raise ValueError("'email' is not an email address")
    return email


def _event_id(element: dict[str, Any]) -> str:
    event_id = element.get("sg_event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    # Without SendGrid's id, a hash of the element still stores a re-sent event once.
    canonical = orjson.dumps(element, option=orjson.OPT_SORT_KEYS)
    return "sgh:" + hashlib.sha256(canonical).hexdigest()[:32]


def _message_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    # SendGrid appends ".filter…" routing parts to the id its send API returned.
    return value.split(".", 1)[0]


def _bounce_type(kind: EventKind, value: Any) -> BounceType | None:
    if kind is EventKind.BLOCKED:
        return BounceType.BLOCKED
    if kind is not EventKind.BOUNCE:
        return None
    return _BOUNCE_TYPES.get(value, BounceType.HARD) if isinstance(value, str) else BounceType.HARD


def _optional_id(value: Any) -> int | None:
    # custom_args are strings on the wire; anything else came from another sender.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")

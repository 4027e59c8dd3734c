"""Sign Event Webhook requests exactly as SendGrid does, with a key pair made for the test."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from engine.delivery.sendgrid_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER


@dataclass(frozen=True)
class SendGridSigner:
    """A P-256 key pair standing in for the one SendGrid keeps for an account."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_key_b64(self) -> str:
        """Return the public key as SendGrid's settings page shows it: base64 of DER SPKI."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, payload: bytes, timestamp: str) -> str:
        """Return the base64 DER ECDSA/SHA-256 signature of ``timestamp + payload``."""
        signature = self.private_key.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def headers(self, payload: bytes, at: datetime) -> dict[str, str]:
        """Return the two headers SendGrid sends with ``payload`` signed at ``at``."""
        timestamp = str(int(at.timestamp()))
        return {SIGNATURE_HEADER: self.sign(payload, timestamp), TIMESTAMP_HEADER: timestamp}


def sendgrid_event(kind: str = "delivered", index: int = 0, **fields: Any) -> dict[str, Any]:
    """Build one event element shaped like SendGrid's, with Pinwheel's ``custom_args``."""
    event: dict[str, Any] = {
        "email": f"reader{index}@example.org",
        "timestamp": 1_795_000_000 + index,
        "event": kind,
        "category": ["newsletter"],
        "sg_event_id": f"ZGVsaXZlcmVkLTAtMjQ2{index:010d}",
        "sg_message_id": f"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.{index}",
        "campaign_id": "42",
        "delivery_id": str(1000 + index),
    }
    event.update(fields)
    return event


def sendgrid_batch(count: int) -> bytes:
    """Serialise ``count`` events of mixed kinds the way SendGrid posts them."""
    kinds = ("processed", "delivered", "open", "click", "deferred", "bounce", "dropped")
    events = [sendgrid_event(kinds[i % len(kinds)], i) for i in range(count)]
    return orjson.dumps(events)

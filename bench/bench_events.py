"""Time verifying and parsing one large SendGrid Event Webhook batch."""

from __future__ import annotations

import time

from engine.clock import now
from engine.delivery.sendgrid_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    load_public_key,
    parse_events,
    verify_signature,
)
from tests.fakes.sendgrid_signing import SendGridSigner, sendgrid_batch

EVENTS = 5000
TARGET_SECONDS = 2.0
ROUNDS = 5


def run() -> list[tuple[str, str, str]]:
    """Verify and parse a 5,000-event batch and report the slowest of a few rounds."""
    signer = SendGridSigner()
    key = load_public_key(signer.public_key_b64)
    body = sendgrid_batch(EVENTS)
    at = now()
    headers = signer.headers(body, at)
    slowest = 0.0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        verify_signature(key, body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], now=at)
        batch = parse_events(body)
        slowest = max(slowest, time.perf_counter() - started)
        if len(batch.events) != EVENTS or batch.rejected:
            raise AssertionError(
                f"parsed {len(batch.events)} events, {len(batch.rejected)} rejected"
            )
    size = f"{len(body) / 2**20:.2f} MiB"
    return [
        (
            f"sendgrid webhook: verify + parse {EVENTS:,} events ({size})",
            f"{slowest * 1000:.1f} ms",
            f"< {TARGET_SECONDS:.0f} s",
        )
    ]


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name}: {figure} (target {target})")

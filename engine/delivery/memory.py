"""Test backend: keeps messages in memory and can be told to fail for chosen addresses."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from engine.delivery.base import OutgoingMessage, ResultStatus, SendResult


class MemoryBackend:
    """Record messages; ``fail_addresses`` maps an address to the failure to report for it."""

    name = "memory"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.fail_addresses: dict[str, ResultStatus] = {}
        self._lock = threading.Lock()

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results = []
        with self._lock:
            for message in messages:
                failure = self.fail_addresses.get(message.to_address)
                if failure is None:
                    self.sent.append(message)
                    results.append(
                        SendResult(
                            message.delivery_id,
                            ResultStatus.ACCEPTED,
                            provider_message_id=message.headers.get("Message-ID"),
                        )
                    )
                else:
                    results.append(SendResult(message.delivery_id, failure, error="refused"))
        return results

    def close(self) -> None:
        return None

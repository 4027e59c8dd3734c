"""The provider-neutral delivery interface every backend implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ResultStatus(StrEnum):
    ACCEPTED = "accepted"
    FAILED_TRANSIENT = "failed_transient"
    FAILED_PERMANENT = "failed_permanent"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One personalized message, ready for a backend.

    ``headers`` are already-rendered header values (``Message-ID``, ``List-Unsubscribe``,
    ``List-Unsubscribe-Post`` …); ``custom_args`` carry ids only, never personal data.
    """

    delivery_id: int
    to_address: str
    to_name: str
    from_address: str
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]
    custom_args: Mapping[str, str] = field(default_factory=dict)
    categories: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    delivery_id: int
    status: ResultStatus
    provider_message_id: str | None = None
    error: str | None = None
    #: For transient failures: the earliest time a retry makes sense (e.g. a 429's reset time).
    retry_at: datetime | None = None


class BackendAuthError(Exception):
    """The provider refused our credentials (401/403): sending must pause, not retry."""


class DeliveryBackend(Protocol):
    """Hands a batch of messages to a provider and reports one result per message."""

    name: str

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]: ...

    def close(self) -> None: ...

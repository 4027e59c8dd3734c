"""The provider-neutral delivery interface every backend implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ResultStatus(StrEnum):
    ACCEPTED = "accepted"
    FAILED_TRANSIENT = "failed_transient"
    FAILED_PERMANENT = "failed_permanent"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One personalized message, ready for a backend.

    ``headers`` are already-rendered header values (``Message-ID``, ``List-Unsubscribe``,
    ``List-Unsubscribe-Post`` …); ``custom_args`` carry ids only, never personal data.
    ``envelope_sender`` is the SMTP ``MAIL FROM`` (a per-delivery return path); ``None`` leaves
    it to the backend: the configured return path, else the ``From`` address.
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
    envelope_sender: str | None = None


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


class OutcomeUnknownError(Exception):
    """The provider may or may not have taken some messages: mark them uncertain, never resend.

    Raised at the end of ``send_batch`` when a connection ended after a request (or an SMTP
    message body) had been sent in full but before the reply arrived. ``results`` holds the
    definite outcomes of the batch's other messages, which the caller still records.
    """

    def __init__(self, unknown_ids: Sequence[int], results: Sequence[SendResult], detail: str):
        super().__init__(f"{len(unknown_ids)} message(s) with unknown outcome: {detail}")
        self.unknown_ids = tuple(unknown_ids)
        self.results = list(results)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TemplateRecipient:
    """One recipient of a template: the address, its own headers, ids and merge-tag values.

    ``substitutions`` maps bare tag names (``"unsubscribe_url"``) to this recipient's values;
    the template carries them in the provider's placeholder form (SendGrid: ``%%name%%``).
    """

    delivery_id: int
    to_address: str
    to_name: str = ""
    substitutions: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    custom_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplateBatch:
    """A shared subject and bodies with merge-tag placeholders, plus one entry per recipient.

    ``headers`` are the same for every recipient (``List-Id`` …); a recipient's own win.
    """

    from_address: str
    subject: str
    html: str
    text: str
    recipients: Sequence[TemplateRecipient]
    categories: Sequence[str] = ()
    custom_args: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


class DeliveryBackend(Protocol):
    """Hands a batch of messages to a provider and reports one result per message."""

    name: str

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]: ...

    def close(self) -> None: ...


@runtime_checkable
class TemplateBackend(DeliveryBackend, Protocol):
    """A backend that also takes one template and per-recipient substitutions in one request.

    The send pipeline prefers it: the body travels once per batch instead of once per reader.
    """

    def send_template(self, batch: TemplateBatch) -> list[SendResult]: ...

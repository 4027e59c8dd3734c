"""Deliver through SendGrid's v3 API: one request per batch of up to 1,000 personalizations."""

from __future__ import annotations

import http.client
import logging
import random
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message

import orjson
import sendgrid
from python_http_client.exceptions import HTTPError

from engine.config import Settings
from engine.delivery.base import (
    BackendAuthError,
    OutcomeUnknownError,
    OutgoingMessage,
    ResultStatus,
    SendResult,
    TemplateBatch,
    TemplateRecipient,
)
from engine.delivery.budget import BudgetUnavailableError, ProcessBudget, SendBudget, wait_turn
from engine.delivery.sendgrid_request import (
    MAX_PERSONALIZATIONS,
    MAX_REQUEST_BYTES,
    batch_error,
    batches_from_messages,
    recipient_error,
    request_body,
)

log = logging.getLogger(__name__)

# python_http_client json.dumps() any body unless the Content-Type differs from exactly
# "application/json"; this spelling lets it send our orjson bytes as they are.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
#: Seconds before retrying a status SendGrid does not document for this endpoint (404, 415 …).
UNEXPECTED_RETRY_SECONDS = 300.0


@dataclass(slots=True)
class _Reply:
    """What one POST produced; ``status`` is ``None`` when no HTTP status arrived."""

    status: int | None
    #: Header names lower-cased.
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: False only when the request certainly never reached the server in full.
    sent: bool = True
    retry_at: float | None = None


@dataclass(slots=True)
class _Outcome:
    results: list[SendResult] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)

    def went_out(self) -> bool:
        """Tell whether the provider may already hold part of this batch."""
        return bool(self.unknown) or any(r.status == ResultStatus.ACCEPTED for r in self.results)


class SendGridBackend:
    """Hand batches to SendGrid, retrying 429s and 5xx and isolating refused recipients."""

    name = "sendgrid"

    def __init__(
        self,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        *,
        rng: random.Random | None = None,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        max_rate_wait: float = 120.0,
        rate_jitter: float = 0.5,
        timeout: float = 30.0,
        budget: SendBudget | None = None,
    ):
        self._client = sendgrid.SendGridAPIClient(
            api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_URL
        )
        self._client.client.request_headers["Content-Type"] = JSON_CONTENT_TYPE
        self._sleep, self._clock = sleep, clock
        self._rng = rng or random.Random()
        self.max_attempts, self.backoff_base = max_attempts, backoff_base
        self.max_rate_wait, self.rate_jitter, self.timeout = max_rate_wait, rate_jitter, timeout
        #: Shared by the fleet in production (``registry``); a process's own by default.
        self.budget = budget or ProcessBudget(settings.SEND_RATE)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send fully personalized messages, one request per group sharing subject and bodies."""
        outcome = _Outcome()
        for batch in batches_from_messages(messages):
            self._send(batch, outcome)
        return self._finish(outcome, [m.delivery_id for m in messages])

    def send_template(self, batch: TemplateBatch) -> list[SendResult]:
        """Send a shared template with per-recipient substitutions; one request per 1,000.

        Raises ``BackendAuthError`` on 401/403 and ``OutcomeUnknownError`` (after sending the
        rest) for recipients whose request may have been taken but got no reply.
        """
        outcome = _Outcome()
        self._send(batch, outcome)
        return self._finish(outcome, [r.delivery_id for r in batch.recipients])

    def close(self) -> None:
        """Release nothing: the client opens one connection per request."""

    def _finish(self, outcome: _Outcome, order: list[int]) -> list[SendResult]:
        position = {delivery_id: index for index, delivery_id in enumerate(order)}
        outcome.results.sort(key=lambda result: position[result.delivery_id])
        if outcome.unknown:
            log.warning("sendgrid: %d recipient(s) with unknown outcome", len(outcome.unknown))
            raise OutcomeUnknownError(
                outcome.unknown, outcome.results, "no reply to a sent request"
            )
        return outcome.results

    def _send(self, batch: TemplateBatch, outcome: _Outcome) -> None:
        if error := batch_error(batch):
            outcome.results += [_permanent(r, error) for r in batch.recipients]
            return
        valid: list[TemplateRecipient] = []
        for recipient in batch.recipients:
            if error := recipient_error(batch, recipient):
                outcome.results.append(_permanent(recipient, error))
            else:
                valid.append(recipient)
        for start in range(0, len(valid), MAX_PERSONALIZATIONS):
            self._deliver(batch, valid[start : start + MAX_PERSONALIZATIONS], outcome)

    def _deliver(
        self, batch: TemplateBatch, recipients: list[TemplateRecipient], outcome: _Outcome
    ) -> None:
        payload = request_body(batch, recipients)
        if len(payload) > MAX_REQUEST_BYTES and len(recipients) > 1:
            self._split(batch, recipients, outcome)
            return
        reply = self._post(payload, len(recipients))
        status = reply.status
        if status is not None and 200 <= status < 300:
            message_id = reply.headers.get("x-message-id")
            outcome.results += [_accepted(r, message_id) for r in recipients]
        elif status in (401, 403) and not outcome.went_out():
            raise BackendAuthError(f"SendGrid refused the API key ({status})")
        elif status in (400, 413):
            self._refused(batch, recipients, reply, outcome)
        elif status is None and reply.sent:
            outcome.unknown += [r.delivery_id for r in recipients]
        else:
            # Includes 401/403 after part of the batch went out: raising would resend that part.
            later = self._clock() + UNEXPECTED_RETRY_SECONDS
            retry_at = _utc(later if reply.retry_at is None else reply.retry_at)
            error = _describe(reply)
            outcome.results += [_transient(r, error, retry_at) for r in recipients]

    def _refused(
        self,
        batch: TemplateBatch,
        recipients: list[TemplateRecipient],
        reply: _Reply,
        outcome: _Outcome,
    ) -> None:
        errors = _errors(reply.body)
        batch_level = reply.status == 400 and not any(
            (e.get("field") or "").startswith("personalizations") for e in errors
        )
        if len(recipients) == 1 or batch_level:
            outcome.results += [_permanent(r, _describe(reply)) for r in recipients]
        else:
            self._split(batch, recipients, outcome)

    def _split(
        self, batch: TemplateBatch, recipients: list[TemplateRecipient], outcome: _Outcome
    ) -> None:
        # Halving isolates the refused recipients in O(k log n) requests for k bad ones.
        middle = len(recipients) // 2
        self._deliver(batch, recipients[:middle], outcome)
        self._deliver(batch, recipients[middle:], outcome)

    def _post(self, payload: bytes, count: int) -> _Reply:
        """POST when the budget allows, until a definite answer; retry 429s and 5xx."""
        failures = rate_waits = 0
        while True:
            reply = self._post_in_turn(payload, count)
            if reply.status == 429 and reply.sent:
                reset = self._reset(reply)
                self._pause(reset)
                reply.retry_at = reset + self._jitter()
                rate_waits += 1
                if rate_waits > self.max_attempts or reset - self._clock() > self.max_rate_wait:
                    return reply
            elif (reply.status is None and not reply.sent) or (reply.status or 0) >= 500:
                failures += 1
                delay = self._backoff(failures)
                if failures >= self.max_attempts:
                    reply.retry_at = self._clock() + delay
                    return reply
                self._sleep(delay)
            else:
                return reply

    def _post_in_turn(self, payload: bytes, count: int) -> _Reply:
        """POST once the budget allows; answer without posting when its pause is too long."""
        try:
            paused_until = wait_turn(
                self.budget,
                count,
                clock=self._clock,
                sleep=self._sleep,
                jitter=self._jitter,
                max_wait=self.max_rate_wait,
            )
        except BudgetUnavailableError as error:
            # Nothing was sent: a retry later is safe, unlike a batch left "submitting".
            log.warning("sendgrid: %s", error)
            return _Reply(None, body=str(error).encode(), sent=False)
        if paused_until is not None:
            return _held_back(paused_until + self._jitter())
        return self._post_once(payload)

    def _pause(self, reset: float) -> None:
        """Hold back every sender on every host until ``reset``: the limit is the account's."""
        try:
            self.budget.pause(reset, self._clock())
        except BudgetUnavailableError as error:
            log.warning("sendgrid: 429 not shared with other workers: %s", error)
            # This sender at least waits, as every sender did before the budget was shared.
            wait = reset - self._clock()
            if 0 < wait <= self.max_rate_wait:
                self._sleep(wait)

    def _post_once(self, payload: bytes) -> _Reply:
        send = self._client.client.mail.send
        try:
            response = send.post(request_body=payload.decode("utf-8"), timeout=self.timeout)
        except HTTPError as exc:
            return _Reply(exc.status_code, _lowered(exc.headers), exc.body or b"")
        except urllib.error.URLError as exc:
            # urllib wraps only failures to connect or to write the request: nothing arrived.
            log.info("sendgrid: request not sent: %s", exc.reason)
            return _Reply(None, body=str(exc.reason).encode(), sent=False)
        except (OSError, http.client.HTTPException) as exc:
            log.warning("sendgrid: no reply after the request was sent: %r", exc)
            return _Reply(None, body=repr(exc).encode())
        return _Reply(response.status_code, _lowered(response.headers), response.body or b"")

    def _reset(self, reply: _Reply) -> float:
        """Return when a 429 says sending may resume (soon, if it does not say)."""
        try:
            return float(reply.headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return self._clock() + self._backoff(1)

    def _jitter(self) -> float:
        # Spreads the retries of many senders held back until the same instant.
        return self._rng.uniform(0.01, max(self.rate_jitter, 0.01))

    def _backoff(self, failures: int) -> float:
        ceiling = self.backoff_base * 2 ** (failures - 1)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)


def _held_back(retry_at: float) -> _Reply:
    """Answer for a request never made: the provider's pause lasts longer than we wait."""
    when = _utc(retry_at).isoformat(timespec="seconds")
    return _Reply(
        429,
        body=f"not sent: the provider asked to wait until {when}".encode(),
        sent=False,
        retry_at=retry_at,
    )


def _lowered(headers: Message | None) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}


def _errors(body: bytes) -> list[dict[str, str]]:
    try:
        errors = orjson.loads(body).get("errors", [])
    except (orjson.JSONDecodeError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)]


def _describe(reply: _Reply) -> str:
    messages = [f"{e.get('field') or 'request'}: {e.get('message')}" for e in _errors(reply.body)]
    detail = "; ".join(messages) or reply.body[:300].decode("utf-8", "replace")
    return f"{reply.status or 'no reply'}: {detail}"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _accepted(recipient: TemplateRecipient, message_id: str | None) -> SendResult:
    return SendResult(recipient.delivery_id, ResultStatus.ACCEPTED, provider_message_id=message_id)


def _permanent(recipient: TemplateRecipient, error: str) -> SendResult:
    return SendResult(recipient.delivery_id, ResultStatus.FAILED_PERMANENT, error=error)


def _transient(recipient: TemplateRecipient, error: str, retry_at: datetime) -> SendResult:
    return SendResult(
        recipient.delivery_id, ResultStatus.FAILED_TRANSIENT, error=error, retry_at=retry_at
    )

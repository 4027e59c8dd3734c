"""Read RFC 3464 delivery status notifications (SMTP bounces) and Pinwheel's Message-IDs."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from engine.clock import as_utc, now
from engine.delivery.events import BounceType, EventKind, ProviderEvent
from engine.delivery.verp import parse_return_path
from engine.keyed_hmac import KeyedHmac

_DIGEST_CHARS = 16
_MESSAGE_ID = re.compile(r"<?c(\d{1,18})\.s(\d{1,18})\.([0-9a-f]{16})@([^<>@\s]+)>?")
_STATUS = re.compile(r"([245])\.\d{1,3}\.\d{1,3}")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
_ACTIONS = {
    "failed": EventKind.BOUNCE,
    "delayed": EventKind.DEFERRED,
    "delivered": EventKind.DELIVERED,
}
_STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_PARTS = ("message/rfc822", "text/rfc822-headers", "message/global-headers")
#: Where the bounce's envelope recipient (our return path) shows: the delivering server's own
#: headers first, then the ``To:`` that reporting servers address the report to.
_RETURN_PATH_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


class DsnError(ValueError):
    """The message is not a delivery status notification Pinwheel can read."""


def make_message_id(campaign_id: int, subscriber_id: int, secret: str, domain: str) -> str:
    """Build the stable, unguessable Message-ID ``<c{campaign}.s{subscriber}.{hmac}@{domain}>``."""
    return MessageIds(campaign_id, secret, domain).for_subscriber(subscriber_id)


class MessageIds:
    """Mint one campaign's Message-IDs: the inputs are checked once, each id costs one HMAC.

    Bad inputs raise ``ValueError`` when the first id is asked for, not before, so code that
    builds a campaign's messages without sending them needs no usable domain.
    """

    def __init__(self, campaign_id: int, secret: str, domain: str) -> None:
        self._problem = _message_id_problem(campaign_id, secret, domain)
        self._mac = KeyedHmac(secret.encode(), "sha256")
        self._campaign_id, self._domain = campaign_id, domain

    def for_subscriber(self, subscriber_id: int) -> str:
        """Return the Message-ID of this campaign's message to ``subscriber_id``."""
        if self._problem or subscriber_id < 0:
            raise ValueError(self._problem or "subscriber ids must not be negative")
        digest = _signature(self._mac, self._campaign_id, subscriber_id)
        return f"<c{self._campaign_id}.s{subscriber_id}.{digest}@{self._domain}>"


def _message_id_problem(campaign_id: int, secret: str, domain: str) -> str:
    if campaign_id < 0:
        return "campaign ids must not be negative"
    if not secret:
        return "a secret is required so Message-IDs cannot be forged"
    if not _DOMAIN.fullmatch(domain):
        return f"not a usable Message-ID domain: {domain!r}"
    return ""


def _signature(mac: KeyedHmac, campaign_id: int, subscriber_id: int) -> str:
    return mac.digest(f"c{campaign_id}.s{subscriber_id}".encode()).hex()[:_DIGEST_CHARS]


def parse_message_id(value: str | None, *, secret: str | None = None) -> tuple[int, int] | None:
    """Return ``(campaign_id, subscriber_id)`` from a Pinwheel Message-ID, else None.

    With ``secret``, also check the HMAC, so a forged bounce cannot name a subscriber.
    """
    if not value:
        return None
    match = _MESSAGE_ID.fullmatch(value.strip())
    if match is None:
        return None
    campaign_id, subscriber_id = int(match[1]), int(match[2])
    if secret is not None and not hmac.compare_digest(
        match[3], _signature(KeyedHmac(secret.encode(), "sha256"), campaign_id, subscriber_id)
    ):
        return None
    return campaign_id, subscriber_id


@dataclass(frozen=True, slots=True)
class _Report:
    """The per-message facts every recipient's event shares."""

    message_id: str | None
    dedupe_key: str
    ids: tuple[int, int] | None
    fallback_time: datetime | None
    #: The delivery named by the signed return path the report was sent to (VERP).
    delivery_id: int | None = None


def parse_dsn(raw: bytes, *, secret: str | None = None) -> list[ProviderEvent]:
    """Read a ``multipart/report; report-type=delivery-status`` message into events.

    Recipients whose ``Action`` is ``relayed`` or ``expanded`` say nothing about delivery and
    are skipped. With ``secret``, a report sent to a signed per-delivery return path
    (``engine.delivery.verp``) is about that delivery, whatever its body names; otherwise the
    quoted Message-ID is checked with ``parse_message_id``. A forged return path is ignored.
    """
    message = message_from_bytes(raw, policy=policy.default)
    blocks = _status_blocks(message)
    original = _original_message_id(message)
    delivery_id = _returned_delivery(message, secret) if secret is not None else None
    dedupe_key = original or str(message.get("Message-ID", ""))
    report = _Report(
        message_id=original,
        dedupe_key=f"{dedupe_key}\x1fd{delivery_id}" if delivery_id else dedupe_key,
        ids=None if delivery_id else parse_message_id(original, secret=secret),
        fallback_time=_date(message.get("Date")) or _date(blocks[0].get("Arrival-Date")),
        delivery_id=delivery_id,
    )
    events = [
        event for block in blocks[1:] if (event := _recipient_event(block, report)) is not None
    ]
    if not events and not delivery_id and not any(_recipient(block) for block in blocks[1:]):
        raise DsnError("the delivery-status part names no recipient (Final-Recipient)")
    return events


def _returned_delivery(message: Message, secret: str) -> int | None:
    """Return the delivery whose signed return path the report was sent to, if any."""
    for name in _RETURN_PATH_HEADERS:
        values = [str(value) for value in message.get_all(name) or ()]
        for _name, address in getaddresses(values):
            if (delivery_id := parse_return_path(address, secret=secret)) is not None:
                return delivery_id
    return None


def _status_blocks(message: EmailMessage) -> list[Message]:
    if message.get_content_type() != "multipart/report":
        raise DsnError(
            f"not a delivery status notification: content type is {message.get_content_type()}"
        )
    report_type = str(message.get_param("report-type", "") or "").lower()
    if report_type not in ("delivery-status", "global-delivery-status"):
        raise DsnError(f"not a delivery status notification: report-type is {report_type!r}")
    part = next((p for p in _parts(message) if p.get_content_type() in _STATUS_PARTS), None)
    if part is None:
        raise DsnError("the report has no message/delivery-status part")
    blocks = _header_blocks(part)
    if len(blocks) < 2:
        raise DsnError("the delivery-status part has no per-recipient fields")
    return blocks


def _parts(message: Message) -> Iterator[Message]:
    yield from _messages(message.get_payload())


def _messages(payload: object) -> list[Message]:
    """Return the sub-messages of a multipart payload; any other payload has none."""
    # typeshed allows str items in a multipart list; the parser only ever puts messages there.
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _header_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _split_blocks(_body_text(part))
    blocks: list[Message] = []
    for block in _messages(payload):
        blocks.append(block)
        # The stdlib reads message/global-delivery-status as one message: the per-recipient
        # blocks end up in its body.
        body = block.get_payload(decode=True)
        if isinstance(body, bytes) and body.strip():
            blocks.extend(_split_blocks(_text(body)))
    return [block for block in blocks if len(block)]


def _split_blocks(text: str) -> list[Message]:
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    parser = HeaderParser(policy=policy.default)
    return [block for chunk in chunks if len(block := parser.parsestr(chunk + "\n"))]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _body_text(part: Message) -> str:
    # Decoding a non-multipart part gives bytes (None when it has no payload).
    raw = part.get_payload(decode=True)
    return _text(raw if isinstance(raw, bytes) else b"")


def _original_message_id(message: Message) -> str | None:
    for part in _parts(message):
        content_type = part.get_content_type()
        if content_type not in _ORIGINAL_PARTS:
            continue
        if content_type == "message/rfc822":
            inner = part.get_payload()
            attached = _messages(inner)
            headers = attached[0] if attached else None
        else:
            headers = HeaderParser(policy=policy.default).parsestr(_body_text(part))
        if headers is not None and headers.get("Message-ID"):
            return str(headers["Message-ID"]).strip()
    return None


def _recipient_event(block: Message, report: _Report) -> ProviderEvent | None:
    # Through the return path the delivery is known: its address is the one acted on.
    email = _recipient(block) or ("" if report.delivery_id else None)
    action = str(block.get("Action", "")).strip().lower()
    kind = _ACTIONS.get(action)
    if email is None or kind is None:
        return None
    status = _status(block.get("Status"))
    return ProviderEvent(
        provider_event_id=_event_id(report.dedupe_key, email, status or "", action),
        kind=kind,
        occurred_at=_date(block.get("Last-Attempt-Date")) or report.fallback_time or now(),
        email=email,
        campaign_id=report.ids[0] if report.ids else None,
        delivery_id=report.delivery_id,
        subscriber_id=report.ids[1] if report.ids else None,
        provider_message_id=report.message_id,
        bounce_type=_bounce_type(kind, status),
        reason=_unfold(block.get("Diagnostic-Code")) or status,
        raw={key: _unfold(value) for key, value in block.items()},
    )


def _recipient(block: Message) -> str | None:
    # Original-Recipient is the address we sent to; Final-Recipient may be an alias target.
    for name in ("Original-Recipient", "Final-Recipient"):
        value = _unfold(block.get(name))
        if value:
            address = value.split(";", 1)[-1].strip().strip("<>").lower()
            if "@" in address:
                return address
    return None


def _status(value: object) -> str | None:
    match = _STATUS.match(str(value or "").strip())
    return match[0] if match else None


def _bounce_type(kind: EventKind, status: str | None) -> BounceType | None:
    if kind is EventKind.DELIVERED:
        return None
    if kind is EventKind.DEFERRED:
        return BounceType.SOFT
    return BounceType.SOFT if status and status.startswith("4") else BounceType.HARD


def _event_id(message_id: str, recipient: str, status: str, action: str) -> str:
    key = "\x1f".join((message_id, recipient, status, action)).encode()
    return "dsn:" + hashlib.sha256(key).hexdigest()[:32]


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(parsedate_to_datetime(str(value)))
    except (TypeError, ValueError, IndexError):
        return None


def _unfold(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None

"""SendGrid ``/v3/mail/send`` request bodies: the batch types, their limits and their JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from engine.delivery.base import OutgoingMessage, TemplateBatch, TemplateRecipient
from engine.delivery.mime import split_address

#: SendGrid accepts at most 1,000 personalizations in one request.
MAX_PERSONALIZATIONS = 1000
#: SendGrid: "substitutions" and "custom_args" must each total less than 10,000 bytes.
MAX_SUBSTITUTION_BYTES = 10_000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
#: SendGrid refuses requests over 30 MB (413).
MAX_REQUEST_BYTES = 30 * 1024 * 1024
# custom_args travel to SendGrid's event stream and logs: ids only, never personal data.
_ID_VALUE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_UNUSABLE_ADDRESS = re.compile(r"[\r\n <>]")
#: The ``%%`` on each side of a tag name.
_TAG_OVERHEAD = 4
REPLY_TO = "Reply-To"


def merge_tag(name: str) -> str:
    """Return the placeholder SendGrid replaces with a recipient's ``name`` value."""
    return f"%%{name}%%"


def batches_from_messages(messages: Sequence[OutgoingMessage]) -> Iterator[TemplateBatch]:
    """Group fully personalized messages that share sender, subject and bodies into batches."""
    groups: dict[tuple[object, ...], list[OutgoingMessage]] = {}
    for message in messages:
        key = (message.from_address, message.subject, message.html, message.text)
        reply_to = _reply_to(message.headers)
        groups.setdefault((*key, tuple(message.categories), reply_to), []).append(message)
    for group in groups.values():
        first = group[0]
        reply_to = _reply_to(first.headers)
        yield TemplateBatch(
            from_address=first.from_address,
            subject=first.subject,
            html=first.html,
            text=first.text,
            categories=tuple(first.categories),
            recipients=[
                TemplateRecipient(
                    m.delivery_id, m.to_address, m.to_name, {}, _own(m.headers), m.custom_args
                )
                for m in group
            ],
            headers={REPLY_TO: reply_to} if reply_to else {},
        )


def _reply_to(headers: Mapping[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "reply-to"), "")


def _own(headers: Mapping[str, str]) -> dict[str, str]:
    # SendGrid refuses Reply-To among headers (a reserved header): it travels in ``reply_to``.
    return {key: value for key, value in headers.items() if key.lower() != "reply-to"}


def batch_error(batch: TemplateBatch) -> str | None:
    """Return why SendGrid would refuse the whole batch, or ``None`` if it looks acceptable."""
    if not batch.subject.strip():
        return "subject is required"
    if not (batch.text or batch.html):
        return "content is required"
    if len(batch.categories) > MAX_CATEGORIES:
        return f"at most {MAX_CATEGORIES} categories are allowed"
    if any(not c or len(c) > MAX_CATEGORY_LENGTH for c in batch.categories):
        return f"categories must be 1 to {MAX_CATEGORY_LENGTH} characters"
    try:
        split_address(batch.from_address)
    except ValueError as exc:
        return str(exc)
    if any("\r" in v or "\n" in v for v in batch.headers.values()):
        return "header values must not contain CR or LF"
    return _ids_error(batch.custom_args)


def recipient_error(batch: TemplateBatch, recipient: TemplateRecipient) -> str | None:
    """Return why SendGrid would refuse this recipient's personalization, or ``None``."""
    if "@" not in recipient.to_address or _UNUSABLE_ADDRESS.search(recipient.to_address):
        return "not a usable email address"
    size = _size(recipient.substitutions, _TAG_OVERHEAD)
    if size >= MAX_SUBSTITUTION_BYTES:
        return f"substitutions total {size} bytes (limit {MAX_SUBSTITUTION_BYTES})"
    args = {**batch.custom_args, **recipient.custom_args, "delivery_id": str(recipient.delivery_id)}
    if error := _ids_error(args):
        return error
    args_size = _size(args, 0)
    if args_size >= MAX_CUSTOM_ARGS_BYTES:
        return f"custom_args total {args_size} bytes (limit {MAX_CUSTOM_ARGS_BYTES})"
    if any("\r" in v or "\n" in v for v in recipient.headers.values()):
        return "header values must not contain CR or LF"
    return None


def _size(values: Mapping[str, str], overhead: int) -> int:
    """Return the UTF-8 size of keys and values (each key also costs ``overhead`` bytes)."""
    total = overhead * len(values)
    for key, value in values.items():
        # Most values are ASCII, where characters are bytes: encode only the others.
        if key.isascii() and value.isascii():
            total += len(key) + len(value)
        else:
            total += len(key.encode()) + len(value.encode())
    return total


def _ids_error(custom_args: Mapping[str, str]) -> str | None:
    for key, value in custom_args.items():
        if not isinstance(value, str) or not _ID_VALUE.fullmatch(value):
            return f"custom_args[{key!r}] must be an id (letters, digits, _.:-)"
    return None


_NO_PROVIDER_TRACKING = {
    "click_tracking": {"enable": False, "enable_text": False},
    "open_tracking": {"enable": False},
    "subscription_tracking": {"enable": False},
}


def request_body(batch: TemplateBatch, recipients: Sequence[TemplateRecipient]) -> bytes:
    """Serialize one ``/v3/mail/send`` request for ``recipients`` (at most 1,000) as JSON."""
    name, address = split_address(batch.from_address)
    body: dict[str, Any] = {
        "from": {"email": address, "name": name} if name else {"email": address},
        "subject": batch.subject,
        "content": _content(batch),
        "personalizations": [_personalization(r) for r in recipients],
        # Per-recipient tracking stays off (some topics are sensitive); Pinwheel counts
        # aggregate opens and clicks itself when a campaign asks for it.
        "tracking_settings": _NO_PROVIDER_TRACKING,
    }
    if batch.categories:
        body["categories"] = list(batch.categories)
    if batch.custom_args:
        body["custom_args"] = dict(batch.custom_args)
    if reply_to := _reply_to(batch.headers):
        name, address = split_address(reply_to)
        body["reply_to"] = {"email": address, "name": name} if name else {"email": address}
    if headers := _own(batch.headers):
        # Once per request rather than in each of up to 1,000 personalizations.
        body["headers"] = headers
    return orjson.dumps(body)


def _content(batch: TemplateBatch) -> list[dict[str, str]]:
    # SendGrid requires text/plain to come before text/html.
    parts = [("text/plain", batch.text), ("text/html", batch.html)]
    return [{"type": kind, "value": value} for kind, value in parts if value]


def _personalization(recipient: TemplateRecipient) -> dict[str, Any]:
    to = {"email": recipient.to_address}
    if recipient.to_name.strip():
        to["name"] = " ".join(recipient.to_name.split())
    entry: dict[str, Any] = {
        "to": [to],
        "custom_args": {**recipient.custom_args, "delivery_id": str(recipient.delivery_id)},
    }
    if recipient.substitutions:
        entry["substitutions"] = {merge_tag(k): v for k, v in recipient.substitutions.items()}
    if headers := _own(recipient.headers):
        entry["headers"] = headers
    return entry

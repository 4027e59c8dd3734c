"""The request rules SendGrid documents for ``/v3/mail/send``, as the fake server checks them."""

from __future__ import annotations

import re
from typing import Any

MAX_PERSONALIZATIONS = 1000
MAX_FIELD_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_BODY_BYTES = 30 * 1024 * 1024
RESERVED_HEADERS = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type"}
RESERVED_HEADERS |= {"content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"}
_EMAIL = re.compile(r"[^@\s<>\",;]+@[^@\s<>\",;]+\.[A-Za-z0-9-]{2,}")


def validate(body: Any) -> list[tuple[str, str | None]]:
    """Return SendGrid-style (message, field) problems with a mail/send body; empty if valid."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    problems: list[tuple[str, str | None]] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not _EMAIL.fullmatch(str(sender.get("email", ""))):
        problems.append(("The from object must be provided with a valid email.", "from.email"))
    personalizations = body.get("personalizations")
    if (
        not isinstance(personalizations, list)
        or not 1 <= len(personalizations) <= MAX_PERSONALIZATIONS
    ):
        problems.append(
            ("The personalizations field must have 1 to 1000 items.", "personalizations")
        )
        personalizations = []
    for index, entry in enumerate(personalizations):
        problems += _personalization_problems(index, entry, body)
    if not body.get("subject") and not all(
        isinstance(p, dict) and p.get("subject") for p in personalizations
    ):
        problems.append(("The subject is required.", "subject"))
    problems += _content_problems(body.get("content"))
    if len(body.get("categories", [])) > MAX_CATEGORIES:
        problems.append(("You may not have more than 10 categories per request.", "categories"))
    return problems


def _personalization_problems(
    index: int, entry: Any, body: dict[str, Any]
) -> list[tuple[str, str | None]]:
    where = f"personalizations.{index}"
    if not isinstance(entry, dict) or not isinstance(entry.get("to"), list) or not entry["to"]:
        return [("Each personalization must have at least one to.", f"{where}.to")]
    problems: list[tuple[str, str | None]] = [
        ("Does not contain a valid address.", f"{where}.to.{n}.email")
        for n, to in enumerate(entry["to"])
        if not isinstance(to, dict) or not _EMAIL.fullmatch(str(to.get("email", "")))
    ]
    if _size(entry.get("substitutions", {})) >= MAX_FIELD_BYTES:
        problems.append(
            ("substitutions must total less than 10000 bytes", f"{where}.substitutions")
        )
    if _size({**body.get("custom_args", {}), **entry.get("custom_args", {})}) >= MAX_FIELD_BYTES:
        problems.append(("custom_args must total less than 10000 bytes", f"{where}.custom_args"))
    headers = entry.get("headers", {})
    if any(name.lower() in RESERVED_HEADERS for name in headers) or not all(
        isinstance(v, str) for v in headers.values()
    ):
        problems.append(("headers may not contain reserved headers.", f"{where}.headers"))
    return problems


def _content_problems(content: Any) -> list[tuple[str, str | None]]:
    if not isinstance(content, list) or not content:
        return [("Content is required.", "content")]
    if any(not isinstance(c, dict) or not c.get("type") or not c.get("value") for c in content):
        return [("Each content item needs a type and a non-empty value.", "content")]
    types = [c["type"] for c in content]
    if "text/plain" in types and types[0] != "text/plain":
        return [("text/plain must come first.", "content.0.type")]
    return []


def _size(mapping: Any) -> int:
    if not isinstance(mapping, dict):
        return MAX_FIELD_BYTES
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in mapping.items())

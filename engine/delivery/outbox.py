"""Development backend: each message becomes an ``.eml`` file that the staff UI can show."""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from engine.delivery.base import OutgoingMessage, ResultStatus, SendResult
from engine.delivery.dkim import DkimSigner
from engine.delivery.mime import build_mime

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxBackend:
    """Write every message atomically to ``instance/outbox/`` as RFC 5322 ``.eml`` files."""

    name = "outbox"

    def __init__(
        self, folder: Path, *, return_path: str = "", signer: DkimSigner | None = None
    ) -> None:
        self.folder = folder
        #: Signs each file as the SMTP backend signs each message, when DKIM is configured.
        self.signer = signer
        #: Written as the ``Return-Path:`` a mailbox would add, for messages without their own.
        self.return_path = return_path
        self.folder.mkdir(parents=True, exist_ok=True)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return [self._write(message) for message in messages]

    def _write(self, message: OutgoingMessage) -> SendResult:
        message_id = message.headers.get("Message-ID", f"<{message.delivery_id}@outbox>")
        stem = _SAFE_NAME.sub("_", message_id.strip("<>"))
        target = self.folder / f"{stem}.eml"
        partial = target.with_suffix(".eml.part")
        try:
            raw = build_mime(message)
            if self.signer is not None:
                raw = self.signer.sign(raw)
        except ValueError as error:
            # As a relay would refuse it: this message alone, for good.
            return SendResult(message.delivery_id, ResultStatus.FAILED_PERMANENT, error=str(error))
        if envelope_sender := message.envelope_sender or self.return_path:
            # What the receiving server would record from MAIL FROM, so staff can see it.
            raw = f"Return-Path: <{envelope_sender}>\r\n".encode() + raw
        partial.write_bytes(raw)
        # A rename is atomic: the UI never lists half-written files.
        partial.replace(target)
        return SendResult(
            message.delivery_id, ResultStatus.ACCEPTED, provider_message_id=message_id
        )

    def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    name: str
    modified: datetime
    size: int


def list_outbox(
    folder: Path, *, limit: int = 200, offset: int = 0
) -> tuple[list[OutboxEntry], int]:
    """Return a page of outbox files, newest first, and the total count."""
    if not folder.is_dir():
        return [], 0
    files = [entry for entry in os.scandir(folder) if entry.name.endswith(".eml")]
    files.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
    page = [
        OutboxEntry(
            entry.name,
            datetime.fromtimestamp(entry.stat().st_mtime, UTC),
            entry.stat().st_size,
        )
        for entry in files[offset : offset + limit]
    ]
    return page, len(files)


def read_outbox_message(folder: Path, name: str) -> EmailMessage | None:
    """Parse one outbox file; ``None`` for names outside the folder or missing files."""
    if _SAFE_NAME.sub("_", name) != name or not name.endswith(".eml"):
        return None
    path = folder / name
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)

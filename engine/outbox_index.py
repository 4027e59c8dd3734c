"""The outbox as staff read it: each file's date, recipient, subject and kind, newest first.

A list reads only headers, from the first few KB of each file, and parses each file once per
version (name and modification time): a development outbox may hold 100,000 messages, and
paging through it must not open them all again. A message's kind comes from the headers
Pinwheel writes: campaign messages carry ``List-Unsubscribe`` and ``List-Id``/``Feedback-ID``,
test copies a ``test.`` Message-ID and a ``[Test]`` subject, system emails
``Auto-Submitted: auto-generated`` and a Message-ID that starts with their own kind.
"""

from __future__ import annotations

import email.policy
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

#: Headers end within the first 8 KB of nearly every message; a DKIM signature and long
#: unsubscribe links still fit. Up to 64 KB are read to find the end of odd ones.
HEAD_BYTES = 8 * 1024
MAX_HEAD_BYTES = 64 * 1024
TEST_SUBJECT_PREFIX = "[Test] "
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
#: Values stay raw strings; ``header_text`` decodes the few a list shows, when they need it.
_PARSER = BytesHeaderParser(policy=email.policy.compat32)


class MessageKind(StrEnum):
    CAMPAIGN = "campaign"
    TEST = "test"
    CONFIRMATION = "confirmation"
    WELCOME = "welcome"
    STAFF = "staff"
    OTHER = "other"


KIND_LABELS = {
    MessageKind.CAMPAIGN: "Campaign",
    MessageKind.TEST: "Test send",
    MessageKind.CONFIRMATION: "Confirmation",
    MessageKind.WELCOME: "Welcome email",
    MessageKind.STAFF: "Staff alert or notice",
    MessageKind.OTHER: "Other",
}


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """What the outbox list shows of one file."""

    name: str
    written: datetime
    recipient: str
    subject: str
    kind: MessageKind
    #: A system email's own kind from its Message-ID (``staff-alert`` …); empty otherwise.
    system_kind: str = ""

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind, self.system_kind)

    def matches(self, needle: str) -> bool:
        """Return whether the recipient or the subject contains ``needle`` (case-folded)."""
        return needle in self.recipient.casefold() or needle in self.subject.casefold()


@dataclass(frozen=True, slots=True)
class OutboxPage:
    entries: list[OutboxSummary]
    #: Files that match the search and kind (all files without them).
    matching: int
    stored: int


class OutboxIndex:
    """The parsed headers of one outbox folder, kept per file name and modification time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._parsed: dict[tuple[str, int], OutboxSummary] = {}
        # The development server answers requests in threads; pruning must not race a parse.
        self._lock = threading.Lock()

    def page(
        self, *, search: str = "", kind: MessageKind | None = None, limit: int, offset: int
    ) -> OutboxPage:
        """Return one page of summaries, newest first, of the files that match.

        Without a search or kind only the page's files are read; with one, every file is (once).
        """
        with self._lock:
            files = self._scan()
            if not search and kind is None:
                window = files[offset : offset + limit]
                return OutboxPage(self._summaries(window), len(files), len(files))
            needle = search.casefold()
            matching = [
                summary
                for summary in self._summaries(files)
                if (kind is None or summary.kind is kind) and summary.matches(needle)
            ]
            return OutboxPage(matching[offset : offset + limit], len(matching), len(files))

    def _scan(self) -> list[tuple[str, int]]:
        files = []
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".eml") and entry.is_file():
                        try:
                            files.append((entry.name, entry.stat().st_mtime_ns))
                        except FileNotFoundError:
                            continue
        except FileNotFoundError:
            return []
        files.sort(key=lambda file: (file[1], file[0]), reverse=True)
        if len(self._parsed) > len(files):
            # Files were removed or rewritten since: forget the headers of their old versions.
            current = set(files)
            self._parsed = {key: value for key, value in self._parsed.items() if key in current}
        return files

    def _summaries(self, files: list[tuple[str, int]]) -> list[OutboxSummary]:
        summaries = []
        for name, modified in files:
            summary = self._parsed.get((name, modified))
            if summary is None:
                summary = _summary(self.folder / name, modified)
                if summary is None:
                    continue
                self._parsed[name, modified] = summary
            summaries.append(summary)
        return summaries


@lru_cache(maxsize=4)
def outbox_index(folder: Path) -> OutboxIndex:
    """Return the process's index of ``folder`` (one per folder, so its cache lasts)."""
    return OutboxIndex(folder)


def message_kind(headers: Message) -> tuple[MessageKind, str]:
    """Tell which part of Pinwheel wrote a message, and a system email's own kind."""
    local = header_text(headers, "Message-ID").strip().lstrip("<").partition("@")[0]
    prefix, dot, _ = local.partition(".")
    prefix = prefix if dot else ""
    from_campaign = bool(header_text(headers, "List-Unsubscribe")) and bool(
        header_text(headers, "List-Id") or header_text(headers, "Feedback-ID")
    )
    if prefix == "test" or (
        from_campaign and header_text(headers, "Subject").startswith(TEST_SUBJECT_PREFIX)
    ):
        return MessageKind.TEST, ""
    if header_text(headers, "Auto-Submitted").lower().startswith("auto-generated"):
        if prefix == "confirmation":
            return MessageKind.CONFIRMATION, prefix
        if prefix == "welcome":
            return MessageKind.WELCOME, prefix
        return MessageKind.STAFF, prefix
    return (MessageKind.CAMPAIGN if from_campaign else MessageKind.OTHER), ""


def kind_label(kind: MessageKind, system_kind: str = "") -> str:
    """Return the words for a kind; a staff email is named by its own kind ("Staff alert")."""
    if kind is MessageKind.STAFF and system_kind:
        return system_kind.replace("-", " ").capitalize()
    return KIND_LABELS[kind]


def header_text(headers: Message, name: str) -> str:
    """Return header ``name`` unfolded and decoded (RFC 2047), or as written if it cannot be."""
    wanted = name.lower()
    raw = next((str(value) for key, value in headers.raw_items() if key.lower() == wanted), None)
    if raw is None:
        return ""
    text = _FOLD.sub("", raw).strip()
    if text.isascii() and "=?" not in text:
        # Most values need no decoding, and building a header object costs ten times the parse.
        return text
    try:
        return str(email.policy.default.header_fetch_parse(name, raw))
    except Exception:
        # One malformed header must not hide a message from staff: show it as it was written.
        return text


def header_rows(message: Message) -> list[tuple[str, str]]:
    """Return every header as ``(name, decoded value)``, in the message's order."""
    rows = []
    for name, raw in message.raw_items():
        try:
            value = str(message.policy.header_fetch_parse(name, raw))
        except Exception:
            # Shown as written rather than not at all.
            value = str(raw)
        rows.append((name, value))
    return rows


def body_text(message: EmailMessage, subtype: str) -> str:
    """Return the decoded ``text/<subtype>`` body (base64 and quoted-printable), or ``""``."""
    part = message.get_body((subtype,))
    if part is None:
        return ""
    try:
        text = str(part.get_content())
    except LookupError:
        # An unknown charset: the bytes as UTF-8 say more than an error page.
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    # A base64 part keeps the CRLF it was encoded with; quoted-printable gives LF.
    return text.replace("\r\n", "\n")


def _summary(path: Path, modified: int) -> OutboxSummary | None:
    try:
        head = _read_head(path)
    except FileNotFoundError:
        return None
    headers = _PARSER.parsebytes(head)
    kind, system_kind = message_kind(headers)
    return OutboxSummary(
        name=path.name,
        written=datetime.fromtimestamp(modified / 1e9, UTC),
        recipient=header_text(headers, "To"),
        subject=header_text(headers, "Subject"),
        kind=kind,
        system_kind=system_kind,
    )


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        while len(head) < MAX_HEAD_BYTES and not _HEADERS_END.search(head):
            more = handle.read(HEAD_BYTES)
            if not more:
                break
            head += more
    end = _HEADERS_END.search(head)
    return head[: end.end()] if end else head

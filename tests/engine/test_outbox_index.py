"""The outbox index: kinds from headers, newest first, search, and headers parsed once per file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import engine.outbox_index as outbox_index_module
from engine.delivery.outbox import OutboxBackend, read_outbox_message
from engine.outbox_index import MessageKind, OutboxIndex, body_text, header_rows, message_kind
from tests.engine.delivery.test_mime import make_message

UNSUBSCRIBE = "<https://news.example.org/unsubscribe/tok>"
CAMPAIGN = {
    "Message-ID": "<c7.s42@agency.example>",
    "List-Unsubscribe": UNSUBSCRIBE,
    "List-Id": "<practice.list-id.agency.example>",
    "Feedback-ID": "7:practice:spotlight:agency.example",
}
TEST = {**CAMPAIGN, "Message-ID": "<test.0f3a@agency.example>"}
CONFIRMATION = {
    "Message-ID": "<confirmation.9b1c@agency.example>",
    "Auto-Submitted": "auto-generated",
}
ALERT = {"Message-ID": "<staff-alert.77aa@agency.example>", "Auto-Submitted": "auto-generated"}


def _write(folder: Path, n: int, headers: dict[str, str], **fields: object) -> str:
    """Write one message through the outbox backend, ``n`` seconds after the first; its name."""
    headers = {**headers, "Message-ID": headers["Message-ID"].replace("@", f"{n}@")}
    OutboxBackend(folder).send_batch([make_message(delivery_id=n, headers=headers, **fields)])
    name = f"{headers['Message-ID'].strip('<>').replace('@', '_')}.eml"
    os.utime(folder / name, ns=(n * 10**9, (1_700_000_000 + n) * 10**9))
    return name


@pytest.mark.parametrize(
    ("headers", "subject", "kind", "label"),
    [
        (CAMPAIGN, "Spotlight On: Foster Care", MessageKind.CAMPAIGN, "Campaign"),
        (TEST, "[Test] Spotlight On: Foster Care", MessageKind.TEST, "Test send"),
        ({**CAMPAIGN, "Message-ID": "<c1.x@a.example>"}, "[Test] A", MessageKind.TEST, ""),
        (CONFIRMATION, "Confirm your subscription", MessageKind.CONFIRMATION, "Confirmation"),
        (ALERT, "Campaign paused: May", MessageKind.STAFF, "Staff alert"),
        ({"Message-ID": "<c1.x@a.example>", "List-Unsubscribe": UNSUBSCRIBE}, "A", "other", ""),
        ({"Message-ID": "<confirmation.1@a.example>"}, "Confirm", MessageKind.OTHER, "Other"),
    ],
)
def test_the_kind_comes_from_the_headers_pinwheel_writes(
    tmp_path: Path, headers: dict[str, str], subject: str, kind: MessageKind, label: str
) -> None:
    name = _write(tmp_path, 1, headers, subject=subject)
    [summary] = OutboxIndex(tmp_path).page(limit=10, offset=0).entries
    assert summary.name == name and summary.kind == kind
    assert not label or summary.kind_label == label
    message = read_outbox_message(tmp_path, name)
    assert message is not None and message_kind(message)[0] == kind


def test_pages_are_newest_first_and_headers_are_parsed_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [_write(tmp_path, n, CAMPAIGN, subject=f"Issue {n}") for n in range(1, 6)]
    (tmp_path / "half-written.eml.part").write_bytes(b"Subject: not yet\r\n")
    reads: list[str] = []
    real_read = outbox_index_module._read_head
    monkeypatch.setattr(
        outbox_index_module, "_read_head", lambda path: reads.append(path.name) or real_read(path)
    )
    index = OutboxIndex(tmp_path)
    first = index.page(limit=2, offset=0)
    assert [e.subject for e in first.entries] == ["Issue 5", "Issue 4"]
    assert (first.matching, first.stored) == (5, 5)
    assert reads == [names[4], names[3]], "only the page's files are read"
    assert index.page(limit=2, offset=0).entries == first.entries
    assert len(reads) == 2, "unchanged files are not read again"
    assert first.entries[0].written.year == 2023 and first.entries[0].written.tzinfo is not None

    os.utime(tmp_path / names[3], ns=(0, 1_800_000_000 * 10**9))
    (tmp_path / names[4]).unlink()
    again = index.page(limit=10, offset=0)
    assert [e.subject for e in again.entries] == ["Issue 4", "Issue 3", "Issue 2", "Issue 1"]
    assert reads.count(names[3]) == 2, "a rewritten file is read again"
    # Stale versions are dropped once the cache holds more entries than the folder has files.
    index.page(limit=1, offset=0)
    assert len(index._parsed) == 4 and all(key[0] != names[4] for key in index._parsed)


def test_search_matches_recipient_or_subject_and_the_kind_filter_narrows(tmp_path: Path) -> None:
    _write(tmp_path, 1, CAMPAIGN, subject="Foster Care Month", to_address="ana@example.org")
    _write(tmp_path, 2, TEST, subject="[Test] Foster Care Month", to_address="staff@agency.example")
    _write(tmp_path, 3, CONFIRMATION, subject="Confirm your subscription", to_name="Bo Ng")
    index = OutboxIndex(tmp_path)

    def subjects(**query: object) -> list[str]:
        page = index.page(limit=10, offset=0, **query)  # type: ignore[arg-type]
        assert page.stored == 3 and page.matching == len(page.entries)
        return [entry.subject for entry in page.entries]

    assert subjects(search="FOSTER care") == ["[Test] Foster Care Month", "Foster Care Month"]
    assert subjects(search="ana@") == ["Foster Care Month"]
    assert subjects(search="bo ng") == ["Confirm your subscription"]
    assert subjects(kind=MessageKind.TEST) == ["[Test] Foster Care Month"]
    assert subjects(search="foster", kind=MessageKind.CAMPAIGN) == ["Foster Care Month"]
    assert subjects(search="nobody") == []
    paged = index.page(search="foster", limit=1, offset=1)
    assert [e.subject for e in paged.entries] == ["Foster Care Month"] and paged.matching == 2


HTML = '<p style="color: #123F73">Café crème = ' + "plain words " * 20 + "</p>"


def test_long_headers_encoded_words_and_both_body_encodings_are_decoded(tmp_path: Path) -> None:
    padding = {f"X-Padding-{n}": "p" * 900 for n in range(12)}
    greek = "Καλημέρα σας\nδεύτερη γραμμή"  # noqa: RUF001 - Greek, base64-encoded by the writer
    name = _write(
        tmp_path,
        1,
        {**CAMPAIGN, **padding},
        subject="Niños y familias: ¿qué hay de nuevo?",
        text=greek,
        html=HTML,
    )
    assert (tmp_path / name).stat().st_size > outbox_index_module.HEAD_BYTES
    [summary] = OutboxIndex(tmp_path).page(limit=1, offset=0).entries
    assert summary.subject == "Niños y familias: ¿qué hay de nuevo?"
    assert summary.recipient == "Ana Reader <reader@example.org>"
    assert summary.kind is MessageKind.CAMPAIGN, "List-Id is found after 10 KB of headers"

    message = read_outbox_message(tmp_path, name)
    assert message is not None
    assert "Καλημέρα".encode() not in (tmp_path / name).read_bytes()
    assert body_text(message, "plain").rstrip("\n") == greek
    assert body_text(message, "html").rstrip("\n") == HTML
    rows = dict(header_rows(message))
    assert rows["Subject"] == "Niños y familias: ¿qué hay de nuevo?"
    assert rows["List-Id"] == CAMPAIGN["List-Id"]


def test_a_missing_folder_is_an_empty_outbox(tmp_path: Path) -> None:
    page = OutboxIndex(tmp_path / "never-made").page(search="x", limit=10, offset=0)
    assert (page.entries, page.matching, page.stored) == ([], 0, 0)


RAW = (
    b"From: news@agency.example\r\nTo: ana@example.org\r\nSubject: Both encodings\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"zprOsc67zrfOvM6tz4HOsQ0KY2Fmw6k=\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"<p>Caf=C3=A9 cr=C3=A8me =3D one line cut by a soft line br=\r\neak</p>\r\n"
    b"--b--\r\n"
)


def test_base64_and_quoted_printable_parts_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "both.eml").write_bytes(RAW)
    message = read_outbox_message(tmp_path, "both.eml")
    assert message is not None
    assert body_text(message, "plain") == "Καλημέρα\ncafé"
    assert body_text(message, "html") == "<p>Café crème = one line cut by a soft line break</p>"

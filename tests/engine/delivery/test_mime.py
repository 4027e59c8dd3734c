"""The fast MIME builder: parse round trips, encoding and header-injection refusal."""

from __future__ import annotations

import base64
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.delivery.base import OutgoingMessage
from engine.delivery.mime import BOUNDARY, MAX_LINE, build_mime, encode_words, format_address

HEADERS = {
    "Message-ID": "<c7.s42@pinwheel.example.org>",
    "List-Unsubscribe": "<https://pinwheel.example.org/u/tok>, <mailto:unsub@example.org>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def make_message(**changes: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "delivery_id": 7,
        "to_address": "reader@example.org",
        "to_name": "Ana Reader",
        "from_address": "Pinwheel Newsletters <newsletters@pinwheel.example.org>",
        "subject": "Spotlight On: Foster Care Month",
        "html": "<p>Hello Ana</p>",
        "text": "Hello Ana",
        "headers": HEADERS,
    }
    values.update(changes)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(parsed: EmailMessage) -> tuple[str, str]:
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    return plain.get_content(), html.get_content()


def test_round_trip_keeps_headers_and_both_parts() -> None:
    when = datetime(2026, 5, 1, 13, 0, 5, tzinfo=UTC)
    parsed = parse(build_mime(make_message(), date=when))
    assert parsed["From"].addresses[0].addr_spec == "newsletters@pinwheel.example.org"
    assert parsed["From"].addresses[0].display_name == "Pinwheel Newsletters"
    assert parsed["To"].addresses[0].addr_spec == "reader@example.org"
    assert parsed["Subject"] == "Spotlight On: Foster Care Month"
    assert parsed["Date"].datetime == when
    assert parsed["MIME-Version"] == "1.0"
    for name, value in HEADERS.items():
        assert parsed[name] == value
    assert bodies(parsed) == ("Hello Ana", "<p>Hello Ana</p>")
    assert not parsed.defects


def test_non_ascii_names_and_subject_are_rfc2047_encoded() -> None:
    raw = build_mime(make_message(to_name="José Núñez", subject="Día del Niño ✨"))
    assert raw.isascii()
    assert b"=?utf-8?b?" in raw
    parsed = parse(raw)
    assert parsed["To"].addresses[0].display_name == "José Núñez"
    assert parsed["Subject"] == "Día del Niño ✨"


def test_ascii_name_with_specials_is_quoted() -> None:
    assert format_address('Doe, "J"', "j@example.org") == '"Doe, \\"J\\"" <j@example.org>'


def test_every_line_is_crlf_terminated_and_short() -> None:
    raw = build_mime(make_message(html="x" * 50_000, subject="é" * 400, to_name="ö" * 300))
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= MAX_LINE


def test_encoded_words_never_exceed_75_characters() -> None:
    for word in encode_words("🎈" * 100 + "abc").split("\r\n "):
        assert len(word) <= 75


def test_long_header_is_folded_at_commas() -> None:
    value = ", ".join(f"<https://example.org/{'u' * 300}/{n}>" for n in range(5))
    raw = build_mime(make_message(headers={"List-Unsubscribe": value}))
    assert max(len(line) for line in raw.split(b"\r\n")) <= MAX_LINE
    assert parse(raw)["List-Unsubscribe"] == value


@pytest.mark.parametrize(
    "changes",
    [
        {"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: victim@example.org"}},
        {"headers": {"X-Note": "a\nb"}},
        {"headers": {"X-Note": "a\rb"}},
        {"headers": {"Bad Name": "x"}},
        {"headers": {"Bad:Name": "x"}},
        {"headers": {"Subject": "duplicate"}},
        {"headers": {"content-type": "text/plain"}},
        {"subject": "Hello\r\nBcc: victim@example.org"},
        {"to_name": "Ana\nBcc: victim@example.org"},
        {"to_address": "reader@example.org\r\nBcc: victim@example.org"},
        {"to_address": "not an address"},
        {"from_address": "Pinwheel <n@example.org>\nBcc: x@example.org"},
    ],
)
def test_header_injection_and_malformed_headers_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_mime(make_message(**changes))


def test_non_ascii_custom_header_value_is_encoded() -> None:
    parsed = parse(build_mime(make_message(headers={"X-Campaign-Title": "Año nuevo"})))
    assert parsed["X-Campaign-Title"] == "Año nuevo"


def canonical(text: str) -> str:
    """Write every line break as CRLF, the form of text in MIME."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def body_lines(raw: bytes) -> list[bytes]:
    """Return the lines of the two bodies (between the part headers and the boundaries)."""
    lines: list[bytes] = []
    for part in raw.split(b"--" + BOUNDARY.encode())[1:-1]:
        lines.extend(part.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    return lines


def test_bodies_keep_exact_text_with_line_breaks_as_crlf() -> None:
    text = "line one\r\nline two\nline three\r\n\r\n.\n. dot lines\rFrom here\n"
    parsed = parse(build_mime(make_message(text=text, html="")))
    assert bodies(parsed) == (canonical(text), "")


def test_bodies_are_quoted_printable_in_short_lines() -> None:
    text = "Día de la familia. " * 50
    html = '<p style="margin:0">Niños &amp; familias =_ café</p>' * 400 + "trailing \t"
    raw = build_mime(make_message(text=text, html=html))
    parsed = parse(raw)
    assert [p["Content-Transfer-Encoding"] for p in parsed.iter_parts()] == [
        "quoted-printable",
        "quoted-printable",
    ]
    assert bodies(parsed) == (text, html)
    lines = body_lines(raw)
    assert max(len(line) for line in lines) <= 76
    assert not any(line.endswith((b" ", b"\t")) for line in lines)
    assert not any(b"=_" in line for line in lines)
    assert len(raw) < len(base64.b64encode((text + html).encode()))


def test_lines_that_smtp_or_mbox_could_alter_are_escaped() -> None:
    # The "." and "From " also fall at the start of soft-broken lines of a long HTML line.
    text = ".\n.net\nFrom the editor\nFromage\n" + ("x" * 75 + ".y" + "z" * 80) * 3
    html = ("From " + "w" * 74) * 20
    raw = build_mime(make_message(text=text, html=html))
    lines = body_lines(raw)
    assert not any(line.startswith((b".", b"From ")) for line in lines)
    assert max(len(line) for line in lines) <= 76
    assert b"\r\nFromage" in raw
    assert bodies(parse(raw)) == (canonical(text), html)


def test_runs_of_spaces_are_encoded_so_the_body_is_already_dkim_relaxed() -> None:
    # A hanging indent ("  friends") would make a DKIM signer rewrite the whole body.
    text = "- Youth with histories of abuse and\n  friends, impermanence" + "\n  " + "x" * 74
    raw = build_mime(make_message(text=text, html="<p>a    b</p>"))
    body = raw[raw.index(b"\r\n\r\n") + 4 :]
    assert b"  " not in body and b" \r\n" not in body
    assert max(len(line) for line in body_lines(raw)) <= 76
    assert bodies(parse(raw)) == (canonical(text), "<p>a    b</p>")


@pytest.mark.parametrize("filler", [67, 68, 70, 140])
def test_long_html_line_cut_into_rows_keeps_lines_short_and_text_exact(filler: int) -> None:
    # Rows of exactly one encoded line (76 characters) leave no room for the joining soft break.
    row = "<tr>" + "y" * filler + "</tr>"
    html = (row * 60 + ".x" + row + "From here" + row) * 2
    raw = build_mime(make_message(html=html))
    lines = body_lines(raw)
    assert max(len(line) for line in lines) <= 76
    assert not any(line.startswith((b".", b"From ")) for line in lines)
    assert bodies(parse(raw)) == ("Hello Ana", html)


def test_mostly_non_ascii_part_is_sent_as_base64() -> None:
    text = "Κάθε παιδί χρειάζεται μια οικογένεια. " * 50
    parsed = parse(build_mime(make_message(text=text, html="<p>Hello</p>")))
    plain, html = parsed.iter_parts()
    assert plain["Content-Transfer-Encoding"] == "base64"
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert bodies(parsed) == (text, "<p>Hello</p>")


# Lone surrogates cannot be encoded as UTF-8 by any mailer.
unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
header_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=200
)


@settings(max_examples=150, deadline=None)
@given(subject=header_text, name=header_text, text=unicode_text, html=unicode_text)
def test_round_trip_of_arbitrary_unicode(subject: str, name: str, text: str, html: str) -> None:
    message = make_message(subject=subject, to_name=name, text=text, html=html)
    raw = build_mime(message)
    assert max(len(line) for line in raw.split(b"\r\n")) <= MAX_LINE
    parsed = parse(raw)
    assert str(parsed["Subject"]) == subject
    assert parsed["To"].addresses[0].addr_spec == "reader@example.org"
    # Display names are phrases; the builder collapses their whitespace as readers would.
    # CPython's phrase parser also keeps the folding space between two encoded words of a
    # long name, which RFC 2047 section 6.2 (and mail clients) drop, so compare without it.
    shown = parsed["To"].addresses[0].display_name
    assert shown.split() == name.split() or "".join(shown.split()) == "".join(name.split())
    assert bodies(parsed) == (canonical(text), canonical(html))
    assert not parsed.defects
    assert not any(b"=_" in line for line in body_lines(raw))

"""DKIM signing: dkimpy's verifier accepts what the signer writes, and the SMTP path signs."""

from __future__ import annotations

import email
import email.policy
import gc
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from engine.config import Settings
from engine.delivery import dkim as signing
from engine.delivery.base import OutgoingMessage, ResultStatus
from engine.delivery.dkim import (
    DkimSigner,
    RawMessages,
    _relaxed_value,
    relaxed_body,
    relaxed_body_hash,
    signer_from_settings,
)
from engine.delivery.mime import build_mime
from engine.delivery.outbox import OutboxBackend
from engine.delivery.smtp import SmtpBackend
from engine.dkim_keys import DkimKey, generate_key
from tests.fakes.smtp_sink import SmtpSink

DOMAIN = "pinwheel.example.org"
SENDER = f"Pinwheel Newsletters <newsletters@{DOMAIN}>"
RECEIVED = b"Received: from relay.example.net by mx.example.com; Mon, 2 Jun 2025 10:00:00 +0000\r\n"


@pytest.fixture(scope="module")
def rsa_key() -> DkimKey:
    return generate_key("rsa")


@pytest.fixture(scope="module")
def ed25519_key() -> DkimKey:
    return generate_key("ed25519")


def dns_for(key: DkimKey, selector: str = "s1", domain: str = DOMAIN) -> Callable[..., bytes]:
    """Return a dkimpy ``dnsfunc`` that publishes ``key`` under ``selector``."""

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        wanted = f"{selector}._domainkey.{domain}."
        return key.dns_record().encode() if name.decode() == wanted else b""

    return lookup


def message(n: int = 1, **changes: object) -> OutgoingMessage:
    url = f"https://{DOMAIN}/unsubscribe/token-{n}"
    values: dict[str, object] = {
        "delivery_id": n,
        "to_address": f"reader{n}@example.org",
        "to_name": f"Réader {n}",
        "from_address": SENDER,
        "subject": "Spotlight On: Kinship Care Month ✨",
        "html": f"<p>Hello   reader {n},</p>\n<p>\tKinship care keeps families together.</p>  \n",
        "text": f"Hello reader {n},  \n\nKinship care keeps children with family.\t\n\n\n",
        "headers": {
            "Message-ID": f"<c12.s{n}@{DOMAIN}>",
            "List-Unsubscribe": f"<{url}>, <mailto:unsubscribe@{DOMAIN}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f'"Kinship care" <kinship-care.list-id.{DOMAIN}>',
            "Feedback-ID": f"12:kinship-care:spotlight:{DOMAIN}",
        },
    }
    return OutgoingMessage(**{**values, **changes})  # type: ignore[arg-type]


def signature_tags(raw: bytes) -> dict[str, str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = re.sub(r"\s+", "", str(parsed["DKIM-Signature"]))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_a_built_message_verifies_also_after_a_received_header(rsa_key: DkimKey) -> None:
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(message()))
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert dkim.verify(signed, dnsfunc=dns_for(rsa_key))
    assert dkim.verify(RECEIVED + signed, dnsfunc=dns_for(rsa_key))
    own_lines = signed[: signed.index(b"\r\nFrom: ")].split(b"\r\n")
    assert max(len(line) for line in own_lines) <= 78


SIGNED = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "feedback-id",
]


def test_h_covers_the_unsubscribe_headers_and_guards_against_added_fields(
    rsa_key: DkimKey,
) -> None:
    tags = signature_tags(DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(message())))
    guarded = ["reply-to", "cc", "sender", "in-reply-to", "references"]
    assert tags["h"].replace(" ", "").split(":") == SIGNED + SIGNED + guarded
    assert (tags["d"], tags["s"], tags["c"]) == (DOMAIN, "s1", "relaxed/relaxed")


@pytest.mark.parametrize(
    "added",
    [
        b"List-Unsubscribe: <https://evil.example/u>\r\n",
        b"Reply-To: someone@evil.example\r\n",
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
    ],
)
def test_a_field_added_on_the_way_breaks_the_signature(rsa_key: DkimKey, added: bytes) -> None:
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(message()))
    end = signed.index(b"\r\nFrom: ") + 2
    assert dkim.verify(signed, dnsfunc=dns_for(rsa_key))
    assert not dkim.verify(signed[:end] + added + signed[end:], dnsfunc=dns_for(rsa_key))


def test_a_personalized_campaign_message_verifies_with_its_list_headers_signed(
    rsa_key: DkimKey,
) -> None:
    campaign = FrozenCampaign(
        id=12,
        issue_slug="kinship-care-month",
        subject="Spotlight On: Kinship Care Month",
        from_address=SENDER,
        html='<p>Dear %%first_name|reader%%,</p>\n<p><a href="%%unsubscribe_url%%">Leave</a></p>\n',
        text="Dear %%first_name|reader%%,\n\nUnsubscribe: %%unsubscribe_url%%\n",
        publication="spotlight",
        topic_slug="kinship-care",
        topic_name="Kinship care",
    )
    settings = Settings(SECRET_KEY="s" * 32, BASE_URL="https://news.example.org")
    outgoing = CampaignMessages(settings, campaign).message(
        Recipient(7, 42, "ana.reader@example.com", "Ana Reader")
    )
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(outgoing))
    assert dkim.verify(RECEIVED + signed, dnsfunc=dns_for(rsa_key))
    present = {name.lower() for name in outgoing.headers}
    expected = {"list-unsubscribe", "list-unsubscribe-post", "message-id"}
    expected |= present & {"list-id", "feedback-id"}
    assert expected <= set(signature_tags(signed)["h"].split(":"))


def test_absent_headers_are_signed_as_empty_so_none_can_be_added(rsa_key: DkimKey) -> None:
    plain = message(headers={"Message-ID": f"<notice.1@{DOMAIN}>"})
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(plain))
    names = signature_tags(signed)["h"].replace(" ", "").split(":")
    assert names.count("list-unsubscribe") == 1  # absent: listed once, as empty
    assert names.count("message-id") == 2  # present: once more than it occurs
    assert dkim.verify(signed, dnsfunc=dns_for(rsa_key))
    end = signed.index(b"\r\nFrom: ") + 2
    added = b"List-Unsubscribe: <https://evil.example/u>\r\n"
    assert not dkim.verify(signed[:end] + added + signed[end:], dnsfunc=dns_for(rsa_key))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw.replace(b"Kinship", b"Kinsh1p", 1),
        lambda raw: raw.replace(b"token-1>", b"token-2>", 1),
        lambda raw: raw.replace(b"Subject: ", b"Subject: Re: ", 1),
        lambda raw: raw.replace(b"\r\n\r\n", f"\r\nFrom: other@{DOMAIN}\r\n\r\n".encode(), 1),
        lambda raw: raw.replace(b"\r\n\r\n", b"\r\nSubject: Win a prize\r\n\r\n", 1),
    ],
    ids=["body", "list-unsubscribe", "subject", "added-from", "added-subject"],
)
def test_a_changed_message_fails_verification(
    rsa_key: DkimKey, tamper: Callable[[bytes], bytes]
) -> None:
    raw = build_mime(message(text="Kinship care keeps children with family.\n"))
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(raw)
    assert dkim.verify(signed, dnsfunc=dns_for(rsa_key))
    changed = tamper(signed)
    assert changed != signed
    assert not dkim.verify(changed, dnsfunc=dns_for(rsa_key))


def test_relaxed_canonicalization_tolerates_refolding_and_trailing_space(
    rsa_key: DkimKey,
) -> None:
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(message()))
    # What relays may do: refold a header, pad whitespace, add blank lines at the end.
    rewrapped = signed.replace(b"List-Unsubscribe: <", b"List-Unsubscribe:\r\n \t <", 1)
    assert dkim.verify(rewrapped + b"\r\n\r\n", dnsfunc=dns_for(rsa_key))


def test_ed25519_signs_and_verifies(ed25519_key: DkimKey) -> None:
    signed = DkimSigner(ed25519_key, "ed1", DOMAIN).sign(build_mime(message()))
    assert signature_tags(signed)["a"] == "ed25519-sha256"
    assert dkim.verify(RECEIVED + signed, dnsfunc=dns_for(ed25519_key, "ed1"))
    assert not dkim.verify(
        signed.replace(b"Kinship", b"Kinsh1p", 1), dnsfunc=dns_for(ed25519_key, "ed1")
    )


def test_the_signature_uses_the_given_time(rsa_key: DkimKey) -> None:
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(build_mime(message()), timestamp=1_700_000_000)
    assert signature_tags(signed)["t"] == "1700000000"


def test_a_message_without_a_header_end_is_refused(rsa_key: DkimKey) -> None:
    with pytest.raises(ValueError, match="blank line"):
        DkimSigner(rsa_key, "s1", DOMAIN).sign(b"From: a@example.org\r\n")


CRLF_TEXT = st.lists(st.text(alphabet=st.sampled_from(" \ta=.-é<>x"), max_size=12), max_size=8).map(
    lambda lines: "\r\n".join(lines).encode()
)


@given(CRLF_TEXT, st.sampled_from([b"", b"\r\n", b"\r\n\r\n", b" \r\n", b"\r\n \r\n", b"  "]))
def test_relaxed_body_matches_dkimpy(body: bytes, ending: bytes) -> None:
    expected = Relaxed.canonicalize_body(body + ending)
    assert relaxed_body(body + ending) == expected
    header = b"Subject: x\r\n\r\n"
    digest = relaxed_body_hash(header + body + ending, len(header))
    assert digest == hashlib.sha256(expected).digest()


@given(st.lists(st.text(alphabet=st.sampled_from(" \ta=<>x,@"), max_size=10), max_size=4))
def test_relaxed_header_value_matches_dkimpy(pieces: list[str]) -> None:
    value = "\r\n ".join(pieces).encode()
    expected = Relaxed.canonicalize_headers([(b"X", value)])[0][1]
    assert _relaxed_value(value) + b"\r\n" == expected


# The signing thread hashes ``build_mime``'s bodies as they stand (``relaxed_body=True``): the
# builder writes a space before another space, or before a line end, as "=20". These pin that.
# No tabs: a body with one is hashed the careful way whatever the caller vouches.
BODY_TEXT = st.lists(
    st.sampled_from([" ", "  ", "\n", "\r\n", ".", "From ", "a", "é", "✨", "</tr>"]),
    max_size=60,
).map(lambda pieces: "".join(pieces) * 3)


@settings(max_examples=200, deadline=None)
@given(text=BODY_TEXT, html=BODY_TEXT)
def test_built_bodies_are_relaxed_as_the_signing_thread_assumes(text: str, html: str) -> None:
    raw = build_mime(message(text=text, html=html))
    start = raw.index(b"\r\n\r\n") + 4
    assert b"\t" not in raw[start:]
    expected = hashlib.sha256(Relaxed.canonicalize_body(raw[start:])).digest()
    assert relaxed_body_hash(raw, start, relaxed=True) == expected
    assert relaxed_body_hash(raw, start) == expected


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("  - one  \n    - two \n   \n.\nFrom here  \n", "<p>a  b </p>\n<p> </p>  "),
        ("x" * 5000 + "  y \n", "<tr><td>cell  with   runs </td></tr>" * 400),
        ("trailing run" + " " * 80 + "\n" + " " * 200, "line " * 2000),
        ("Ελληνικά  κείμενο   " * 50, "<p>\u65e5\u672c\u8a9e  </p>" * 100),
    ],
    ids=["indents", "long-lines", "space-runs", "base64"],
)
def test_built_bodies_of_every_kind_verify_when_hashed_as_they_stand(
    rsa_key: DkimKey, text: str, html: str
) -> None:
    raw = build_mime(message(text=text, html=html))
    start = raw.index(b"\r\n\r\n") + 4
    assert b"\t" not in raw[start:]
    expected = hashlib.sha256(Relaxed.canonicalize_body(raw[start:])).digest()
    assert relaxed_body_hash(raw, start, relaxed=True) == expected
    signed = DkimSigner(rsa_key, "s1", DOMAIN).sign(raw, relaxed_body=True)
    assert dkim.verify(RECEIVED + signed, dnsfunc=dns_for(rsa_key))


def test_folded_repeated_and_spaced_header_fields_verify(rsa_key: DkimKey) -> None:
    raw = (
        b"From: Pinwheel <newsletters@pinwheel.example.org>\r\n"
        b"To: first@example.org\r\n"
        b"Subject:   Kinship\r\n\t  care   month \r\n"
        b"Date: Mon, 2 Jun 2025 10:00:00 +0000\r\n"
        b"X-Unsigned: whatever\r\n"
        b"tO:second@example.org\r\n"
        b"List-Unsubscribe: <https://pinwheel.example.org/u/1>,\r\n <mailto:u@example.org>\r\n"
        b"\r\n"
        b"Hello  reader, \r\n\r\n  indented\t line\r\n\r\n\r\n"
    )
    signer = DkimSigner(rsa_key, "s1", DOMAIN)
    for _ in range(2):  # the second time from the cached canonical lines
        signed = signer.sign(raw)
        assert dkim.verify(RECEIVED + signed, dnsfunc=dns_for(rsa_key))
    names = signature_tags(signed)["h"].split(":")
    assert names.count("to") == 2  # both present, then once more as a guard
    assert names.count("subject") == 2
    moved = signed.replace(b"To: first@", b"To: third@", 1)
    assert not dkim.verify(moved, dnsfunc=dns_for(rsa_key))


def test_the_canonical_line_cache_starts_over_when_full(
    rsa_key: DkimKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signing, "_CACHED_LINES", 4)
    signer = DkimSigner(rsa_key, "s1", DOMAIN)
    for n in range(1, 6):
        signed = signer.sign(build_mime(message(n)), relaxed_body=True)
        assert dkim.verify(signed, dnsfunc=dns_for(rsa_key))
    assert len(signer._lines) <= 4


# --- the key from the settings, the SMTP and outbox backends ----------------------------------


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: DkimKey) -> Path:
    path = tmp_path / "dkim.pem"
    path.write_bytes(rsa_key.private_pem())
    return path


def signed_settings(key_file: Path, **values: str) -> Settings:
    return Settings(DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(key_file), **values)


def test_settings_give_one_cached_signer_on_the_senders_domain(key_file: Path) -> None:
    signer = signer_from_settings(signed_settings(key_file))
    assert signer is not None
    assert signer.domain == DOMAIN
    assert signer_from_settings(signed_settings(key_file)) is signer
    other = signer_from_settings(signed_settings(key_file, DKIM_DOMAIN="news.example.org"))
    assert other is not None
    assert other.domain == "news.example.org"
    assert signer_from_settings(Settings()) is None


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def test_smtp_backend_sends_signed_messages_that_verify(
    sink: SmtpSink, key_file: Path, rsa_key: DkimKey
) -> None:
    backend = SmtpBackend(signed_settings(key_file, SMTP_URL=sink.url()))
    broken = message(3, headers={"X-Bad": "line\r\nbreak"})
    results = backend.send_batch([message(n) for n in range(1, 3)] + [broken, message(4)])
    results += backend.send_batch([message(5)])
    backend.close()
    assert [r.status for r in results] == [
        ResultStatus.ACCEPTED,
        ResultStatus.ACCEPTED,
        ResultStatus.FAILED_PERMANENT,
        ResultStatus.ACCEPTED,
        ResultStatus.ACCEPTED,
    ]
    assert [m.recipients for m in sink.messages] == [
        (f"reader{n}@example.org",) for n in (1, 2, 4, 5)
    ]
    for received in sink.messages:
        assert received.data.startswith(b"DKIM-Signature: ")
        assert dkim.verify(RECEIVED + received.data, dnsfunc=dns_for(rsa_key))
    assert "list-unsubscribe-post" in signature_tags(sink.messages[0].data)["h"]


def test_a_batch_cut_short_leaves_no_signing_work_behind(key_file: Path) -> None:
    raw_messages = RawMessages(signer_from_settings(signed_settings(key_file)))
    batch = raw_messages.for_batch([message(n) for n in range(20)])
    first = next(batch)()
    assert first.startswith(b"DKIM-Signature: ")
    batch.close()
    raw_messages.close()
    # Closing waits for the signing thread to end: nothing signed ahead is left running.
    assert not [t for t in threading.enumerate() if t.name.startswith("dkim")]
    # Another batch starts a new signing thread.
    assert next(raw_messages.for_batch([message(1)]))().startswith(b"DKIM-Signature: ")
    raw_messages.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("dkim")]


def test_smtp_backend_without_dkim_sends_unsigned(sink: SmtpSink) -> None:
    backend = SmtpBackend(Settings(SMTP_URL=sink.url()))
    assert backend.send_batch([message()])[0].status == ResultStatus.ACCEPTED
    backend.close()
    assert b"DKIM-Signature" not in sink.messages[0].data


def test_outbox_files_carry_the_signature(tmp_path: Path, key_file: Path, rsa_key: DkimKey) -> None:
    signer = signer_from_settings(signed_settings(key_file))
    backend = OutboxBackend(tmp_path / "outbox", signer=signer)
    assert backend.send_batch([message()])[0].status == ResultStatus.ACCEPTED
    (written,) = (tmp_path / "outbox").glob("*.eml")
    assert dkim.verify(written.read_bytes(), dnsfunc=dns_for(rsa_key))


def test_a_message_that_cannot_be_signed_fails_alone(
    sink: SmtpSink, key_file: Path, rsa_key: DkimKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign = DkimSigner.sign

    def failing(self: DkimSigner, raw: bytes, **options: bool) -> bytes:
        if b"<reader2@example.org>" in raw:
            raise RuntimeError("no signature today")
        return sign(self, raw, **options)

    monkeypatch.setattr(DkimSigner, "sign", failing)
    backend = SmtpBackend(signed_settings(key_file, SMTP_URL=sink.url()))
    results = backend.send_batch([message(n) for n in range(1, 4)])
    backend.close()
    assert [r.status for r in results] == [
        ResultStatus.ACCEPTED,
        ResultStatus.FAILED_PERMANENT,
        ResultStatus.ACCEPTED,
    ]
    assert "could not be signed: no signature today" in (results[1].error or "")
    assert [m.recipients for m in sink.messages] == [
        ("reader1@example.org",),
        ("reader3@example.org",),
    ]
    for received in sink.messages:
        assert dkim.verify(received.data, dnsfunc=dns_for(rsa_key))


def test_a_batch_cut_short_leaves_nothing_for_the_next_batch(key_file: Path) -> None:
    raw_messages = RawMessages(signer_from_settings(signed_settings(key_file)))
    cut = raw_messages.for_batch([message(n) for n in range(1, 30)])
    assert b"reader1@" in next(cut)()
    cut.close()
    batch = raw_messages.for_batch([message(n) for n in range(100, 110)])
    received = [raw() for raw in batch]
    raw_messages.close()
    for n, raw in zip(range(100, 110), received, strict=True):
        assert raw.startswith(b"DKIM-Signature: ")
        assert f"reader{n}@example.org".encode() in raw


def test_raw_messages_dropped_without_close_end_their_thread(key_file: Path) -> None:
    raw_messages = RawMessages(signer_from_settings(signed_settings(key_file)))
    assert next(raw_messages.for_batch([message()]))().startswith(b"DKIM-Signature: ")
    (thread,) = [t for t in threading.enumerate() if t.name.startswith("dkim")]
    del raw_messages
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()

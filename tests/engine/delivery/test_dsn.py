from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery.dsn import (
    DsnError,
    MessageIds,
    make_message_id,
    parse_dsn,
    parse_message_id,
)
from engine.delivery.events import BounceType, EventKind

SECRET = "test-secret-key"
DOMAIN = "pinwheel.example.org"
MESSAGE_ID = make_message_id(42, 1007, SECRET, DOMAIN)


def report(status_part: str, original: str, *, report_type: str = "delivery-status") -> bytes:
    """Wrap the parts the way Postfix's bounce(8) lays a notification out."""
    return f"""\
Return-Path: <>
Received: by mx1.example.net (Postfix) id 4Xk2; Sat, 21 Nov 2026 15:00:03 -0500 (EST)
Date: Sat, 21 Nov 2026 15:00:03 -0500 (EST)
From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@pinwheel.example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type={report_type};
\tboundary="4Xk2.1795000003/mx1.example.net"
Message-Id: <20261121200003.4Xk2@mx1.example.net>

This is a MIME-encapsulated message.

--4Xk2.1795000003/mx1.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4Xk2.1795000003/mx1.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.net
X-Postfix-Queue-ID: 4Xk2
X-Postfix-Sender: rfc822; bounces@pinwheel.example.org
Arrival-Date: Sat, 21 Nov 2026 15:00:01 -0500 (EST)

{status_part}
--4Xk2.1795000003/mx1.example.net
{original}
--4Xk2.1795000003/mx1.example.net--
""".replace("\n", "\r\n").encode()


def returned_message(message_id: str = MESSAGE_ID) -> str:
    return f"""\
Content-Description: Undelivered Message
Content-Type: message/rfc822

From: Pinwheel Newsletters <newsletters@pinwheel.example.org>
To: jane.doe@example.com
Subject: November is National Adoption Month
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Every child deserves a family.
"""


def returned_headers(message_id: str = MESSAGE_ID) -> str:
    return f"""\
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Pinwheel Newsletters <newsletters@pinwheel.example.org>
To: jane.doe@example.com
Subject: November is National Adoption Month
Message-ID: {message_id}
"""


HARD_BOUNCE = """\
Final-Recipient: rfc822; jane.doe@example.com
Original-Recipient: rfc822;Jane.Doe@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <jane.doe@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table
"""

DELAYED = """\
Final-Recipient: rfc822; jane.doe@example.com
Action: delayed
Status: 4.2.2
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 452 4.2.2 <jane.doe@example.com>: Mailbox full
Last-Attempt-Date: Sat, 21 Nov 2026 19:00:00 -0500
Will-Retry-Until: Sat, 26 Nov 2026 15:00:01 -0500 (EST)
"""

MULTI = """\
Final-Recipient: rfc822; gone@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 No such user

Final-Recipient: rfc822; expired@example.net
Action: failed
Status: 4.4.7
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect timed out

Final-Recipient: rfc822; fine@example.org
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; legacy@example.org
Action: relayed
Status: 2.0.0
"""


def test_postfix_hard_bounce() -> None:
    [event] = parse_dsn(report(HARD_BOUNCE, returned_message()))
    assert event.kind is EventKind.BOUNCE
    assert event.bounce_type is BounceType.HARD
    assert event.email == "jane.doe@example.com"
    assert (event.campaign_id, event.subscriber_id) == (42, 1007)
    assert event.provider_message_id == MESSAGE_ID
    assert event.reason == (
        "smtp; 550 5.1.1 <jane.doe@example.com>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert event.occurred_at == datetime(2026, 11, 21, 20, 0, 3, tzinfo=UTC)
    assert event.raw["Status"] == "5.1.1"


def test_delayed_soft_bounce_with_headers_only() -> None:
    [event] = parse_dsn(report(DELAYED, returned_headers()))
    assert event.kind is EventKind.DEFERRED
    assert event.bounce_type is BounceType.SOFT
    assert (event.campaign_id, event.subscriber_id) == (42, 1007)
    assert event.reason == "smtp; 452 4.2.2 <jane.doe@example.com>: Mailbox full"
    assert event.occurred_at == datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def test_multi_recipient_report() -> None:
    events = parse_dsn(report(MULTI, returned_headers()))
    assert [(e.email, e.kind, e.bounce_type) for e in events] == [
        ("gone@example.com", EventKind.BOUNCE, BounceType.HARD),
        ("expired@example.net", EventKind.BOUNCE, BounceType.SOFT),
        ("fine@example.org", EventKind.DELIVERED, None),
    ]
    assert len({e.provider_event_id for e in events}) == 3
    assert all(e.campaign_id == 42 for e in events)


def test_same_dsn_twice_has_the_same_event_ids() -> None:
    first = parse_dsn(report(HARD_BOUNCE, returned_message()))
    again = parse_dsn(report(HARD_BOUNCE, returned_headers()))
    assert first[0].provider_event_id == again[0].provider_event_id
    other = parse_dsn(report(HARD_BOUNCE, returned_message(make_message_id(43, 1, SECRET, DOMAIN))))
    assert other[0].provider_event_id != first[0].provider_event_id


def test_foreign_or_forged_message_id_leaves_the_delivery_unknown() -> None:
    forged = "<c42.s1007.0000000000000000@pinwheel.example.org>"
    [unchecked] = parse_dsn(report(HARD_BOUNCE, returned_message(forged)))
    assert unchecked.campaign_id == 42
    [checked] = parse_dsn(report(HARD_BOUNCE, returned_message(forged)), secret=SECRET)
    assert checked.campaign_id is None and checked.subscriber_id is None
    [genuine] = parse_dsn(report(HARD_BOUNCE, returned_message()), secret=SECRET)
    assert genuine.subscriber_id == 1007
    [foreign] = parse_dsn(report(HARD_BOUNCE, returned_message("<abc@elsewhere.example>")))
    assert foreign.campaign_id is None and foreign.provider_message_id == "<abc@elsewhere.example>"


def test_global_delivery_status_report() -> None:
    raw = (
        report(HARD_BOUNCE, returned_message(), report_type="global-delivery-status")
        .replace(b"message/delivery-status", b"message/global-delivery-status")
        .replace(
            b"Original-Recipient: rfc822;Jane.Doe", "Original-Recipient: utf-8;Jan\u00e9".encode()
        )
    )
    [event] = parse_dsn(raw)
    assert event.email == "jan\u00e9@example.com"
    assert event.bounce_type is BounceType.HARD and event.campaign_id == 42


def test_report_without_the_original_message() -> None:
    raw = report(HARD_BOUNCE, "Content-Type: text/plain\n\nnothing returned\n")
    [event] = parse_dsn(raw)
    assert event.campaign_id is None and event.provider_message_id is None
    assert event.provider_event_id == parse_dsn(raw)[0].provider_event_id


PLAIN = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (PLAIN, "content type is text/plain"),
        (b"", "content type is text/plain"),
        (b"\x00\xff garbage", "not a delivery status notification"),
        (report(HARD_BOUNCE, returned_message(), report_type="feedback-report"), "report-type"),
        (report("Reporting-MTA: dns; x\n", returned_message()), "recipient"),
        (report("Action: failed\nStatus: 5.1.1\n", returned_message()), "recipient"),
    ],
)
def test_not_a_dsn_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(DsnError, match=message):
        parse_dsn(raw)


def test_report_without_a_status_part_is_refused() -> None:
    raw = report(HARD_BOUNCE, returned_message()).replace(b"message/delivery-status", b"text/plain")
    with pytest.raises(DsnError, match="no message/delivery-status part"):
        parse_dsn(raw)


SAMPLE = report(MULTI, returned_message())


@given(st.binary(max_size=400) | st.integers(0, len(SAMPLE)).map(lambda cut: SAMPLE[:cut]))
def test_any_bytes_give_events_or_a_dsn_error(raw: bytes) -> None:
    try:
        events = parse_dsn(raw)
    except DsnError:
        return
    assert all(event.occurred_at.tzinfo is not None for event in events)


def test_events_are_hashable_without_their_raw_fields() -> None:
    events = parse_dsn(report(MULTI, returned_headers()))
    assert len(set(events)) == 3


# Message-IDs


def test_message_id_shape() -> None:
    assert MESSAGE_ID.startswith("<c42.s1007.") and MESSAGE_ID.endswith("@pinwheel.example.org>")
    assert make_message_id(42, 1007, SECRET, DOMAIN) == MESSAGE_ID
    assert make_message_id(42, 1007, "another-secret", DOMAIN) != MESSAGE_ID


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_message_id_round_trip(campaign_id: int, subscriber_id: int) -> None:
    value = make_message_id(campaign_id, subscriber_id, SECRET, DOMAIN)
    assert parse_message_id(value) == (campaign_id, subscriber_id)
    assert parse_message_id(value, secret=SECRET) == (campaign_id, subscriber_id)
    assert parse_message_id(value, secret="wrong") is None


@pytest.mark.parametrize(
    "value",
    [None, "", "<abc@example.org>", "<c1.s2@example.org>", "<cx.s2.0123456789abcdef@d>"],
)
def test_other_message_ids_are_not_ours(value: str | None) -> None:
    assert parse_message_id(value) is None


def test_tampered_message_id_fails_the_check() -> None:
    tampered = MESSAGE_ID.replace("s1007", "s1008")
    assert parse_message_id(tampered) == (42, 1008)
    assert parse_message_id(tampered, secret=SECRET) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 1, SECRET, DOMAIN), "negative"),
        ((1, -1, SECRET, DOMAIN), "negative"),
        ((1, 1, "", DOMAIN), "secret"),
        ((1, 1, SECRET, "bad domain>"), "domain"),
    ],
)
def test_make_message_id_refuses_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_message_id(*args)


def test_a_minter_with_a_bad_domain_fails_only_when_used() -> None:
    minter = MessageIds(1, SECRET, "bücher.example")
    with pytest.raises(ValueError, match="domain"):
        minter.for_subscriber(1)

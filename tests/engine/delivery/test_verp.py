"""Per-delivery return paths: the signed tag, and reports matched by the address they came to."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery.dsn import make_message_id, parse_dsn
from engine.delivery.verp import MAX_LOCAL_PART, ReturnPaths, parse_return_path

SECRET = "verp-secret-for-tests"
paths = ReturnPaths("bounces@agency.example", SECRET)


def test_round_trip() -> None:
    address = paths.for_delivery(123)
    assert re.fullmatch(r"bounces\+123-[a-z2-7]{16}@agency\.example", address)
    assert parse_return_path(address, secret=SECRET) == 123
    assert parse_return_path(f"<{address}>", secret=SECRET) == 123


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_every_delivery_id_round_trips_within_64_characters(delivery_id: int) -> None:
    address = paths.for_delivery(delivery_id)
    local = address.rpartition("@")[0]
    assert len(local) <= MAX_LOCAL_PART
    assert local == local.lower()
    assert parse_return_path(address, secret=SECRET) == delivery_id


def test_the_longest_mailbox_the_settings_allow_still_fits() -> None:
    longest = ReturnPaths(f"{'b' * 27}@agency.example", SECRET)
    assert len(longest.for_delivery(2**63 - 1).rpartition("@")[0]) == MAX_LOCAL_PART
    with pytest.raises(ValueError, match="over 64"):
        ReturnPaths(f"{'b' * 28}@agency.example", SECRET).for_delivery(2**63 - 1)


def test_servers_that_change_the_case_do_not_break_it() -> None:
    address = paths.for_delivery(42)
    assert parse_return_path(address.upper(), secret=SECRET) == 42
    assert parse_return_path(address.title(), secret=SECRET) == 42


def test_a_tampered_or_forged_tag_names_no_delivery() -> None:
    address = paths.for_delivery(42)
    signature = address.split("-", 1)[1].split("@")[0]
    assert parse_return_path(address.replace("+42-", "+43-"), secret=SECRET) is None
    flipped = signature[:-1] + ("a" if signature[-1] != "a" else "b")
    assert parse_return_path(address.replace(signature, flipped), secret=SECRET) is None
    assert parse_return_path(address, secret="another-secret") is None
    assert parse_return_path(address, secret="") is None
    for other in ("bounces@agency.example", "bounces+42@agency.example", "", None, "junk"):
        assert parse_return_path(other, secret=SECRET) is None


def test_the_mailbox_and_domain_may_change_without_losing_old_bounces() -> None:
    old = ReturnPaths("returns@old.example", SECRET).for_delivery(7)
    assert parse_return_path(old, secret=SECRET) == 7


def test_unusable_inputs_are_refused() -> None:
    for bad in ("bounces", "bounces+x@agency.example", "@agency.example"):
        with pytest.raises(ValueError):
            ReturnPaths(bad, SECRET)
    with pytest.raises(ValueError, match="secret"):
        ReturnPaths("bounces@agency.example", "")
    for delivery_id in (0, -1):
        with pytest.raises(ValueError):
            paths.for_delivery(delivery_id)


def _report(to: str, *, headers: str = "", recipient_lines: str = "", original: str = "") -> bytes:
    original_part = (
        f"--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: {original}\n\n" if original else ""
    )
    return f"""\
From: MAILER-DAEMON@mx.example.net
To: {to}
{headers}Subject: Undelivered Mail Returned to Sender
Message-Id: <report.1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

{recipient_lines}Action: failed
Status: 5.1.1

{original_part}--B--
""".replace("\n", "\r\n").encode()


def test_a_report_to_the_return_path_names_its_delivery_without_the_body() -> None:
    [event] = parse_dsn(_report(paths.for_delivery(9)), secret=SECRET)
    assert (event.delivery_id, event.campaign_id, event.subscriber_id) == (9, None, None)
    assert event.email == "" and event.bounce_type == "hard"


def test_the_envelope_headers_come_before_to() -> None:
    headers = f"Delivered-To: {paths.for_delivery(11)}\n"
    raw = _report("Bounce handler <bounces@agency.example>", headers=headers)
    assert [e.delivery_id for e in parse_dsn(raw, secret=SECRET)] == [11]
    raw = _report(paths.for_delivery(12), headers=f"X-Original-To: {paths.for_delivery(11)}\n")
    assert [e.delivery_id for e in parse_dsn(raw, secret=SECRET)] == [11]


def test_the_return_path_wins_over_the_quoted_message_id() -> None:
    message_id = make_message_id(3, 4, SECRET, "agency.example")
    raw = _report(
        paths.for_delivery(9),
        recipient_lines="Final-Recipient: rfc822; alias@elsewhere.example\n",
        original=message_id,
    )
    [event] = parse_dsn(raw, secret=SECRET)
    assert (event.delivery_id, event.campaign_id, event.subscriber_id) == (9, None, None)
    assert event.email == "alias@elsewhere.example"
    assert event.provider_message_id == message_id


def test_a_tampered_return_path_falls_back_to_the_message_id() -> None:
    message_id = make_message_id(3, 4, SECRET, "agency.example")
    tampered = paths.for_delivery(9).replace("+9-", "+10-")
    raw = _report(
        tampered, recipient_lines="Final-Recipient: rfc822; r@example.org\n", original=message_id
    )
    [event] = parse_dsn(raw, secret=SECRET)
    assert (event.delivery_id, event.campaign_id, event.subscriber_id) == (None, 3, 4)


def test_a_forged_return_path_without_a_recipient_is_not_a_usable_report() -> None:
    from engine.delivery.dsn import DsnError

    with pytest.raises(DsnError, match="names no recipient"):
        parse_dsn(_report(paths.for_delivery(9)), secret="another-secret")


def test_reports_about_different_deliveries_are_different_events() -> None:
    [first] = parse_dsn(_report(paths.for_delivery(1)), secret=SECRET)
    [second] = parse_dsn(_report(paths.for_delivery(2)), secret=SECRET)
    assert first.provider_event_id != second.provider_event_id

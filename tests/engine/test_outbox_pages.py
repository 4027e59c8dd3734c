"""The staff outbox viewer on real messages: a campaign send, a test send, a confirmation."""

from __future__ import annotations

import email
import email.policy
import html
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.sending import proofs
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, start_campaign
from engine.config import Settings
from engine.db import Database
from engine.delivery.outbox import OutboxBackend
from subscribers.emails import confirmation_message
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import login, make_subscriber, make_topic, make_user
from tests.html_validator import html_errors

ROW = re.compile(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def outbox_settings(app: Flask, settings: Settings) -> Settings:
    configured = settings.with_overrides(MAIL_BACKEND="outbox")
    app.extensions["pinwheel.settings"] = configured
    return configured


@pytest.fixture
def written(outbox_settings: Settings) -> Callable[[Callable[[OutboxBackend], object]], Path]:
    """Return a function that writes through the outbox backend and dates the new file."""
    folder = outbox_settings.outbox_path
    backend = OutboxBackend(folder)
    seconds = iter(range(1_800_000_000, 1_900_000_000, 60))

    def write(send: Callable[[OutboxBackend], object]) -> Path:
        before = set(folder.glob("*.eml"))
        send(backend)
        [new] = set(folder.glob("*.eml")) - before
        # Explicit times: two files written within a clock tick would otherwise tie.
        stamp = next(seconds) * 10**9
        os.utime(new, ns=(stamp, stamp))
        return new

    return write


def _sent_campaign(session: Session, database: Database, settings: Settings, backend) -> Campaign:
    topic = make_topic(session, slug="practice", name="Practice Notes")
    make_audience(session, topic, 1)
    campaign = create_campaign(session, make_issue(session), [topic], settings=settings)
    session.commit()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=settings
    )
    session.commit()
    runner = BatchRunner(database, settings, backend, worker="outbox-test")
    while runner.run_next(campaign.id):
        pass
    return campaign


@pytest.fixture
def three_messages(
    session: Session, database: Database, outbox_settings: Settings, written
) -> dict[str, object]:
    staff = make_user(session, email="editor@agency.example.org")
    session.commit()
    holder: dict[str, Campaign] = {}

    def send_campaign(backend: OutboxBackend) -> None:
        holder["campaign"] = _sent_campaign(session, database, outbox_settings, backend)

    campaign_file = written(send_campaign)
    campaign = holder["campaign"]
    test_file = written(
        lambda backend: proofs.test_send(
            session, campaign, [staff.email], settings=outbox_settings, backend=backend
        )
    )
    newcomer = make_subscriber(session, "new.reader@example.net", name="Noor Reader")
    session.commit()
    confirmation_file = written(
        lambda backend: backend.send_batch([confirmation_message(outbox_settings, newcomer, [])])
    )
    return {
        "staff": staff,
        "subject": campaign.subject,
        "campaign": campaign_file,
        "test": test_file,
        "confirmation": confirmation_file,
    }


def _rows(page: str) -> list[list[str]]:
    if "<tbody>" not in page:
        return []
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [
        [html.unescape(" ".join(TAG.sub("", cell).split())) for cell in row]
        for row in ROW.findall(body)
    ]


def test_the_list_shows_date_recipient_subject_and_kind_newest_first(
    client: FlaskClient, three_messages: dict, tmp_path: Path
) -> None:
    login(client, three_messages["staff"])
    page = client.get("/admin/outbox/").get_data(as_text=True)
    subject = three_messages["subject"]
    rows = _rows(page)
    assert [row[1:] for row in rows] == [
        ["Noor Reader <new.reader@example.net>", "Confirm your subscription", "Confirmation"],
        ["editor@agency.example.org", f"[Test] {subject}", "Test send"],
        ["Reader 0 <reader0@example.com>", subject, "Campaign"],
    ]
    # 2027-01-15 08:00 UTC and the minutes after it, in the organisation's zone.
    assert [row[0] for row in rows] == [
        "2027-01-15 03:02:00 EST",
        "2027-01-15 03:01:00 EST",
        "2027-01-15 03:00:00 EST",
    ]
    assert '<time datetime="2027-01-15T08:00:00Z">' in page
    assert f'href="/admin/outbox/{three_messages["campaign"].name}"' in page
    assert "3 in all" in page
    assert html_errors({"outbox": page}, tmp_path) == []


def test_search_and_kind_filter(client: FlaskClient, three_messages: dict, tmp_path: Path) -> None:
    login(client, three_messages["staff"])

    def kinds(**query: str) -> list[str]:
        return [row[3] for row in _rows(client.get("/admin/outbox/", query_string=query).text)]

    assert kinds(q="READER0@") == ["Campaign"]
    assert kinds(q="[test]") == ["Test send"]
    assert kinds(q="reader") == ["Confirmation", "Campaign"]
    assert kinds(kind="confirmation") == ["Confirmation"]
    assert kinds(kind="campaign", q="noor") == []
    assert kinds(kind="no-such-kind") == ["Confirmation", "Test send", "Campaign"]
    filtered = client.get("/admin/outbox/", query_string={"q": "reader", "kind": "campaign"})
    page = filtered.get_data(as_text=True)
    assert "1 matching message; showing 1\u20131." in page
    assert 'value="reader"' in page and '<option value="campaign" selected>' in page
    empty = client.get("/admin/outbox/", query_string={"q": "nobody"}).get_data(as_text=True)
    assert "No message matches" in empty
    assert html_errors({"filtered": page, "empty": empty}, tmp_path) == []


def test_a_message_page_shows_the_decoded_parts_and_the_headers(
    client: FlaskClient, three_messages: dict, tmp_path: Path
) -> None:
    login(client, three_messages["staff"])
    name = three_messages["campaign"].name
    raw = three_messages["campaign"].read_bytes()
    assert b"Content-Transfer-Encoding: quoted-printable" in raw or b"base64" in raw
    page = client.get(f"/admin/outbox/{name}").get_data(as_text=True)
    frame = re.search(r"<iframe [^>]*>", page)
    assert frame is not None and 'sandbox=""' in frame.group(0)
    assert f'src="/admin/outbox/{name}/html"' in frame.group(0)
    text = re.search(r'<pre class="plain">(.*?)</pre>', page, re.S)
    decoded = email.message_from_bytes(raw, policy=email.policy.default)
    plain = decoded.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "National Human Trafficking Prevention Month" in plain
    assert text is not None and html.unescape(text.group(1)) == plain
    assert '<th scope="row">List-Unsubscribe</th>' in page
    assert '<th scope="row">List-Id</th><td>&#34;Practice Notes&#34;' in page
    assert "Campaign" in page and "reader0@example.com" in page

    part = client.get(f"/admin/outbox/{name}/html")
    assert part.status_code == 200
    assert part.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = part.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src 'none'" in policy and "default-src 'none'" in policy
    body = part.get_data(as_text=True)
    assert body.lower().startswith("<!doctype html") and three_messages["subject"] in body
    assert "=3D" not in body and "=\r\n" not in body

    confirmation = client.get(f"/admin/outbox/{three_messages['confirmation'].name}").text
    assert '<th scope="row">Auto-Submitted</th><td>auto-generated</td>' in confirmation
    assert html_errors({"campaign": page, "confirmation": confirmation}, tmp_path) == []


def test_names_outside_the_outbox_are_refused(
    client: FlaskClient, session: Session, outbox_settings: Settings
) -> None:
    outbox_settings.outbox_path.mkdir(parents=True, exist_ok=True)
    (outbox_settings.outbox_path.parent / "secret.eml").write_text("Subject: private\r\n\r\nx")
    user = make_user(session)
    session.commit()
    login(client, user)
    for path in [
        "..%2Fsecret.eml",
        "..%2Fsecret_key",
        "..",
        "%2E%2E%2Fsecret.eml",
        "..%2Fsecret.eml/html",
        "%2Fetc%2Fpasswd",
        "missing.eml/html",
    ]:
        assert client.get(f"/admin/outbox/{path}").status_code == 404, path


def test_the_outbox_is_for_signed_in_staff(client: FlaskClient, three_messages: dict) -> None:
    name = three_messages["campaign"].name
    for path in ["/admin/outbox/", f"/admin/outbox/{name}", f"/admin/outbox/{name}/html"]:
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]

"""The report says what the mail backend can report instead of showing "Delivered 0 / 0.00%"."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.feedback import backend_feedback
from campaigns.events.reports import Counts
from engine.config import Settings, load_settings
from tests.campaigns.events.conftest import add_deliveries, make_campaign
from tests.conftest import SECRET
from tests.factories import login, make_user
from tests.html_validator import html_errors

HANDED = Counts(recipients=50, accepted=50)


def _settings(**overrides: str) -> Settings:
    return load_settings(
        environ={}, ENV="testing", SECRET_KEY=SECRET, DATABASE_URL="sqlite://", **overrides
    )


def test_the_outbox_and_memory_backends_report_nothing_back() -> None:
    outbox = backend_feedback(_settings(MAIL_BACKEND="outbox"), HANDED)
    assert outbox is not None and outbox.handed == "Handed to the outbox"
    assert "reports no deliveries, opens, clicks or bounces" in outbox.note
    assert not outbox.reports("delivered") and not outbox.reports("unique_opens")
    assert outbox.reports("unsubscribes") and outbox.reports("recipients")
    memory = backend_feedback(_settings(MAIL_BACKEND="memory"), HANDED)
    assert memory is not None and not memory.reports("bounced")


def test_smtp_reports_bounces_only_through_the_bounce_mailbox() -> None:
    plain = backend_feedback(_settings(MAIL_BACKEND="smtp"), HANDED)
    assert plain is not None and not plain.reports("bounced")
    assert "PINWHEEL_RETURN_PATH" in plain.note
    routed = backend_feedback(
        _settings(MAIL_BACKEND="smtp", RETURN_PATH="bounces@agency.example"), HANDED
    )
    assert routed is not None and routed.reports("bounced") and not routed.reports("delivered")


def test_sendgrid_reports_everything_once_its_webhook_is_configured() -> None:
    deaf = backend_feedback(_settings(MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="k"), HANDED)
    assert deaf is not None and not deaf.reports("delivered")
    assert "PINWHEEL_SENDGRID_WEBHOOK_PUBLIC_KEY" in deaf.note
    listening = _settings(
        MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="k", SENDGRID_WEBHOOK_PUBLIC_KEY="key"
    )
    waiting = backend_feedback(listening, HANDED)
    assert waiting is not None and waiting.reports("delivered") and waiting.reports("clicks")


@pytest.mark.parametrize("backend", ["outbox", "smtp", "sendgrid"])
def test_events_that_came_speak_for_themselves(backend: str) -> None:
    delivered = Counts(recipients=50, accepted=50, delivered=48)
    settings = _settings(MAIL_BACKEND=backend, SENDGRID_API_KEY="k")
    assert backend_feedback(settings, delivered) is None


def test_the_report_page_names_the_outbox_instead_of_a_zero_rate(
    app: Flask, session: Session, client: FlaskClient, tmp_path: Path
) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(MAIL_BACKEND="outbox")
    campaign = make_campaign(session, name="Kinship Month")
    add_deliveries(session, campaign, anonymous=3)
    editor = make_user(session, "editor")
    session.commit()
    session.expunge(editor)
    login(client, editor)
    page = client.get(f"/admin/campaigns/{campaign.id}/report").get_data(as_text=True)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "Handed to the outbox 3" in text
    assert "Delivered — not reported" in text and "Bounced — not reported" in text
    assert "The outbox backend writes each message to a file" in text
    assert "0.00%" not in text
    assert "Unsubscribes 0" in text
    assert html_errors({"report.html": page}, tmp_path) == []

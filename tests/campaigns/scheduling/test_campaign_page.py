"""The campaign page: state, issue, audience, schedule, approval and next steps at a glance."""

from __future__ import annotations

import html
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.scheduling.overview import rule_words, send_question
from campaigns.scheduling.service import schedule_at, schedule_for_observance
from campaigns.scheduling.starting import send_now, start_due_campaign
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.recovery import finish_if_complete
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import cancel_campaign, create_campaign, pause_campaign
from engine.audit import AuditEntry
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from subscribers.models import Topic
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import csrf_token_from, make_topic
from tests.html_validator import html_errors

LOCAL = datetime(2099, 1, 12, 10, 0)


@pytest.fixture
def topic(session: Session) -> Topic:
    topic = make_topic(session, slug="kinship", name="Kinship families")
    make_audience(session, topic, 3)
    session.commit()
    return topic


def _campaign(session: Session, settings: Settings, topic: Topic, **fields: object) -> Campaign:
    campaign = create_campaign(session, make_issue(session), [topic], settings=settings, **fields)
    session.commit()
    return campaign


def _page(client: FlaskClient, campaign: Campaign) -> str:
    response = client.get(f"/admin/campaigns/{campaign.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _text(page: str) -> str:
    """The page's words, without tags, as a reader sees them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _form(page: str, action: str) -> str:
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>.*?</form>', page, re.S
    )
    assert match, f"no form posting to {action}"
    return match.group(0)


def _scheduled(session: Session, settings: Settings, topic: Topic) -> Campaign:
    campaign = _campaign(session, settings, topic)
    schedule_at(session, campaign.id, LOCAL, "America/New_York", now=now(), approval_threshold=1000)
    session.commit()
    return campaign


def _run(database: Database, settings: Settings, outbox: MemoryBackend, campaign: Campaign) -> None:
    runner = BatchRunner(database, settings, outbox, worker="page-test")
    while runner.run_next(campaign.id):
        pass
    with database.session() as session:
        finish_if_complete(session, campaign.id)
        session.commit()


def test_a_draft_shows_audience_approval_and_a_counted_send_question(
    editor_client, session, settings, topic
) -> None:
    campaign = _campaign(session, settings, topic)
    page = _page(editor_client, campaign)
    text = _text(page)
    assert "Draft Not scheduled: nothing goes out until someone sends it." in text
    assert f"Revision sent {campaign.issue_revision}" in text
    assert "Kinship families" in text and f"/admin/subscribers/?topic={topic.id}" in page
    assert "Recipients now 3" in text
    assert "this issue reaches 3 recipients in all, at most 1,000" in text
    assert "Every send" not in text and "When an issue's sends reach more than 1,000" in text
    send = _form(page, f"/admin/campaigns/{campaign.id}/send")
    assert 'data-confirm="Send to 3 recipients now?"' in send
    assert "Time left" not in text and "Sent 0 of 0" not in text
    assert "Send a test to me" in text


def test_cancel_is_a_confirmed_danger_button(editor_client, session, settings, topic) -> None:
    campaign = _campaign(session, settings, topic)
    cancel = _form(_page(editor_client, campaign), f"/admin/campaigns/{campaign.id}/cancel")
    assert 'class="danger"' in cancel and "data-confirm=" in cancel
    send = _form(_page(editor_client, campaign), f"/admin/campaigns/{campaign.id}/send")
    assert 'class="danger"' not in send


def test_a_scheduled_campaign_shows_its_local_time_zone_audience_and_rule(
    editor_client, session, settings, topic
) -> None:
    campaign = _scheduled(session, settings, topic)
    page = _page(editor_client, campaign)
    text = _text(page)
    assert "Scheduled Goes out Monday, Jan 12, 2099, 10:00 EST." in text
    assert "Sends Monday, Jan 12, 2099, 10:00 EST (America/New_York)" in text
    assert '<time datetime="2099-01-12T15:00:00Z">' in page
    assert "Rule At a fixed date and time" in text
    assert "Recipients now 3" in text
    send = _form(page, f"/admin/campaigns/{campaign.id}/send")
    assert (
        'data-confirm="Send to 3 recipients now? It is scheduled for Jan 12, 2099, 10:00 EST; '
        'sending now replaces the schedule."'
    ) in send
    assert "Unschedule" in _form(page, f"/admin/campaigns/{campaign.id}/unschedule")
    assert "Time left" not in text and "Progress" not in text


def test_an_observance_schedule_is_put_in_words(editor_client, session, settings, topic) -> None:
    campaign = _campaign(session, settings, topic)
    schedule_for_observance(
        session,
        campaign.id,
        observance="human-trafficking-prevention-month",
        rule="3 days-before 09:00",
        tz="America/Chicago",
        now=now(),
        approval_threshold=1000,
        year=2099,
    )
    session.commit()
    text = _text(_page(editor_client, campaign))
    assert "Sends Monday, Dec 29, 2098, 09:00 CST (America/Chicago)" in text
    assert "Rule 3 days before National Human Trafficking Prevention Month begins, at 09:00" in text
    assert "Observance National Human Trafficking Prevention Month" in text


def test_rules_and_questions_in_words() -> None:
    detail = {"local_time": True, "skip_weekends": True, "skip_holidays": True}
    assert rule_words("first-business-day 10:00", "Foster Care Month", detail) == (
        "On the first business day of Foster Care Month, at 10:00 in each subscriber's own "
        "time zone, moved past weekends and federal holidays"
    )
    assert rule_words("1 business-days-before 08:30", "X", {}) == (
        "1 business day before X begins, at 08:30"
    )
    assert rule_words("day 5 10:00", "X", {}) == "On day 5 of X, at 10:00"
    assert send_question(1, None, CampaignStatus.DRAFT) == "Send to 1 recipient now?"
    assert send_question(1234, None, CampaignStatus.DRAFT) == "Send to 1,234 recipients now?"


def test_approval_missing_for_this_revision_and_audience(
    app, editor_client, session, settings, topic
) -> None:
    app.extensions["pinwheel.settings"] = settings.with_overrides(APPROVAL_THRESHOLD=0)
    campaign = _campaign(session, settings, topic)
    text = _text(_page(editor_client, campaign))
    assert (
        f"Not approved for revision {campaign.issue_revision} and this audience: it cannot go "
        "out until an approver approves them on the review page."
    ) in text
    assert "Every send to subscribers needs an approver's approval" in text


def test_a_sending_campaign_shows_progress_and_pause(
    editor_client, session, settings, topic
) -> None:
    campaign = _campaign(session, settings, topic)
    send_now(session, campaign.id, settings, batch_size=10)
    session.commit()
    page = _page(editor_client, campaign)
    text = _text(page)
    assert "Sending Going out now." in text
    assert "Sent 0 of 3" in text and "Time left" in text
    assert "Recipients 3 (frozen when the send started)" in text
    assert "Pause" in _form(page, f"/admin/campaigns/{campaign.id}/pause")
    assert 'class="danger"' in _form(page, f"/admin/campaigns/{campaign.id}/cancel")
    assert f"/admin/campaigns/{campaign.id}/send" not in page
    assert "Send a test" not in text


def test_a_sent_campaign_links_to_report_web_view_and_issue(
    editor_client, session, database, settings, topic, outbox
) -> None:
    campaign = _campaign(session, settings, topic)
    send_now(session, campaign.id, settings, batch_size=10)
    session.commit()
    _run(database, settings, outbox, campaign)
    page = _page(editor_client, campaign)
    text = _text(page)
    assert text.count("Sent ") >= 2 and "Sent Finished sending" in text
    assert f'href="/admin/campaigns/{campaign.id}/report"' in page
    assert f'href="/view/{campaign.issue.slug}"' in page
    assert f'href="/admin/issues/{campaign.issue_id}/edit"' in page
    assert "Sent 3 of 3" in text and "Time left" not in text
    next_steps = page.split('id="next-heading"', 1)[1].split("</section>", 1)[0]
    assert "<a " in next_steps
    assert f"/admin/campaigns/{campaign.id}/cancel" not in page


def test_a_campaign_that_needs_review_says_why_and_can_still_be_sent(
    editor_client, session, settings, topic, outbox
) -> None:
    campaign = _scheduled(session, settings, topic)
    late = campaign.send_at + timedelta(hours=3)
    start_due_campaign(session, campaign.id, late, settings)
    session.commit()
    page = _page(editor_client, campaign)
    text = _text(page)
    assert "Needs review Not started: its send time passed" in text
    assert "Was due Monday, Jan 12, 2099, 10:00 EST" in text
    campaign_id = campaign.id
    send = _form(page, f"/admin/campaigns/{campaign_id}/send")
    assert "It was scheduled for Jan 12, 2099, 10:00 EST, which has passed." in send
    session.commit()
    response = editor_client.post(
        f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    for thread in threading.enumerate():
        if thread.name.startswith("pinwheel-campaign-"):
            thread.join(timeout=20)
    fresh = session.get(Campaign, campaign_id, populate_existing=True)
    assert fresh.status == CampaignStatus.SENT and len(outbox.sent) == 3


def test_unschedule_turns_it_back_into_a_draft(editor_client, session, settings, topic) -> None:
    campaign = _scheduled(session, settings, topic)
    campaign_id = campaign.id
    page = _page(editor_client, campaign)
    session.commit()  # end the test's read, which would hold SQLite's lock against the post
    response = editor_client.post(
        f"/admin/campaigns/{campaign_id}/unschedule", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    fresh = session.get(Campaign, campaign_id, populate_existing=True)
    assert (fresh.status, fresh.send_at) == (CampaignStatus.DRAFT, None)
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "campaign.unschedule" in actions
    session.commit()
    text = _text(editor_client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True))
    assert "Unscheduled: it is a draft again" in text and "Draft Not scheduled" in text


def test_the_pages_are_valid_html(
    editor_client, session, database, settings, topic, outbox, tmp_path: Path
) -> None:
    draft = _campaign(session, settings, topic)
    scheduled = _scheduled(session, settings, topic)
    sending = _campaign(session, settings, topic)
    send_now(session, sending.id, settings, batch_size=10)
    session.commit()
    sent = _campaign(session, settings, topic)
    send_now(session, sent.id, settings, batch_size=10)
    session.commit()
    _run(database, settings, outbox, sent)
    pages = {
        name: _page(editor_client, campaign)
        for name, campaign in [
            ("draft", draft),
            ("scheduled", scheduled),
            ("sending", sending),
            ("sent", sent),
        ]
    }
    pages["test send"] = editor_client.get(f"/admin/campaigns/{draft.id}/test-send").get_data(
        as_text=True
    )
    assert html_errors(pages, tmp_path) == []


def test_paused_and_cancelled_campaigns_offer_only_what_they_allow(
    editor_client, session, settings, topic
) -> None:
    paused = _campaign(session, settings, topic)
    send_now(session, paused.id, settings, batch_size=10)
    pause_campaign(session, paused.id, "Paused by staff.")
    cancelled = _campaign(session, settings, topic)
    cancel_campaign(session, cancelled.id)
    session.commit()
    page = _page(editor_client, paused)
    text = _text(page)
    assert "Paused Paused by staff." in text and "Time left" not in text
    assert "Resume" in _form(page, f"/admin/campaigns/{paused.id}/resume")
    assert 'class="danger"' in _form(page, f"/admin/campaigns/{paused.id}/cancel")
    page = _page(editor_client, cancelled)
    text = _text(page)
    assert "Cancelled Cancelled: nothing more of it goes out." in text
    assert 'method="post"' not in page.split('id="next-heading"', 1)[1].split("</section>")[0]
    assert "cannot be restarted" in text
    assert f'href="/admin/issues/{cancelled.issue_id}/edit"' in page

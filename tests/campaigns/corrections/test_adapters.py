"""Corrections from the editor, the compose page, the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, Delivery, DeliveryStatus
from engine.users import create_api_token
from engine.web import get_settings
from tests.factories import csrf_token_from, make_sent_issue, make_subscriber, make_topic, make_user

SENT = datetime(2027, 1, 11, 15, 0, tzinfo=UTC)


def _sent_with_readers(session: Session) -> Issue:
    """An issue sent to three readers: two accepted, one uncertain."""
    topic = make_topic(session, slug="trafficking")
    original = make_sent_issue(session, get_settings(), "Spotlight", SENT, topics=[topic])
    campaign_id = session.scalar(sa.select(Campaign.id).where(Campaign.issue_id == original.id))
    assert campaign_id is not None
    for name, status in (
        ("ana", DeliveryStatus.ACCEPTED),
        ("beto", DeliveryStatus.ACCEPTED),
        ("dora", DeliveryStatus.UNCERTAIN),
    ):
        reader = make_subscriber(session, f"{name}@example.com", topics=[topic])
        session.add(
            Delivery(
                campaign_id=campaign_id,
                subscriber_id=reader.id,
                address=reader.email,
                status=status,
            )
        )
    session.commit()
    return original


def test_staff_write_a_correction_from_the_sent_issue_and_compose_its_send(
    editor_client: FlaskClient, session: Session
) -> None:
    original = _sent_with_readers(session)
    page = editor_client.get(f"/admin/issues/{original.id}/edit").get_data(as_text=True)
    assert 'id="create-correction"' in page

    created = editor_client.post(
        f"/admin/issues/{original.id}/corrections", data={"csrf_token": csrf_token_from(page)}
    )
    assert created.status_code == 302
    correction = session.scalar(sa.select(Issue).where(Issue.correction_of_id == original.id))
    assert correction is not None
    assert created.location.endswith(f"/admin/issues/{correction.id}/edit")
    assert correction.title == "Correction: Spotlight"
    assert correction.layout == "article" and correction.status == "draft"
    assert [t.slug for t in correction.topics] == ["trafficking"]
    correction_id, original_id = correction.id, original.id
    session.rollback()  # The requests below write; the test's read must not hold the lock.
    editor = editor_client.get(created.location).get_data(as_text=True)
    assert 'id="correction-of"' in editor and "Spotlight" in editor
    listed = editor_client.get(f"/admin/issues/{original_id}/edit").get_data(as_text=True)
    assert f"/admin/issues/{correction_id}/edit" in listed

    compose = editor_client.get(f"/admin/issues/{correction_id}/campaigns/new")
    text = compose.get_data(as_text=True)
    assert 'id="correction-audience"' in text and "<strong>2</strong>" in text
    assert "Also send it to the 1 uncertain recipient" in text
    counted = editor_client.get(
        f"/admin/issues/{correction_id}/campaigns/audience.json?include_uncertain=on"
    ).get_json()
    assert counted["count"] == 3


def test_an_unsent_issue_has_no_correction_button_and_refuses_one(
    editor_client: FlaskClient, session: Session
) -> None:
    draft = make_sent_issue(session, get_settings(), "Draft", SENT)
    draft.published_at = None
    session.commit()
    page = editor_client.get(f"/admin/issues/{draft.id}/edit").get_data(as_text=True)
    assert 'id="create-correction"' not in page
    refused = editor_client.post(
        f"/admin/issues/{draft.id}/corrections", data={"csrf_token": csrf_token_from(page)}
    )
    assert refused.status_code == 409
    assert "nothing to correct" in refused.get_data(as_text=True)


def test_the_api_creates_lists_and_sends_a_correction(
    client: FlaskClient, session: Session
) -> None:
    original = _sent_with_readers(session)
    unsent = make_sent_issue(session, get_settings(), "Unsent", SENT)
    unsent.published_at = None
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="corrections")
    session.commit()
    api = {"Authorization": f"Bearer {secret}"}

    created = client.post(f"/api/v1/issues/{original.id}/corrections", headers=api)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["correction_of_id"] == original.id
    listed = client.get(f"/api/v1/issues/{original.id}/corrections", headers=api).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    refused = client.post(f"/api/v1/issues/{unsent.id}/corrections", headers=api)
    assert refused.status_code == 409
    assert "nothing to correct" in refused.get_json()["error"]["message"]

    written = {
        "title": "Correction: Spotlight",
        "subject": "Correction: Spotlight",
        "layout": "article",
        "preheader": "The hotline number was wrong.",
        "blocks": [{"id": "correction", "type": "paragraph", "text": "Call 1-888-373-7888."}],
    }
    saved = client.put(
        f"/api/v1/issues/{body['id']}",
        json={"base_revision": body["revision"], "content": written},
        headers=api,
    )
    assert saved.status_code == 200, saved.get_json()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"issue_id": body["id"], "include_uncertain": True},
        headers=api,
    )
    assert campaign.status_code == 201, campaign.get_json()
    assert campaign.get_json()["corrects_issue_id"] == original.id
    assert campaign.get_json()["include_uncertain"] is True
    no_topics = client.post("/api/v1/campaigns", json={"issue_id": unsent.id}, headers=api)
    assert no_topics.status_code == 422


def test_the_cli_starts_a_correction_and_creates_its_campaign(
    runner: FlaskCliRunner, session: Session
) -> None:
    original = _sent_with_readers(session)
    started = runner.invoke(args=["corrections", "create", str(original.id)])
    assert started.exit_code == 0, started.output
    correction = session.scalar(sa.select(Issue).where(Issue.correction_of_id == original.id))
    assert correction is not None
    assert f"a correction of {original.id}" in started.output
    correction_id, original_id = correction.id, original.id
    session.rollback()

    created = runner.invoke(args=["campaigns", "create", str(correction_id), "--include-uncertain"])
    # The starter's paragraph is still empty: the pre-send checks hold the campaign back.
    assert created.exit_code == 2 and "cannot be sent until" in created.output

    missing = runner.invoke(args=["corrections", "create", "9999"])
    assert missing.exit_code == 2 and "9999" in missing.output
    no_topic = runner.invoke(args=["campaigns", "create", str(original_id)])
    assert no_topic.exit_code == 2 and "--topic" in no_topic.output

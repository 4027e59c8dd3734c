"""Campaigns over the API: create, schedule, send, steer, progress, deliveries and report."""

from __future__ import annotations

from sqlalchemy.orm import Session

from campaigns.sending.models import CampaignStatus, Delivery, DeliveryStatus
from engine.delivery.memory import MemoryBackend
from tests.api.conftest import ApiClient, Seed, join_background_threads, wait_for_status


def test_create_list_show(api: ApiClient, seed: Seed) -> None:
    body = {"issue_id": seed.issue_id, "topic_ids": [seed.topic_id], "name": "April send"}
    created = api.post("/campaigns", json=body)
    assert created.status_code == 201
    data = created.get_json()
    assert (data["status"], data["name"], data["issue_revision"]) == ("draft", "April send", 1)
    assert data["topic_ids"] == [seed.topic_id]
    listed = api.get("/campaigns", query_string={"status": "draft"}).get_json()["items"]
    assert [item["id"] for item in listed] == [seed.campaign_id, data["id"]]
    assert api.get(f"/campaigns/{data['id']}").get_json()["subject"]


def test_create_errors(api: ApiClient, seed: Seed) -> None:
    assert (
        api.post("/campaigns", json={"issue_id": 999, "topic_ids": [seed.topic_id]}).status_code
        == 404
    )
    missing_topics = api.post("/campaigns", json={"issue_id": seed.issue_id, "topic_ids": []})
    assert missing_topics.status_code == 422
    assert missing_topics.get_json()["error"]["details"] == [
        {"path": "topic_ids", "message": "Choose at least one topic to send the campaign to."}
    ]
    assert api.get("/campaigns/999").status_code == 404


def test_schedule_absolute_and_by_observance(api: ApiClient, seed: Seed) -> None:
    path = f"/campaigns/{seed.campaign_id}/schedule"
    absolute = api.post(path, json={"mode": "absolute", "local": "2031-04-01T10:00:00",
                                    "tz": "America/Chicago"})  # fmt: skip
    assert absolute.status_code == 200, absolute.get_json()
    assert absolute.get_json()["status"] == "scheduled"
    assert absolute.get_json()["send_at"].startswith("2031-04-01T15:00:00")
    assert api.delete(path).get_json()["status"] == "draft"
    assert api.delete(path).status_code == 409
    plan = {"mode": "observance", "observance": "child-abuse-prevention-month",
            "rule": "first-business-day 10:00", "tz": "America/New_York"}  # fmt: skip
    observance = api.post(path, json=plan)
    assert observance.status_code == 200, observance.get_json()
    assert observance.get_json()["schedule"]["observance"] == "child-abuse-prevention-month"
    assert api.post(path, json={"mode": "absolute"}).status_code == 422
    unknown = {
        "mode": "observance",
        "observance": "no-such-day",
        "rule": "first-business-day 10:00",
    }
    assert api.post(path, json=unknown).status_code == 404


def test_send_progress_deliveries_report(api: ApiClient, seed: Seed, session: Session) -> None:
    sent = api.post(f"/campaigns/{seed.campaign_id}/send")
    assert sent.status_code == 202 and sent.get_json()["status"] == "sending"
    assert wait_for_status(session, seed.campaign_id, CampaignStatus.SENT) == "sent"
    session.rollback()
    join_background_threads()
    assert api.post(f"/campaigns/{seed.campaign_id}/send").status_code == 409
    progress = api.get(f"/campaigns/{seed.campaign_id}/progress").get_json()
    assert progress["recipients"] == 3 and progress["sent"] == 3 and progress["percent"] == 100.0
    page = api.get(
        f"/campaigns/{seed.campaign_id}/deliveries", query_string={"limit": 2}
    ).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get(f"/campaigns/{seed.campaign_id}/deliveries",
                   query_string={"limit": 2, "cursor": page["next_cursor"]}).get_json()  # fmt: skip
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    accepted = api.get(f"/campaigns/{seed.campaign_id}/deliveries",
                       query_string={"status": "accepted"}).get_json()["items"]  # fmt: skip
    assert len(accepted) == 3
    report = api.get(f"/campaigns/{seed.campaign_id}/report").get_json()
    assert report["counts"]["accepted"] == 3 and report["rates"]["delivery"] == 0.0
    events = api.get(f"/campaigns/{seed.campaign_id}/events").get_json()
    assert events == {"items": [], "next_cursor": None}


def test_pause_resume_cancel(api: ApiClient, seed: Seed, session: Session) -> None:
    path = f"/campaigns/{seed.campaign_id}"
    assert api.post(f"{path}/pause").status_code == 409
    assert api.post(f"{path}/resume").status_code == 409
    assert api.post(f"{path}/cancel").get_json()["status"] == "cancelled"
    assert api.post(f"{path}/cancel").status_code == 409
    assert api.post(f"{path}/send").status_code == 409
    assert api.post(f"{path}/resend-uncertain").status_code == 409


def test_resend_uncertain(api: ApiClient, seed: Seed, session: Session) -> None:
    api.post(f"/campaigns/{seed.campaign_id}/send")
    wait_for_status(session, seed.campaign_id, CampaignStatus.SENT)
    join_background_threads()
    delivery = session.query(Delivery).filter_by(campaign_id=seed.campaign_id).first()
    delivery.status = DeliveryStatus.UNCERTAIN
    session.commit()
    resent = api.post(f"/campaigns/{seed.campaign_id}/resend-uncertain").get_json()
    assert resent["queued"] == 1
    assert wait_for_status(session, seed.campaign_id, CampaignStatus.SENT) == "sent"
    session.rollback()
    join_background_threads()


def test_test_send(api: ApiClient, seed: Seed, outbox: MemoryBackend) -> None:
    path = f"/campaigns/{seed.campaign_id}/test-send"
    result = api.post(path, json={"addresses": ["editor-robot@agency.example.org"]}).get_json()
    assert result["accepted"] == 1
    outsider = api.post(path, json={"addresses": ["reader@example.com"]})
    assert outsider.status_code == 422
    assert "only to staff" in outsider.get_json()["error"]["message"]
    assert api.post(path, json={"addresses": ["not an address"]}).status_code == 422
    too_many = {"addresses": [f"qa{n}@agency.example.org" for n in range(11)]}
    assert api.post(path, json=too_many).status_code == 422

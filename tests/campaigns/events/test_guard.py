"""Guard rails: a sending campaign pauses past the bounce or complaint limit, not before."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.guard import MIN_SAMPLE
from campaigns.sending.models import Campaign, CampaignStatus
from engine.config import Settings
from engine.delivery.memory import MemoryBackend
from tests.campaigns.events.conftest import add_deliveries, event, make_campaign
from tests.factories import login, make_user
from tests.system_emails import assert_system_email


def _send(session: Session, accepted: int) -> tuple[Campaign, list[int]]:
    campaign = make_campaign(session)
    ids = add_deliveries(session, campaign, anonymous=accepted)
    session.commit()
    return campaign, ids


def _events(campaign: Campaign, ids: list[int], kind: str, count: int, **fields) -> list[dict]:
    return [
        event(kind, ids[n], campaign.id, f"anon{n}@example.net", n, **fields) for n in range(count)
    ]


def _status(session: Session, campaign: Campaign) -> tuple[str, str]:
    session.expire_all()
    session.refresh(campaign)
    status = (str(campaign.status), campaign.paused_reason)
    session.rollback()
    return status


def test_bounce_rate_past_the_limit_pauses_and_alerts_admins(
    session: Session,
    settings: Settings,
    post_events: Callable,
    outbox: MemoryBackend,
    client: FlaskClient,
) -> None:
    admin = make_user(session, "admin")
    make_user(session, "editor")
    campaign, ids = _send(session, MIN_SAMPLE)
    session.expunge(admin)  # keep its loaded fields without reading (and locking) again
    assert post_events(_events(campaign, ids, "bounce", 6)).status_code == 200
    report_path = f"/admin/campaigns/{campaign.id}/report"
    status, reason = _status(session, campaign)
    assert status == CampaignStatus.PAUSED
    assert reason.startswith("Paused automatically") and "bounce rate reached 6.00%" in reason
    [alert] = outbox.sent
    assert alert.to_address == admin.email
    assert report_path in alert.text
    assert_system_email(
        alert,
        settings,
        link_prefix=f"https://news.example.org{report_path}",
        says=("was paused", "6.00%", "Bounced or blocked: 6"),
    )
    login(client, admin)
    page = client.get(report_path).get_data(as_text=True)
    assert 'role="alert"' in page and "paused by the guard rails" in page


def test_rate_at_the_limit_does_not_pause(session: Session, post_events: Callable) -> None:
    campaign, ids = _send(session, MIN_SAMPLE)
    assert post_events(_events(campaign, ids, "bounce", 5)).status_code == 200
    assert _status(session, campaign) == (CampaignStatus.SENDING, "")


def test_below_the_minimum_sample_nothing_pauses(
    session: Session, post_events: Callable, outbox: MemoryBackend
) -> None:
    make_user(session, "admin")
    campaign, ids = _send(session, MIN_SAMPLE - 1)
    elements = _events(campaign, ids, "bounce", 30) + _events(campaign, ids[30:], "spamreport", 5)
    assert post_events(elements).status_code == 200
    assert _status(session, campaign) == (CampaignStatus.SENDING, "")
    assert outbox.sent == []


def test_complaint_rate_past_the_limit_pauses(session: Session, post_events: Callable) -> None:
    campaign, ids = _send(session, 500)
    assert post_events(_events(campaign, ids, "spamreport", 1)).status_code == 200
    status, reason = _status(session, campaign)
    assert status == CampaignStatus.PAUSED and "complaint rate reached 0.20%" in reason


def test_paused_or_finished_campaigns_are_left_alone(
    session: Session, post_events: Callable
) -> None:
    campaign, ids = _send(session, MIN_SAMPLE)
    campaign.status = CampaignStatus.SENT
    session.commit()
    assert post_events(_events(campaign, ids, "bounce", 50)).status_code == 200
    assert _status(session, campaign)[0] == CampaignStatus.SENT

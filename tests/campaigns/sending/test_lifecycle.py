"""Campaign lifecycle: frozen content, a start that happens once, pause/resume/cancel."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from campaigns.scheduling.starting import send_now
from campaigns.sending import proofs
from campaigns.sending.models import Batch, Campaign, CampaignStatus, Delivery
from campaigns.sending.service import (
    cancel_campaign,
    create_campaign,
    pause_campaign,
    resume_campaign,
    start_campaign,
)
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.web import get_settings
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import make_user


def test_create_freezes_rendered_content(session, settings, topic) -> None:
    issue = make_issue(session)
    campaign = create_campaign(session, issue, [topic], settings=settings)
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.issue_revision == issue.revision
    assert "%%unsubscribe_url%%" in campaign.html and "%%unsubscribe_url%%" in campaign.text
    assert campaign.subject == issue.content["subject"]
    assert campaign.name == issue.title


def test_create_refuses_an_issue_that_fails_the_checks(session, settings, topic) -> None:
    issue = make_issue(session, subject="")
    issue.content["blocks"][0]["text"] = "Hello %%favourite_colour%%"
    with pytest.raises(ValidationFailed) as caught:
        create_campaign(session, issue, [topic], settings=settings)
    assert caught.value.details


def test_create_refuses_control_characters_stored_by_older_versions(
    session, settings, topic
) -> None:
    issue = make_issue(session, subject="Spring news\r\nBcc: all@example.org")
    with pytest.raises(ValidationFailed, match=r"subject contains a carriage return \(U\+000D\)"):
        create_campaign(session, issue, [topic], settings=settings)
    with pytest.raises(ValidationFailed, match=r"The campaign name contains a tab \(U\+0009\)"):
        create_campaign(session, make_issue(session), [topic], name="A\tB", settings=settings)
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_start_is_a_compare_and_set(session, topic, new_campaign) -> None:
    make_audience(session, topic, 2)
    campaign = new_campaign()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    assert not start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 1


def test_scheduled_start_only_from_scheduled(session, topic, new_campaign) -> None:
    campaign = new_campaign()
    assert not start_campaign(
        session, campaign.id, expected=CampaignStatus.SCHEDULED, settings=get_settings()
    )
    campaign.status = CampaignStatus.SCHEDULED
    session.commit()
    assert start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.SCHEDULED,
        batch_size=5,
        settings=get_settings(),
    )


def test_sending_twice_is_refused_and_unknown_ids_are_not_found(
    session, topic, new_campaign
) -> None:
    campaign = new_campaign()
    send_now(session, campaign.id, get_settings(), batch_size=10)
    with pytest.raises(Conflict, match="only be sent once"):
        send_now(session, campaign.id, get_settings(), batch_size=10)
    with pytest.raises(NotFound):
        send_now(session, 9999, get_settings())
    with pytest.raises(NotFound):
        start_campaign(session, 9999, expected=CampaignStatus.DRAFT, settings=get_settings())


def test_pause_resume_cancel(session, topic, new_campaign) -> None:
    campaign = new_campaign()
    with pytest.raises(Conflict):
        pause_campaign(session, campaign.id)
    send_now(session, campaign.id, get_settings(), batch_size=10)
    pause_campaign(session, campaign.id)
    assert campaign.status == CampaignStatus.PAUSED
    resume_campaign(session, campaign.id, approval_threshold=10**9)
    assert campaign.status == CampaignStatus.SENDING
    cancel_campaign(session, campaign.id)
    assert campaign.status == CampaignStatus.CANCELLED
    with pytest.raises(Conflict):
        resume_campaign(session, campaign.id, approval_threshold=10**9)


def test_test_send_leaves_state_untouched(session, settings, topic, new_campaign, outbox) -> None:
    make_audience(session, topic, 2)
    campaign = new_campaign()
    make_user(session, role="editor", email="editor@agency.example.org")
    session.commit()
    before = (campaign.status, campaign.recipients, campaign.updated_at)
    results = proofs.test_send(session, campaign, ["Editor@Agency.example.org"], settings=settings)
    assert [r.status for r in results] == ["accepted"]
    assert outbox.sent[0].to_address == "editor@agency.example.org"
    assert outbox.sent[0].subject.startswith("[Test] ")
    session.expire_all()
    fresh = session.get(Campaign, campaign.id)
    assert (fresh.status, fresh.recipients, fresh.updated_at) == before
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    with pytest.raises(ValidationFailed):
        proofs.test_send(session, campaign, ["not an address"], settings=settings)
    with pytest.raises(ValidationFailed, match="U\\+2019 RIGHT SINGLE QUOTATION MARK"):
        proofs.test_send(session, campaign, ["o\u2019brien@example.org"], settings=settings)


def test_test_sends_reach_only_staff_and_configured_inboxes(
    session, settings, new_campaign, outbox
) -> None:
    campaign = new_campaign()
    with pytest.raises(ValidationFailed, match=r"reader@example\.com: test sends go only to staff"):
        proofs.test_send(session, campaign, ["reader@example.com"], settings=settings)
    leaver = make_user(session, role="editor", email="leaver@agency.example.org")
    leaver.active = False
    session.commit()
    with pytest.raises(ValidationFailed, match="only to staff"):
        proofs.test_send(session, campaign, ["leaver@agency.example.org"], settings=settings)
    seeded = settings.with_overrides(TEST_SEND_ADDRESSES=("seed@inbox-check.example",))
    results = proofs.test_send(session, campaign, ["Seed@inbox-check.example"], settings=seeded)
    assert [r.status for r in results] == ["accepted"]

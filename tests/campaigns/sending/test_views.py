"""Staff campaign pages: editors see progress and act through CSRF-protected forms."""

from __future__ import annotations

from campaigns.scheduling.starting import send_now
from campaigns.sending.models import Campaign, CampaignStatus
from engine.web import get_settings
from tests.campaigns.sending.conftest import make_audience
from tests.factories import csrf_token_from


def test_list_and_show_with_progress(editor_client, session, topic, new_campaign) -> None:
    make_audience(session, topic, 2)
    campaign = new_campaign()
    send_now(session, campaign.id, get_settings(), batch_size=10)
    session.commit()
    page = editor_client.get("/admin/campaigns/")
    assert page.status_code == 200 and campaign.name in page.get_data(as_text=True)
    shown = editor_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "progress.js" in shown and "Pause" in shown
    assert '<span data-field="sent">0</span></strong> of <span data-field="recipients">2<' in shown
    data = editor_client.get(f"/admin/campaigns/{campaign.id}/progress.json").get_json()
    assert data["recipients"] == 2 and data["counts"]["queued"] == 2 and data["status"] == "sending"


def test_pause_needs_a_csrf_token(editor_client, session, topic, new_campaign) -> None:
    campaign = new_campaign()
    send_now(session, campaign.id, get_settings(), batch_size=10)
    session.commit()
    assert editor_client.post(f"/admin/campaigns/{campaign.id}/pause").status_code == 400
    page = editor_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    response = editor_client.post(
        f"/admin/campaigns/{campaign.id}/pause", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    assert (
        session.get(Campaign, campaign.id, populate_existing=True).status == CampaignStatus.PAUSED
    )


def test_unknown_campaign_is_404(editor_client) -> None:
    assert editor_client.get("/admin/campaigns/999").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    assert client.get("/admin/campaigns/").status_code == 302

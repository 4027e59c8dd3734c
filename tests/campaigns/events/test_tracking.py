"""Aggregate tracking: links rewritten at freeze, counted redirects to stored links only, pixel."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.models import CampaignTally, TrackedLink
from campaigns.events.reports import campaign_report
from campaigns.events.tracking import rewrite_links_for_tracking
from engine.config import Settings
from tests.campaigns.events.conftest import add_deliveries, audience_fixture, event, make_campaign

HTML = """<html><body>
<p><a href="https://www.childwelfare.gov/topics/?a=1&amp;b=2">Topics</a></p>
<p><a class="button" href="https://www.acf.hhs.gov/cb">Children's Bureau</a>
   <a href='https://www.childwelfare.gov/topics/?a=1&amp;b=2'>Topics again</a></p>
<p><a href="mailto:help@agency.example.org">Write to us</a>
   <a href="%%unsubscribe_url%%">Unsubscribe</a>
   <a href="https://news.example.org/view/spotlight?t=abc">View online</a></p>
</body></html>"""


def _tracked(session: Session, settings: Settings) -> int:
    campaign = make_campaign(session, html=HTML, tracking=True)
    assert rewrite_links_for_tracking(session, campaign, settings) == 2
    session.commit()
    return campaign.id


def test_tracking_is_off_by_default(session: Session, settings: Settings) -> None:
    campaign = make_campaign(session, html=HTML)
    assert campaign.tracking is False
    assert rewrite_links_for_tracking(session, campaign, settings) == 0
    assert campaign.html == HTML
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackedLink)) == 0


def test_links_are_rewritten_without_any_subscriber_id(
    session: Session, settings: Settings
) -> None:
    campaign = make_campaign(session, html=HTML, tracking=True)
    assert rewrite_links_for_tracking(session, campaign, settings) == 2
    html = campaign.html
    base = f"https://news.example.org/t/c/{campaign.id}"
    assert html.count(f'href="{base}/1"') == 1 and html.count(f"href='{base}/1'") == 1
    assert f'href="{base}/2"' in html
    for kept in ("mailto:help@", "%%unsubscribe_url%%", "/view/spotlight?t=abc"):
        assert kept in html
    assert html.index(f"/t/o/{campaign.id}.gif") < html.index("</body>")
    links = session.scalars(sa.select(TrackedLink).order_by(TrackedLink.link_id)).all()
    assert [link.url for link in links] == [
        "https://www.childwelfare.gov/topics/?a=1&b=2",
        "https://www.acf.hhs.gov/cb",
    ]
    # Freezing twice changes nothing.
    assert rewrite_links_for_tracking(session, campaign, settings) == 2
    assert campaign.html == html


def test_redirect_goes_only_to_stored_links_and_counts(
    session: Session, settings: Settings, client: FlaskClient
) -> None:
    campaign_id = _tracked(session, settings)
    response = client.get(f"/t/c/{campaign_id}/1?url=https://evil.example.net/")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://www.childwelfare.gov/topics/?a=1&b=2"
    assert client.get(f"/t/c/{campaign_id}/1").status_code == 302
    assert client.get(f"/t/c/{campaign_id}/2").status_code == 302
    for attempt in (
        f"/t/c/{campaign_id}/99",
        f"/t/c/{campaign_id + 1}/1",
        f"/t/c/{campaign_id}/https://evil.example.net",
        "/t/c/x/1",
    ):
        response = client.get(attempt)
        assert response.status_code == 404, attempt
        assert "Location" not in response.headers
    clicks = dict(
        session.execute(sa.select(TrackedLink.link_id, TrackedLink.clicks)).tuples().all()
    )
    assert clicks == {1: 2, 2: 1}


def test_open_pixel_counts_tracked_campaigns_only(
    session: Session, settings: Settings, client: FlaskClient
) -> None:
    campaign_id = _tracked(session, settings)
    untracked = make_campaign(session).id
    session.commit()
    for path in (f"/t/o/{campaign_id}.gif", f"/t/o/{campaign_id}.gif", f"/t/o/{untracked}.gif"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "image/gif" and response.data.startswith(b"GIF89a")
        assert "no-store" in response.headers["Cache-Control"]
    session.expire_all()
    assert session.get(CampaignTally, campaign_id).pixel_opens == 2
    assert session.get(CampaignTally, untracked) is None


def test_provider_opens_and_clicks_count_machine_opens_apart(
    session: Session, post_events: Callable
) -> None:
    campaign = make_campaign(session)
    _, readers = audience_fixture(session, 3)
    ids = add_deliveries(session, campaign, readers)
    session.commit()
    mails = [reader.email for reader in readers]
    url = "https://www.childwelfare.gov/"
    elements = [
        event("open", ids[0], campaign.id, mails[0], 1),
        event("open", ids[0], campaign.id, mails[0], 2),
        event("open", ids[1], campaign.id, mails[1], 3, sg_machine_open=True),
        event("click", ids[0], campaign.id, mails[0], 4, url=url),
        event("click", ids[2], campaign.id, mails[2], 5, url=url),
    ]
    assert post_events(elements).status_code == 200
    counts = campaign_report(session, campaign.id, "UTC").counts
    assert (counts.unique_opens, counts.machine_opens) == (1, 1)
    assert (counts.clicks, counts.unique_clickers) == (2, 2)
    [link] = campaign_report(session, campaign.id, "UTC").links
    assert (link.url, link.provider_clicks, link.redirect_clicks) == (url, 2, 0)

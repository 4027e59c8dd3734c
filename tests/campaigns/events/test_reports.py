"""Report pages: counts and rates, the accessible timeline, links, CSV export, the dashboard."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.reports import campaign_report
from campaigns.events.tracking import rewrite_links_for_tracking
from engine.config import Settings
from tests.campaigns.events.conftest import add_deliveries, audience_fixture, event, make_campaign
from tests.factories import login, make_user

HTML = '<html><body><a href="https://www.childwelfare.gov/">Read</a></body></html>'


def _reported_campaign(session: Session, settings: Settings, post_events: Callable) -> int:
    campaign = make_campaign(session, name="Foster Care Month", html=HTML, tracking=True)
    rewrite_links_for_tracking(session, campaign, settings)
    _, readers = audience_fixture(session, 4)
    ids = add_deliveries(session, campaign, readers)
    session.commit()
    mails = [reader.email for reader in readers]
    elements = [event("delivered", ids[n], campaign.id, mails[n], n) for n in range(3)]
    elements += [
        event("bounce", ids[3], campaign.id, mails[3], 3, type="bounce"),
        event("open", ids[0], campaign.id, mails[0], 4),
        event("open", ids[1], campaign.id, mails[1], 5, sg_machine_open=True),
        event("click", ids[0], campaign.id, mails[0], 6, url='=HYPERLINK("https://x")'),
        event("unsubscribe", ids[2], campaign.id, mails[2], 7),
    ]
    assert post_events(elements).status_code == 200
    return campaign.id


def test_report_counts_and_rates(session: Session, settings: Settings, post_events) -> None:
    campaign_id = _reported_campaign(session, settings, post_events)
    counts = campaign_report(session, campaign_id).counts
    assert (counts.recipients, counts.accepted, counts.delivered, counts.bounced) == (4, 4, 3, 1)
    assert (counts.unique_opens, counts.machine_opens, counts.unsubscribes) == (1, 1, 1)
    assert counts.bounce_rate == 0.25 and counts.open_rate == 1 / 3


def test_report_page_shows_summary_chart_and_links(
    session: Session, settings: Settings, post_events, client: FlaskClient
) -> None:
    campaign_id = _reported_campaign(session, settings, post_events)
    user = make_user(session, "editor")
    session.commit()
    session.expunge(user)
    client.get(f"/t/c/{campaign_id}/1")
    assert client.get(f"/admin/campaigns/{campaign_id}/report").status_code == 302  # sign in
    login(client, user)
    response = client.get(f"/admin/campaigns/{campaign_id}/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Foster Care Month" in page
    assert "25.00% of accepted" in page  # bounce rate
    assert '<svg role="img" aria-labelledby="timeline-title timeline-desc"' in page
    assert "<summary>Timeline data table</summary>" in page
    assert "https://www.childwelfare.gov/" in page
    assert 'href="=HYPERLINK' not in page  # provider URLs that are not links stay text
    assert client.get("/admin/campaigns/999/report").status_code == 404


def test_csv_export(session: Session, settings: Settings, post_events, client: FlaskClient) -> None:
    campaign_id = _reported_campaign(session, settings, post_events)
    user = make_user(session, "editor")
    session.commit()
    session.expunge(user)
    login(client, user)
    response = client.get(f"/admin/campaigns/{campaign_id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["section", "label", "count", "rate"]
    assert ["summary", "Bounced", "1", "0.2500 of accepted"] in rows
    assert ["link redirect clicks", "https://www.childwelfare.gov/", "0", ""] in rows
    # A cell a spreadsheet would run as a formula is neutralised.
    assert ["link provider clicks", '\'=HYPERLINK("https://x")', "1", ""] in rows


def test_dashboard_compares_recent_campaigns(
    session: Session, settings: Settings, post_events, client: FlaskClient
) -> None:
    _reported_campaign(session, settings, post_events)
    other = make_campaign(session, name="Adoption Month")
    add_deliveries(session, other, anonymous=2)
    user = make_user(session, "approver")
    session.commit()
    session.expunge(user)
    login(client, user)
    page = client.get("/admin/reports").get_data(as_text=True)
    assert "Foster Care Month" in page and "Adoption Month" in page
    assert "25.00%" in page

"""Report pages: counts and rates, the accessible timeline, links, CSV export, the dashboard."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import html5lib  # type: ignore[import-untyped]
import time_machine
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.events.reports import campaign_report
from campaigns.events.tracking import rewrite_links_for_tracking
from campaigns.sending.models import Campaign, CampaignStatus
from engine.config import Settings
from engine.users import create_api_token
from tests.campaigns.events.conftest import (
    add_deliveries,
    add_event,
    audience_fixture,
    event,
    make_campaign,
)
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
    counts = campaign_report(session, campaign_id, "UTC").counts
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
    assert 'role="img" aria-labelledby="hours-title hours-desc"' in page
    assert "<summary>Events per hour, as a table</summary>" in page
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


# --- opens and clicks over time ----------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
STARTED = datetime(2026, 3, 3, 14, 20, tzinfo=UTC)  # 09:20 in New York (EST)
NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)  # 11:00 EDT on March 10


def _timed_campaign(session: Session) -> Campaign:
    """Three deliveries and a bounce in the first hour, opens and a click after, a late open."""
    campaign = make_campaign(session, name="Kinship Care Month", status=CampaignStatus.SENT)
    campaign.started_at = STARTED
    first, second, third, fourth = add_deliveries(session, campaign, anonymous=4)
    minutes = [
        (first, "delivered", 5), (second, "delivered", 5), (third, "delivered", 6),
        (fourth, "bounce", 6), (first, "open", 20), (second, "open", 50), (first, "open", 90),
        (first, "click", 95),
    ]  # fmt: skip
    for delivery, kind, minute in minutes:
        add_event(session, campaign, delivery, kind, STARTED + timedelta(minutes=minute))
    add_event(session, campaign, third, "open", STARTED, machine_open=True)  # a proxy: left out
    add_event(session, campaign, third, "open", datetime(2026, 3, 6, 16, tzinfo=UTC))
    session.commit()
    return campaign


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def test_report_charts_opens_and_clicks_per_hour_then_per_day(
    session: Session, client: FlaskClient
) -> None:
    campaign = _timed_campaign(session)
    user = make_user(session, "editor")
    session.commit()
    session.expunge(user)
    with time_machine.travel(NOW, tick=False):
        login(client, user)
        page = client.get(f"/admin/campaigns/{campaign.id}/report").get_data(as_text=True)
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    hours = tree.find(".//*[@id='hours-caption']/..")
    svg = hours.find(f".//{SVG}svg")
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "hours-title hours-desc"
    assert _text(hours.find(".//*[@id='hours-title']")) == "Events per hour (America/New_York)"
    assert _text(hours.find(".//*[@id='hours-desc']")) == (
        "Opens by people: 3 in all, most in Mar 3, 10:00 to 11:00 (2). "
        "Clicks: 1 in all, most in Mar 3, 10:00 to 11:00 (1). "
        "Deliveries: 3 in all, most in Mar 3, 09:00 to 10:00 (3). "
        "Bounces: 1 in all, most in Mar 3, 09:00 to 10:00 (1). "
        "The table below lists every hour."
    )
    labels = [_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert labels == ["Opens by people", "Clicks", "Deliveries", "Bounces"]
    bars = [_text(rect) for rect in svg.iter(f"{SVG}rect")]
    assert bars == [
        "Mar 3, 09:00 to 10:00: 1 opens by people", "Mar 3, 10:00 to 11:00: 2 opens by people",
        "Mar 3, 10:00 to 11:00: 1 clicks", "Mar 3, 09:00 to 10:00: 3 deliveries",
        "Mar 3, 09:00 to 10:00: 1 bounces",
    ]  # fmt: skip
    # The table beside it: every hour from 09:00 March 3 to midnight ending March 4 (39).
    rows = tree.find(".//*[@id='hours-table-caption']/..").findall("./tbody/tr")
    assert len(rows) == 39
    assert [_text(cell) for cell in rows[0]] == ["Mar 3, 09:00 to 10:00", "1", "0", "3", "1"]
    assert [_text(cell) for cell in rows[1]] == ["Mar 3, 10:00 to 11:00", "2", "1", "0", "0"]
    # Then local days, March 5 to 10 (EDT from March 8); the late open on March 6.
    days = tree.find(".//*[@id='days-table-caption']/..").findall("./tbody/tr")
    assert [_text(row[0]) for row in days] == [f"Mar {day}" for day in range(5, 11)]
    assert [_text(cell) for cell in days[1]] == ["Mar 6", "1", "0", "0", "0"]
    assert "Opens by people: 1 in all, most in Mar 6 (1)." in _text(
        tree.find(".//*[@id='days-desc']")
    )


def test_api_and_cli_give_the_pages_timeline(
    session: Session, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    campaign = _timed_campaign(session)
    _, secret = create_api_token(session, user=make_user(session, "approver"), name="Reports")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        response = client.get(
            f"/api/v1/campaigns/{campaign.id}/report", headers={"Authorization": f"Bearer {secret}"}
        )
        printed = runner.invoke(args=["reports", "campaign", str(campaign.id), "--json"])
        table = runner.invoke(args=["reports", "campaign", str(campaign.id)])
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    timeline = report["timeline"]
    assert timeline["zone"] == "America/New_York" and len(timeline["hours"]) == 39
    assert timeline["hours"][1] == {
        "start": "2026-03-03T15:00:00+00:00",
        "end": "2026-03-03T16:00:00+00:00",
        "values": {"opened": 2, "clicked": 1, "delivered": 0, "bounced": 0, "dropped": 0},
    }
    assert [day["start"] for day in timeline["days"]][2:4] == [
        "2026-03-07T05:00:00+00:00", "2026-03-08T05:00:00+00:00"
    ]  # fmt: skip
    assert timeline["days"][1]["values"]["opened"] == 1
    assert report["counts"]["unique_opens"] == 3 and report["rates"]["open"] == 1.0
    assert printed.exit_code == 0 and json.loads(printed.output) == report
    assert table.exit_code == 0
    assert "Unique opens (people) 3 100.00% of delivered" in " ".join(table.output.split())
    missing = runner.invoke(args=["reports", "campaign", "999"])
    assert missing.exit_code == 2 and "999" in missing.output

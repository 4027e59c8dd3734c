"""A topic's last sent campaigns side by side: the service, the page, the API and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import html5lib  # type: ignore[import-untyped]
import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.events.comparison import compared_topics, topic_comparison
from campaigns.sending.models import Campaign, CampaignStatus
from engine.errors import NotFound, ValidationFailed
from engine.users import create_api_token
from subscribers.models import Topic
from tests.campaigns.events.conftest import add_deliveries, add_event, make_campaign
from tests.factories import login, make_topic, make_user

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Sends:
    topic: Topic
    january: Campaign
    february: Campaign
    march: Campaign


def _sent(
    session: Session,
    name: str,
    month: int,
    topics: list[Topic],
    status: CampaignStatus = CampaignStatus.SENT,
) -> Campaign:
    campaign = make_campaign(session, name=name, topics=topics, status=status)
    campaign.started_at = _day(month)
    return campaign


def _day(month: int) -> datetime:
    return datetime(2026, month, 10, 15, tzinfo=UTC)


def _sends(session: Session) -> Sends:
    """Three sent campaigns to foster care, one still sending, one to another topic only."""
    topic = make_topic(session, "foster-care", name="Foster care")
    other = make_topic(session, "adoption", name="Adoption")
    january = _sent(session, "January digest", 1, [topic, other])
    at = _day(1)
    ids = add_deliveries(session, january, anonymous=4)
    for delivery in ids:
        add_event(session, january, delivery, "delivered", at)
    add_event(session, january, ids[0], "open", at)
    add_event(session, january, ids[0], "open", at)  # the same person again
    add_event(session, january, ids[1], "open", at)
    add_event(session, january, ids[2], "open", at, machine_open=True)  # a proxy
    add_event(session, january, ids[0], "click", at, url="https://example.org/")
    february = _sent(session, "February digest", 2, [topic])
    at = _day(2)
    ids = add_deliveries(session, february, anonymous=5)
    for delivery in ids[:4]:
        add_event(session, february, delivery, "delivered", at)
    add_event(session, february, ids[4], "bounce", at, bounce_type="hard")
    add_event(session, february, ids[1], "open", at)
    add_event(session, february, ids[2], "unsubscribe", at)
    march = _sent(session, "March digest", 3, [topic])  # sent through the outbox: no events
    add_deliveries(session, march, anonymous=2)
    going = _sent(session, "April digest", 4, [topic], status=CampaignStatus.SENDING)
    add_deliveries(session, going, anonymous=3)
    _sent(session, "Adoption news", 5, [other])
    session.commit()
    return Sends(topic, january, february, march)


def test_the_last_sent_campaigns_newest_first_with_their_numbers(session: Session) -> None:
    sends = _sends(session)
    comparison = topic_comparison(session, "foster-care")
    assert [row.campaign.name for row in comparison.rows] == [
        "March digest", "February digest", "January digest"
    ]  # fmt: skip
    numbers = [
        (c.recipients, c.delivered, c.open_rate, c.click_rate, c.unsubscribes, c.bounced)
        for c in (row.counts for row in comparison.rows)
    ]
    assert numbers == [(2, 0, None, None, 0, 0), (5, 4, 0.25, 0.0, 1, 1), (4, 4, 0.5, 0.25, 0, 0)]
    total = comparison.total
    assert (total.recipients, total.delivered, total.unique_opens, total.unique_clickers) == (
        11, 8, 3, 1
    )  # fmt: skip
    assert total.open_rate == 3 / 8 and total.unsubscribes == 1 and total.bounced == 1
    assert [row.campaign for row in topic_comparison(session, "foster-care", limit=2).rows] == [
        sends.march, sends.february
    ]  # fmt: skip
    assert [(topic.slug, sent) for topic, sent in compared_topics(session)] == [
        ("adoption", 2), ("foster-care", 3)
    ]  # fmt: skip


def test_unknown_topics_and_limits_are_refused(session: Session) -> None:
    _sends(session)
    with pytest.raises(NotFound, match="nowhere"):
        topic_comparison(session, "nowhere")
    for limit in (0, 51):
        with pytest.raises(ValidationFailed, match="between 1 and 50"):
            topic_comparison(session, "foster-care", limit=limit)


def _text(element: object) -> str:
    return " ".join("".join(element.itertext()).split())  # type: ignore[attr-defined]


def test_the_page_compares_them_and_the_reports_link_to_it(
    session: Session, client: FlaskClient
) -> None:
    sends = _sends(session)
    user = make_user(session, "approver")
    session.commit()
    session.expunge(user)
    login(client, user)
    url = f"/admin/reports/topics/foster-care?campaign={sends.february.id}"
    page = client.get(url).get_data(as_text=True)
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    table = tree.find(".//table[@class='compare']")
    assert [_text(cell) for cell in table.findall("./thead/tr/th")] == [
        "Campaign", "Sent", "Recipients", "Delivered", "Open rate", "Click rate",
        "Unsubscribes", "Bounces",
    ]  # fmt: skip
    rows = [[_text(cell) for cell in row] for row in table.findall("./tbody/tr")]
    assert rows == [
        ["March digest", "Mar 10, 2026", "2", "0", "—", "—", "0", "0"],
        ["February digest (the report you came from)", "Feb 10, 2026", "5", "4", "25.0%",
         "0.0%", "1", "1"],
        ["January digest", "Jan 10, 2026", "4", "4", "50.0%", "25.0%", "0", "0"],
    ]  # fmt: skip
    total = [_text(cell) for cell in table.find("./tfoot/tr")]
    assert total == ["All 3 together", "", "11", "8", "37.5%", "12.5%", "1", "1"]
    svg = tree.find(f".//{SVG}svg")
    assert svg.get("aria-labelledby") == "rates-title rates-desc"
    assert _text(tree.find(".//*[@id='rates-desc']")) == (
        "Open rate: from 25.0% (February digest) to 50.0% (January digest). "
        "Click rate: from 0.0% (February digest) to 25.0% (January digest). "
        "The table below compares every campaign."
    )
    assert [_text(rect) for rect in svg.iter(f"{SVG}rect")] == [
        "January digest: 50.0% open rate", "February digest: 25.0% open rate",
        "January digest: 25.0% click rate",
    ]  # fmt: skip
    # Reachable from the reports page and from each campaign's report.
    reports = client.get("/admin/reports").get_data(as_text=True)
    assert 'href="/admin/reports/topics/foster-care">Foster care</a>' in reports
    assert "(3 sent campaigns)" in reports
    report = client.get(f"/admin/campaigns/{sends.february.id}/report").get_data(as_text=True)
    assert f'href="/admin/reports/topics/foster-care?campaign={sends.february.id}"' in report
    missing = client.get("/admin/reports/topics/nowhere")
    assert missing.status_code == 404 and "nowhere" in missing.get_data(as_text=True)


def test_api_and_cli_give_the_same_numbers(
    session: Session, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    _sends(session)
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="Reports")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.get("/api/v1/topics/foster-care/comparison?limit=2", headers=headers)
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["topic"] == {"slug": "foster-care", "name": "Foster care"}
    february = document["campaigns"][1]
    assert (february["name"], february["started_at"]) == (
        "February digest", "2026-02-10T15:00:00+00:00"
    )  # fmt: skip
    assert february["counts"]["delivered"] == 4 and february["rates"]["open"] == 0.25
    assert document["total"]["counts"]["recipients"] == 7
    printed = runner.invoke(args=["reports", "topic", "foster-care", "--limit", "2", "--json"])
    assert printed.exit_code == 0 and json.loads(printed.output) == document
    table = runner.invoke(args=["reports", "topic", "foster-care"])
    lines = [" ".join(line.split()) for line in table.output.splitlines()]
    assert lines[0] == "id campaign recipients delivered opens clicks unsubs bounces"
    assert lines[1:] == [
        "3 March digest 2 0 - - 0 0",
        "2 February digest 5 4 25.0% 0.0% 1 1",
        "1 January digest 4 4 50.0% 25.0% 0 0",
        "All together 11 8 37.5% 12.5% 1 1",
    ]
    for bad in ("?limit=0", "?limit=many"):
        refused = client.get(f"/api/v1/topics/foster-care/comparison{bad}", headers=headers)
        assert refused.status_code == 422
    assert client.get("/api/v1/topics/nowhere/comparison", headers=headers).status_code == 404
    unknown = runner.invoke(args=["reports", "topic", "nowhere"])
    assert unknown.exit_code == 2 and "No topic with the slug 'nowhere'." in unknown.output
    assert runner.invoke(args=["reports", "topic", "foster-care", "--limit", "0"]).exit_code == 2
    make_topic(session, "kinship", name="Kinship care")
    session.commit()
    empty = runner.invoke(args=["reports", "topic", "kinship"])
    assert empty.exit_code == 0 and empty.output == "No campaign to kinship has been sent yet.\n"

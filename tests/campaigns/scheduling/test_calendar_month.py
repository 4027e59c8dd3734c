"""The month grid: long observances listed once, campaigns as links at their local time, today."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.observances.rules import DateWindow
from campaigns.scheduling.calendar import span_label
from campaigns.scheduling.service import schedule_at
from tests.campaigns.scheduling.builders import make_campaign
from tests.factories import login, make_user
from tests.html_validator import html_errors

JANUARY = (date(2027, 1, 1), date(2027, 1, 31))


def test_spans_read_as_seen_from_the_month() -> None:
    assert span_label(DateWindow(*JANUARY), *JANUARY) == "all month"
    assert span_label(DateWindow(date(2026, 12, 1), date(2027, 2, 28)), *JANUARY) == "all month"
    assert span_label(DateWindow(date(2027, 1, 11), date(2027, 1, 11)), *JANUARY) == "Jan 11"
    assert span_label(DateWindow(date(2027, 1, 4), date(2027, 1, 10)), *JANUARY) == "Jan 4\u201310"
    week = DateWindow(date(2027, 1, 29), date(2027, 2, 4))
    assert span_label(week, *JANUARY) == "Jan 29 \u2013 Feb 4"


def _grid(page: str) -> str:
    return page[page.index('<table class="calendar-grid">') : page.index("</table>")]


def test_month_lists_long_observances_once_and_links_campaigns(
    client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(session)
    schedule_at(
        session,
        campaign.id,
        datetime(2027, 1, 4, 10),
        "America/Chicago",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        approval_threshold=1000,
    )
    user = make_user(session, role="editor")
    session.commit()
    # 10:00 in New York, the organisation's zone: Monday, January 11, 2027.
    with time_machine.travel(datetime(2027, 1, 11, 15, tzinfo=UTC)):
        login(client, user)
        page = client.get("/admin/calendar/?year=2027&month=1").get_data(as_text=True)
    grid = _grid(page)

    month_long = "National Human Trafficking Prevention Month"
    assert page.count(month_long) == 1
    assert f"<strong>{month_long}</strong>\n(all month)" in page
    assert month_long not in grid
    assert grid.count("National Human Trafficking Awareness Day") == 1

    send = re.search(rf'<a href="/admin/campaigns/{campaign.id}">(.*?)</a>', grid, re.S)
    assert send is not None
    assert '<time datetime="2027-01-04T16:00:00Z">10:00 CST</time>' in send.group(1)
    assert campaign.name in send.group(1)

    today = re.findall(r'<td[^>]*aria-current="date"[^>]*>.*?</td>', grid, re.S)
    assert len(today) == 1
    assert '<time datetime="2027-01-11">11</time>' in today[0] and "Today" in today[0]
    assert "National Human Trafficking Awareness Day" in today[0]
    assert html_errors({"january": page}, tmp_path) == []


def test_another_month_marks_no_day_as_today(client: FlaskClient, session: Session) -> None:
    user = make_user(session, role="approver")
    session.commit()
    with time_machine.travel(datetime(2027, 1, 11, 15, tzinfo=UTC)):
        login(client, user)
        page = client.get("/admin/calendar/?year=2027&month=3").get_data(as_text=True)
    assert 'aria-current="date"' not in page
    assert "Single-day observances and campaigns in March 2027" in page

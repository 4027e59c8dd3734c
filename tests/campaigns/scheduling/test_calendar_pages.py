"""Staff observance pages, the calendar pages, one-click drafts and the iCalendar feed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.observances.catalogue import catalogue_revised
from campaigns.observances.models import StaffObservance
from campaigns.observances.service import add_observance, edit_observance
from campaigns.scheduling.calendar import build_feed, feed_token, new_calendar_key
from campaigns.scheduling.service import schedule_at
from engine.users import StaffUser
from tests.campaigns.scheduling.builders import make_campaign
from tests.conftest import SECRET
from tests.factories import csrf_token_from, login, make_topic, make_user

FORM = {
    "slug": "kinship-navigator-week",
    "name": "Kinship Navigator Week",
    "kind": "week",
    "rule_type": "nth-weekday",
    "month": "3",
    "weekday": "monday",
    "n": "2",
    "days": "7",
    "region": "OH",
    "description": "A week for the people who help relatives raise children.",
    "topic": "foster-care",
    "colour": "#1E5631",
}


def _signed_in(client: FlaskClient, session: Session, role: str = "editor") -> str:
    user = make_user(session, role=role)
    session.commit()
    login(client, user)
    return csrf_token_from(client.get("/admin/observances/new").get_data(as_text=True))


def test_add_edit_and_retire_an_observance(client: FlaskClient, session: Session):
    token = _signed_in(client, session)
    response = client.post("/admin/observances/new", data={**FORM, "csrf_token": token})
    assert response.status_code == 302
    row = session.scalar(sa.select(StaffObservance))
    assert row.rule == {"type": "nth-weekday", "month": 3, "weekday": "monday", "n": 2, "days": 7}
    slug, row_id = row.slug, row.id
    session.rollback()
    assert "Kinship Navigator Week" in client.get("/admin/observances/").get_data(as_text=True)
    page = client.get(f"/admin/observances/{slug}/edit").get_data(as_text=True)
    assert 'value="Kinship Navigator Week"' in page
    edited = {**FORM, "name": "Kinship Week", "csrf_token": token}
    assert client.post(f"/admin/observances/{slug}/edit", data=edited).status_code == 302
    session.expire_all()
    assert session.get(StaffObservance, row_id).name == "Kinship Week"
    session.rollback()
    march = client.get("/admin/calendar/?year=2027&month=3").get_data(as_text=True)
    assert "<strong>Kinship Week</strong>" in march
    retire = client.post(f"/admin/observances/{slug}/retire", data={"csrf_token": token})
    assert retire.status_code == 302
    march = client.get("/admin/calendar/?year=2027&month=3").get_data(as_text=True)
    assert "<strong>Kinship Week</strong>" not in march


def test_invalid_observances_are_shown_back(client: FlaskClient, session: Session):
    token = _signed_in(client, session)
    cases = [
        ({"month": "13"}, "rule.month"),
        ({"colour": "blue"}, "colour"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "mentoring-month"}, "already used"),
        ({"topic": "no-such-topic"}, "does not exist"),
        ({"rule_type": "per-year", "dates": "2027-13-01"}, "YYYY-MM-DD"),
        ({"name": ""}, "name"),
        ({"rule_type": "fixed-range", "end_month": "x"}, "end_month"),
    ]
    for change, message in cases:
        data = {**FORM, **change, "csrf_token": token}
        response = client.post("/admin/observances/new", data=data)
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffObservance)) == 0
    session.rollback()
    assert client.get("/admin/observances/nope/edit").status_code == 404


def test_approvers_cannot_change_observances(client: FlaskClient, session: Session):
    _signed_in(client, session, role="approver")
    assert client.get("/admin/observances/").status_code == 200
    assert client.get("/admin/observances/new").status_code == 403


def test_calendar_pages_and_one_click_draft(client: FlaskClient, session: Session):
    make_topic(session, slug="child-abuse-prevention")
    # The whole visit happens in March 2027: session cookies are only valid for 31 days.
    with time_machine.travel(datetime(2027, 3, 20, 12, tzinfo=UTC)):
        token = _signed_in(client, session)
        month = client.get("/admin/calendar/?year=2027&month=4")
        agenda = client.get("/admin/calendar/agenda")
        assert month.status_code == 200
        assert "National Child Abuse Prevention Month" in month.get_data(as_text=True)
        assert agenda.status_code == 200
        assert "National Child Abuse Prevention Month" in agenda.get_data(as_text=True)
        assert client.get("/admin/calendar/?month=13").status_code == 400
        response = client.post(
            "/admin/calendar/draft/child-abuse-prevention-month/2027", data={"csrf_token": token}
        )
        assert response.status_code == 302
        issue = session.scalar(sa.select(Issue))
        assert issue.title.endswith("2027")
        assert issue.layout == "spotlight"
        assert issue.observance_slug == "child-abuse-prevention-month"
        assert issue.content["theme"]["accent"].startswith("#")
        assert [t.slug for t in issue.topics] == ["child-abuse-prevention"]
        session.rollback()
        missing = client.post("/admin/calendar/draft/nope/2027", data={"csrf_token": token})
        assert missing.status_code == 404


def test_ics_feed_has_observances_and_timed_campaigns(client: FlaskClient, session: Session):
    campaign = make_campaign(session)
    reader = make_user(session, role="approver")
    new_calendar_key(reader)
    schedule_at(
        session,
        campaign.id,
        datetime(2027, 1, 4, 10),
        "America/Chicago",
        now=datetime(2026, 12, 1, tzinfo=UTC),
        approval_threshold=1000,
    )
    session.commit()
    assert client.get("/calendar.ics").status_code == 404
    assert client.get("/calendar.ics?token=forged").status_code == 404
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC)):
        response = client.get(f"/calendar.ics?token={feed_token(SECRET, reader)}")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    feed = icalendar.Calendar.from_ical(response.data)
    events = {str(e["uid"]): e for e in feed.walk("VEVENT")}
    month = events[next(uid for uid in events if uid.startswith("observance-mentoring-month-2027"))]
    assert month.decoded("dtstart") == date(2027, 1, 1)
    assert month.decoded("dtend") == date(2027, 2, 1)
    send = events[next(uid for uid in events if uid.startswith(f"campaign-{campaign.id}@"))]
    assert send["dtstart"].params["TZID"] == "America/Chicago"
    start = send.decoded("dtstart")
    assert start.replace(tzinfo=None) == datetime(2027, 1, 4, 10)
    assert start.astimezone(UTC) == datetime(2027, 1, 4, 16, tzinfo=UTC)
    assert any(tz["tzid"] == "America/Chicago" for tz in feed.walk("VTIMEZONE"))


def _stamps(session: Session) -> dict[str, datetime]:
    body = build_feed(session, date(2027, 1, 1), date(2027, 1, 31), "https://news.example.org")
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    return {str(event["uid"]).split("@")[0]: event.decoded("dtstamp") for event in events}


def test_feed_entries_are_stamped_when_they_were_written(session: Session) -> None:
    written = datetime(2026, 11, 2, 9, 15, 30, 250_000, tzinfo=UTC)
    observance = {
        "slug": "kinship-navigator-day", "name": "Kinship Navigator Day", "kind": "day",
        "rule": {"type": "fixed-date", "month": 1, "day": 20}, "region": "OH",
        "description": "A day for kinship navigators.", "topic": "foster-care",
        "colour": "#1E5631",
    }  # fmt: skip
    with time_machine.travel(written, tick=False):
        add_observance(session, observance)
        campaign = make_campaign(session)
        session.commit()
    revised = datetime(2026, 11, 20, 17, 45, tzinfo=UTC)
    with time_machine.travel(revised, tick=False):
        edit_observance(session, "kinship-navigator-day", {**observance, "region": "US"})
        schedule_at(session, campaign.id, datetime(2027, 1, 4, 10), "America/Chicago",
                    now=revised, approval_threshold=1000)  # fmt: skip
        session.commit()
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC)):
        stamps = _stamps(session)
    assert stamps["observance-kinship-navigator-day-2027"] == revised
    assert stamps[f"campaign-{campaign.id}"] == revised
    # Shipped observances carry the catalogue's last revision, not their own dates.
    shipped = stamps["observance-human-trafficking-prevention-month-2027"]
    assert shipped == catalogue_revised() < datetime(2027, 1, 1, tzinfo=UTC)
    # A later refresh tells calendar apps that nothing changed.
    with time_machine.travel(datetime(2026, 12, 8, tzinfo=UTC)):
        assert _stamps(session) == stamps


def test_calendar_page_shows_the_feed_address(client: FlaskClient, session: Session):
    _signed_in(client, session)
    page = client.get("/admin/calendar/").get_data(as_text=True)
    user = session.scalar(sa.select(StaffUser))
    assert f"/calendar.ics?token={feed_token(SECRET, user)}" in page

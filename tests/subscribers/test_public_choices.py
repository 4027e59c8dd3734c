"""What readers choose on the public pages: whose preferences, which zone, which topics to stop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from subscribers.links import SubscriberLinks
from subscribers.models import (
    EventKind,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)
from subscribers.profile import COMMON_TIMEZONES, listed_timezones
from tests.factories import csrf_token_from, make_subscriber, make_topic
from tests.html_validator import html_errors

US_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
]


@pytest.fixture
def topics(session: Session) -> dict[str, Topic]:
    made = {
        "trafficking": make_topic(session, "human-trafficking", name="Human trafficking"),
        "foster": make_topic(session, "foster-care", name="Foster care"),
        "digest": make_topic(session, "monthly-digest", name="Monthly digest"),
    }
    session.commit()
    return made


@pytest.fixture
def reader(session: Session, topics: dict[str, Topic]) -> Subscriber:
    subscriber = make_subscriber(
        session, "rosa.rivera@example.com", topics=[topics["trafficking"], topics["digest"]]
    )
    session.commit()
    return subscriber


def _path(app: Flask, page: str, subscriber_id: int) -> str:
    links = SubscriberLinks.from_settings(app.extensions["pinwheel.settings"])
    url: str = getattr(links, page)(subscriber_id)
    return url.removeprefix("https://news.example.org")


def _statuses(session: Session, email: str) -> dict[str, str]:
    session.expire_all()
    rows = session.execute(
        sa.select(Topic.slug, Subscription.status)
        .join(Subscription.topic)
        .join(Subscriber)
        .where(Subscriber.email == email)
    ).all()
    session.commit()
    return {slug: status for slug, status in rows}


# --- preferences ------------------------------------------------------------------------------


def test_the_preferences_page_names_the_address(
    app: Flask, client: FlaskClient, reader: Subscriber
) -> None:
    page = client.get(_path(app, "preferences", reader.id)).get_data(as_text=True)
    assert "Preferences for <strong>rosa.rivera@example.com</strong>" in page


def test_the_zone_list_starts_with_the_us_zones_and_has_no_aliases(
    app: Flask, client: FlaskClient, reader: Subscriber, tmp_path: Path
) -> None:
    page = client.get(_path(app, "preferences", reader.id)).get_data(as_text=True)
    values = re.findall(r'<option value="([^"]*)"', page.split('id="timezone"')[1])
    assert values[0] == ""  # the organisation's default
    assert values[1:9] == US_ZONES
    assert '<optgroup label="United States">' in page
    assert "Eastern time (New York)" in page
    for alias in ("US/Eastern", "US/Pacific", "Etc/GMT+5", "EST5EDT", "Canada/Eastern", "GMT"):
        assert alias not in values
    assert "UTC" in values and "Europe/Berlin" in values
    assert len(values) == len(set(values))
    assert html_errors({"preferences": page}, tmp_path) == []


def test_listed_zones_are_canonical_area_names() -> None:
    listed = listed_timezones()
    assert [zone for zone, _ in COMMON_TIMEZONES] == US_ZONES
    assert not set(listed) & set(US_ZONES)
    assert all("/" in zone or zone == "UTC" for zone in listed)
    prefixes = ("US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "Etc/", "SystemV/")
    assert not [zone for zone in listed if zone.startswith(prefixes)]


def test_a_stored_alias_stays_selected(
    app: Flask, client: FlaskClient, session: Session, reader: Subscriber
) -> None:
    reader.timezone = "US/Eastern"
    session.commit()
    page = client.get(_path(app, "preferences", reader.id)).get_data(as_text=True)
    # Saving the page unchanged must not reset a zone an import stored under its old name.
    assert '<option value="US/Eastern" selected>' in page


# --- unsubscribe: only some topics, or everything -----------------------------------------------


def test_the_unsubscribe_page_offers_each_current_topic(
    app: Flask, client: FlaskClient, reader: Subscriber, topics, tmp_path: Path
) -> None:
    page = client.get(_path(app, "unsubscribe", reader.id)).get_data(as_text=True)
    assert "rosa.rivera@example.com" in page
    labels = re.findall(r'<label for="leave-topic-\d+">([^<]+)</label>', page)
    assert labels == ["Human trafficking", "Monthly digest"]  # not Foster care: not theirs
    assert 'value="leave_topics"' in page and "Unsubscribe from everything</button>" in page
    assert html_errors({"unsubscribe": page}, tmp_path) == []


def _opt_down(app: Flask, client: FlaskClient, reader: Subscriber, *ticked: Topic):
    page = client.get(_path(app, "unsubscribe", reader.id)).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)" class="card">', page)
    assert action is not None and action.group(1).startswith("/preferences/")
    form = {
        "csrf_token": csrf_token_from(page),
        "action": "leave_topics",
        "topics": [str(topic.id) for topic in ticked],
    }
    return client.post(action.group(1), data=form)


def test_stopping_one_topic_keeps_the_others(
    app: Flask, client: FlaskClient, session: Session, reader: Subscriber, topics, tmp_path: Path
) -> None:
    reader.timezone, reader.language = "America/Denver", "es"
    session.commit()
    response = _opt_down(app, client, reader, topics["digest"])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # The reader chose Spanish, so their pages are in Spanish.
    assert "Ya no recibirá: Monthly digest." in page
    assert _statuses(session, reader.email) == {
        "human-trafficking": SubscriptionStatus.CONFIRMED,
        "monthly-digest": SubscriptionStatus.UNSUBSCRIBED,
    }
    session.expire_all()
    kept = session.get(Subscriber, reader.id)
    assert kept is not None
    assert (kept.status, kept.timezone, kept.language) == (
        SubscriberStatus.ACTIVE,
        "America/Denver",
        "es",
    )
    event = session.scalar(
        sa.select(SubscriberEvent).where(SubscriberEvent.kind == EventKind.UNSUBSCRIBED)
    )
    assert event is not None
    assert event.detail == {"topics": ["monthly-digest"], "source": "unsubscribe-page"}
    session.commit()
    assert html_errors({"after opt-down": page}, tmp_path) == []


def test_stopping_nothing_changes_nothing(
    app: Flask, client: FlaskClient, session: Session, reader: Subscriber
) -> None:
    page = _opt_down(app, client, reader).get_data(as_text=True)
    assert "nothing has changed" in page
    assert set(_statuses(session, reader.email).values()) == {SubscriptionStatus.CONFIRMED}


def test_a_topic_that_is_not_theirs_is_not_touched(
    app: Flask, client: FlaskClient, session: Session, reader: Subscriber, topics
) -> None:
    _opt_down(app, client, reader, topics["foster"])
    assert "foster-care" not in _statuses(session, reader.email)


def test_one_click_unsubscribe_still_answers_an_empty_200(
    app: Flask, session: Session, reader: Subscriber
) -> None:
    g.pop("csrf_token", None)
    response = app.test_client(use_cookies=False).post(
        _path(app, "unsubscribe", reader.id),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.get_data()) == (200, b"")
    session.expire_all()
    gone = session.get(Subscriber, reader.id)
    assert gone is not None and gone.status == SubscriberStatus.UNSUBSCRIBED
    session.commit()

"""Digest frequency per subscription: the form, preferences, API, CSV import, staff page."""

from __future__ import annotations

import io
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from subscribers.audience import audience_select, digest_audience_select, topic_key_of
from subscribers.importing import SubscriberImport
from subscribers.links import SubscriberLinks
from subscribers.models import (
    EventKind,
    Frequency,
    OptIn,
    Subscriber,
    SubscriberEvent,
    Subscription,
)
from subscribers.service import change_frequency
from tests.factories import csrf_token_from, login, make_subscriber, make_topic, make_user


def _frequencies(session: Session, email: str) -> dict[str, str]:
    session.expire_all()
    rows = session.execute(
        sa.select(Subscription.topic_id, Subscription.frequency)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.email == email)
    )
    return {str(topic_id): frequency for topic_id, frequency in rows}


def _events(session: Session, email: str) -> list[tuple[str, dict]]:
    rows = session.execute(
        sa.select(SubscriberEvent.kind, SubscriberEvent.detail)
        .join(Subscriber, Subscriber.id == SubscriberEvent.subscriber_id)
        .where(Subscriber.email == email)
        .order_by(SubscriberEvent.id)
    )
    return [(kind, detail) for kind, detail in rows]


def test_subscribe_form_records_the_chosen_frequency(client: FlaskClient, session: Session) -> None:
    topic = make_topic(session, "foster", opt_in=OptIn.SINGLE)
    session.commit()
    page = client.get("/subscribe").get_data(as_text=True)
    assert 'name="frequency" value="daily"' in page
    data = {"email": "day@example.com", "topics": [str(topic.id)], "frequency": "daily"}
    assert client.post("/subscribe", data=data).status_code == 200
    assert _frequencies(session, "day@example.com") == {str(topic.id): "daily"}
    kinds = [
        (kind, detail.get("frequency")) for kind, detail in _events(session, "day@example.com")
    ]
    assert kinds == [(EventKind.SUBSCRIBE_REQUESTED, "daily"), (EventKind.SUBSCRIBED, "daily")]
    bad = client.post("/subscribe", data={**data, "frequency": "hourly"})
    assert bad.status_code == 422 and "how often" in bad.get_data(as_text=True)


def test_preferences_change_a_topics_frequency(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    topic = make_topic(session, "foster")
    reader = make_subscriber(session, "prefs@example.com", topics=[topic])
    session.commit()
    url = SubscriberLinks.from_settings(app.extensions["pinwheel.settings"]).preferences(reader.id)
    url = url.removeprefix("https://news.example.org")
    page = client.get(url).get_data(as_text=True)
    assert f'name="frequency-{topic.id}"' in page
    data = {"csrf_token": csrf_token_from(page), "topics": [str(topic.id)], "action": "save",
            f"frequency-{topic.id}": "weekly"}  # fmt: skip
    assert client.post(url, data=data).status_code == 200
    assert _frequencies(session, "prefs@example.com") == {str(topic.id): "weekly"}
    kind, detail = _events(session, "prefs@example.com")[-1]
    assert kind == EventKind.PREFERENCES_CHANGED and detail["frequencies"] == {"foster": "weekly"}


def test_staff_page_sets_a_frequency_and_history_shows_it(
    client: FlaskClient, session: Session
) -> None:
    topic = make_topic(session, "foster", name="Foster care")
    reader = make_subscriber(session, "staff@example.com", topics=[topic])
    # Plain values: reading an expired object after the commit would hold SQLite's write lock.
    staff = SimpleNamespace(email=make_user(session, role="editor").email)
    topic_id, page_url = topic.id, f"/admin/subscribers/{reader.id}"
    session.commit()
    login(client, staff)
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    response = client.post(
        f"{page_url}/frequency",
        data={"csrf_token": token, "topic": str(topic_id), "frequency": "daily"},
    )
    assert response.status_code == 302
    page = client.get(page_url).get_data(as_text=True)
    assert "Frequency changed: foster, daily" in page
    assert _frequencies(session, "staff@example.com") == {str(topic_id): "daily"}


def test_csv_import_reads_a_frequency_column(session: Session) -> None:
    topic = make_topic(session, "foster")
    make_subscriber(session, "known@example.com", topics=[topic])
    csv_text = (
        "email,frequency\n"
        "new-daily@example.com,daily\n"
        "new-default@example.com,\n"
        "known@example.com,Weekly\n"
        "bad@example.com,hourly\n"
    )
    importer = SubscriberImport(session, [topic])
    for _ in importer.run(io.BytesIO(csv_text.encode())):
        pass
    session.flush()
    assert importer.summary.created == 2 and importer.summary.updated == 1
    assert importer.summary.errors == 1
    assert _frequencies(session, "new-daily@example.com") == {str(topic.id): "daily"}
    assert _frequencies(session, "new-default@example.com") == {str(topic.id): "immediately"}
    assert _frequencies(session, "known@example.com") == {str(topic.id): "weekly"}
    _kind, detail = _events(session, "new-daily@example.com")[-1]
    assert detail["frequency"] == "daily"


def test_audiences_split_by_frequency(session: Session) -> None:
    one, two = make_topic(session, "one"), make_topic(session, "two")
    now_reader = make_subscriber(session, "now@example.com", topics=[one, two])
    day_reader = make_subscriber(session, "day@example.com", topics=[one, two])
    change_frequency(session, day_reader, [one, two], Frequency.DAILY, source="test")
    mixed = make_subscriber(session, "mixed@example.com", topics=[one, two])
    change_frequency(session, mixed, [two], Frequency.DAILY, source="test")
    immediate = session.scalars(
        sa.select(audience_select([one.id, two.id]).subquery().c.email)
    ).all()
    assert sorted(immediate) == ["mixed@example.com", "now@example.com"]
    daily = session.execute(
        digest_audience_select(Frequency.DAILY, [one.id, two.id]).order_by(Subscriber.id)
    ).all()
    keys = {email: key for _id, email, key in daily}
    assert keys == {
        "day@example.com": topic_key_of([one.id, two.id], [one.id, two.id]),
        "mixed@example.com": topic_key_of([two.id], [one.id, two.id]),
    }
    assert now_reader.id not in {row[0] for row in daily}


def test_staff_page_refuses_a_topic_or_frequency_it_does_not_know(
    client: FlaskClient, session: Session
) -> None:
    topic = make_topic(session, "foster", name="Foster care")
    reader = make_subscriber(session, "odd@example.com", topics=[topic])
    staff = SimpleNamespace(email=make_user(session, role="editor").email)
    topic_id, page_url = topic.id, f"/admin/subscribers/{reader.id}"
    session.commit()
    login(client, staff)
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    for topic_value, frequency in (("9" * 40, "daily"), ("-1", "daily"), (str(topic_id), "x")):
        response = client.post(
            f"{page_url}/frequency",
            data={"csrf_token": token, "topic": topic_value, "frequency": frequency},
        )
        assert response.status_code == 422, topic_value
        assert "Choose a topic" in response.get_data(as_text=True)
    assert _frequencies(session, "odd@example.com") == {str(topic_id): "immediately"}

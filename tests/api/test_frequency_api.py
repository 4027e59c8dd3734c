"""The API's digest frequency: on create, on the subscription, in the subscriber's data."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import Subscription
from tests.api.conftest import ApiClient
from tests.factories import make_topic


def _frequency(session: Session, subscriber_id: int) -> list[str]:
    session.expire_all()
    query = sa.select(Subscription.frequency).where(Subscription.subscriber_id == subscriber_id)
    return list(session.scalars(query))


def test_api_sets_frequency_and_shows_it(api: ApiClient, session: Session) -> None:
    make_topic(session, "foster")
    session.commit()
    created = api.post(
        "/subscribers", json={"email": "api@example.com", "topics": ["foster"],
                              "frequency": "weekly"},
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["subscriptions"][0]["frequency"] == "weekly"
    subscriber_id = created.get_json()["id"]
    path = f"/subscribers/{subscriber_id}/subscriptions/foster/frequency"
    changed = api.put(path, json={"frequency": "daily"})
    assert (
        changed.status_code == 200
        and changed.get_json()["subscriptions"][0]["frequency"] == "daily"
    )
    assert api.put(path, json={"frequency": "hourly"}).status_code == 422
    other = make_topic(session, "other")
    session.commit()
    missing = f"/subscribers/{subscriber_id}/subscriptions/{other.slug}/frequency"
    assert api.put(missing, json={"frequency": "daily"}).status_code == 404
    assert _frequency(session, subscriber_id) == ["daily"]

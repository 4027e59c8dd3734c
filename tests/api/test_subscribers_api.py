"""Topics, subscribers, suppressions and imports over the API."""

from __future__ import annotations

import io

import sqlalchemy as sa
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, SubscriberStatus, SubscriptionStatus, Suppression
from tests.api.conftest import ApiClient, Seed, join_background_threads
from tests.factories import make_subscriber, make_topic


def test_topics_create_list_show_update(api: ApiClient) -> None:
    created = api.post("/topics", json={"slug": "kinship", "name": "Kinship care"})
    assert created.status_code == 201 and created.get_json()["opt_in"] == "double"
    assert [t["slug"] for t in api.get("/topics").get_json()["items"]] == ["kinship"]
    assert api.get("/topics/kinship").get_json()["name"] == "Kinship care"
    updated = api.patch("/topics/kinship", json={"name": "Kinship", "visibility": "private"})
    assert updated.get_json()["visibility"] == "private" and updated.get_json()["name"] == "Kinship"


def test_topic_errors(api: ApiClient) -> None:
    api.post("/topics", json={"slug": "kinship", "name": "Kinship care"})
    assert api.post("/topics", json={"slug": "kinship", "name": "Again"}).status_code == 409
    bad = api.post("/topics", json={"slug": "Not A Slug"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]["json"]) == {"slug", "name"}
    assert api.get("/topics/missing").status_code == 404
    assert api.patch("/topics/kinship", json={"name": " "}).status_code == 422


def test_create_get_update_subscriber(api: ApiClient, seed: Seed) -> None:
    body = {"email": "New.Reader@Example.com", "name": "New Reader", "topics": [seed.topic_slug],
            "attributes": {"state": "OH", "tz": "x"}}  # fmt: skip
    created = api.post("/subscribers", json=body)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["email"] == "new.reader@example.com" and data["consent_source"] == "api"
    assert data["attributes"] == {"state": "OH", "tz": "x"}
    assert data["subscriptions"][0] == {**data["subscriptions"][0], "status": "confirmed"}
    shown = api.get(f"/subscribers/{data['id']}").get_json()
    assert shown["name"] == "New Reader"
    changed = api.patch(f"/subscribers/{data['id']}", json={"timezone": "America/Chicago"})
    assert changed.get_json()["timezone"] == "America/Chicago"
    assert changed.get_json()["name"] == "New Reader"


def test_subscriber_errors(api: ApiClient, seed: Seed, session: Session) -> None:
    assert api.post("/subscribers", json={"email": "not-an-address"}).status_code == 422
    address = session.get(Subscriber, seed.subscriber_id).email
    session.rollback()  # the test's reads must not hold SQLite's write lock during requests
    assert api.post("/subscribers", json={"email": address}).status_code == 409
    api.post("/suppressions", json={"address": "blocked@example.com"})
    assert api.post("/subscribers", json={"email": "blocked@example.com"}).status_code == 409
    assert (
        api.post("/subscribers", json={"email": "a@example.com", "topics": ["nope"]}).status_code
        == 404
    )
    assert api.get("/subscribers/424242").status_code == 404
    bad_zone = api.patch(f"/subscribers/{seed.subscriber_id}", json={"timezone": "Mars/Base"})
    assert bad_zone.status_code == 422


def test_search_filters_and_walks_every_row_once(api: ApiClient, session: Session) -> None:
    topic = make_topic(session, slug="digest")
    for n in range(7):
        make_subscriber(session, f"walker{n}@example.com", topics=[topic] if n % 2 else [])
    make_subscriber(session, "other@example.org", status=SubscriberStatus.PAUSED)
    session.commit()
    seen: list[int] = []
    cursor = None
    while True:
        query = {"limit": 3, "q": "walker", **({"cursor": cursor} if cursor else {})}
        page = api.get("/subscribers", query_string=query).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    by_topic = api.get("/subscribers", query_string={"topic": "digest"}).get_json()["items"]
    assert len(by_topic) == 3
    paused = api.get("/subscribers", query_string={"status": "paused"}).get_json()["items"]
    assert [item["email"] for item in paused] == ["other@example.org"]
    assert api.get("/subscribers", query_string={"cursor": "garbage"}).status_code == 422
    assert api.get("/subscribers", query_string={"limit": 0}).status_code == 422


def test_control_characters_and_foreign_local_parts_are_refused(
    api: ApiClient, seed: Seed, session: Session
) -> None:
    body = {"email": "eve@example.com", "name": "Eve\r\nBcc: x@example.com"}
    refused = api.post("/subscribers", json=body)
    assert refused.status_code == 422
    message = refused.get_json()["error"]["message"]
    assert "name: contains a carriage return (U+000D)" in message
    body = {"email": "eve@example.com", "attributes": {"state": "O\tH"}}
    tabbed = api.post("/subscribers", json=body).get_json()["error"]["message"]
    assert "state: contains a tab (U+0009)" in tabbed
    curly = api.post("/subscribers", json={"email": "o\u2019brien@example.com"})
    assert curly.status_code == 422
    assert "U+2019 RIGHT SINGLE QUOTATION MARK" in curly.get_json()["error"]["message"]
    assert api.post("/subscribers", json={"email": "eve@bücher.example"}).status_code == 201
    patched = api.patch(f"/subscribers/{seed.subscriber_id}", json={"name": "A\nB"})
    assert patched.status_code == 422
    assert patched.get_json()["error"]["message"].startswith("The name contains a line break")
    topic = api.post("/topics", json={"slug": "kin", "name": "Kin\x1b[2J"})
    assert topic.status_code == 422
    assert topic.get_json()["error"]["message"].startswith(
        "The topic name contains a control character (U+001B)"
    )
    emails = set(session.scalars(sa.select(Subscriber.email)))
    assert "eve@example.com" not in emails and "eve@xn--bcher-kva.example" in emails


def test_bulk_upsert_reports_row_problems(api: ApiClient, seed: Seed, session: Session) -> None:
    existing = session.get(Subscriber, seed.subscriber_id).email
    session.rollback()
    rows = [{"email": existing, "name": "Renamed"}, {"email": "fresh@example.com"},
            {"email": "broken"}]  # fmt: skip
    result = api.post("/subscribers/bulk", json={"topics": [seed.topic_slug], "subscribers": rows})
    body = result.get_json()
    assert result.status_code == 200
    assert (body["created"], body["updated"], body["errors"]) == (1, 1, 1)
    assert body["problems"][0]["row"] == 3 and body["problems"][0]["column"] == "email"
    too_many = {"subscribers": [{"email": f"r{n}@example.com"} for n in range(1001)]}
    assert api.post("/subscribers/bulk", json=too_many).status_code == 422


def test_subscribe_and_unsubscribe(api: ApiClient, seed: Seed, session: Session) -> None:
    single = make_topic(session, slug="alerts", opt_in="single")
    double = make_topic(session, slug="digest")
    session.commit()
    path = f"/subscribers/{seed.subscriber_id}"
    result = api.post(f"{path}/subscribe", json={"topics": ["alerts", "digest"]}).get_json()
    assert result["started"] == ["alerts"] and result["pending"] == ["digest"]
    assert result["confirmation_queued"] is True and result["confirmation_sent"] is True
    left = api.post(f"{path}/unsubscribe", json={"topics": ["alerts"]}).get_json()
    statuses = {s["topic"]: s["status"] for s in left["subscriptions"]}
    assert statuses["alerts"] == SubscriptionStatus.UNSUBSCRIBED
    assert statuses[seed.topic_slug] == SubscriptionStatus.CONFIRMED
    assert api.post(f"{path}/unsubscribe", json={}).status_code == 422
    everywhere = api.post(f"{path}/unsubscribe", json={"everywhere": True}).get_json()
    assert everywhere["status"] == "unsubscribed"
    assert single.id and double.id


def test_erase_subscriber(api: ApiClient, seed: Seed, session: Session) -> None:
    assert api.delete(f"/subscribers/{seed.subscriber_id}").status_code == 204
    assert api.get(f"/subscribers/{seed.subscriber_id}").status_code == 404
    assert api.delete(f"/subscribers/{seed.subscriber_id}").status_code == 404
    assert session.query(Suppression).filter_by(reason="erased").count() == 1


def test_suppressions_add_list_lift(api: ApiClient) -> None:
    added = api.post("/suppressions", json={"address": "Gone@Example.com", "reason": "complaint"})
    assert added.status_code == 201 and added.get_json()["address"] == "gone@example.com"
    page = api.get("/suppressions", query_string={"q": "gone"}).get_json()
    assert [item["reason"] for item in page["items"]] == ["complaint"]
    entry_id = added.get_json()["id"]
    assert api.delete(f"/suppressions/{entry_id}").status_code == 204
    assert api.delete(f"/suppressions/{entry_id}").status_code == 404
    assert (
        api.post("/suppressions", json={"address": "x@example.com", "reason": "erased"}).status_code
        == 422
    )


def test_import_runs_and_reports_progress(api: ApiClient, seed: Seed) -> None:
    csv = b"email,name,state\nimported@example.com,Imp Orted,OH\nbad-address,,\n"
    started = api.post(
        "/imports", data={"file": (io.BytesIO(csv), "list.csv"), "topics": seed.topic_slug}
    )
    assert started.status_code == 202, started.get_json()
    join_background_threads()
    job = api.get(f"/imports/{started.get_json()['id']}").get_json()
    assert job["status"] == "finished" and (job["created"], job["errors"]) == (1, 1)
    assert api.get("/imports/999").status_code == 404
    assert api.post("/imports", data={"topics": ""}).status_code == 422


def test_api_suppressions_are_in_the_audit_log(api: ApiClient, session) -> None:
    import sqlalchemy as sa

    from engine.audit import AuditEntry

    added = api.post("/suppressions", json={"address": "audited@example.com", "reason": "manual"})
    assert added.status_code == 201, added.get_json()
    assert api.delete(f"/suppressions/{added.get_json()['id']}").status_code == 204
    actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["suppression.add", "suppression.lift"]

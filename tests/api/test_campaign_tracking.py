"""The campaign API takes the per-campaign choice of aggregate tracking, off by default."""

from __future__ import annotations

from tests.api.conftest import ApiClient, Seed


def test_tracking_is_off_unless_asked_for(api: ApiClient, seed: Seed) -> None:
    body = {"issue_id": seed.issue_id, "topic_ids": [seed.topic_id]}
    plain = api.post("/campaigns", json=body)
    assert plain.status_code == 201 and plain.get_json()["tracking"] is False
    tracked = api.post("/campaigns", json={**body, "tracking": True})
    assert tracked.status_code == 201 and tracked.get_json()["tracking"] is True
    assert api.get(f"/campaigns/{tracked.get_json()['id']}").get_json()["tracking"] is True
    refused = api.post("/campaigns", json={**body, "tracking": "sometimes"})
    assert refused.status_code == 422

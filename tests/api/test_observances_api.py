"""Observances over the API: a year's calendar and staff-defined observances."""

from __future__ import annotations

from tests.api.conftest import ApiClient, Seed

KINSHIP = {
    "slug": "relatives-caring-month", "name": "Kinship Care Month", "kind": "month",
    "rule": {"type": "month", "month": 9}, "topic": "foster-care", "colour": "#1f5f8b",
    "description": "Honouring relatives who raise children.",
}  # fmt: skip


def test_calendar_of_a_year(api: ApiClient) -> None:
    calendar = api.get("/observances", query_string={"year": 2027}).get_json()
    assert calendar["year"] == 2027 and calendar["items"]
    april = [item for item in calendar["items"] if item["slug"] == "child-abuse-prevention-month"]
    assert april[0]["start"] == "2027-04-01" and april[0]["end"] == "2027-04-30"
    assert api.get("/observances", query_string={"year": 1}).status_code == 422


def test_staff_observances_crud(api: ApiClient, seed: Seed) -> None:
    created = api.post("/observances/staff", json=KINSHIP)
    assert created.status_code == 201, created.get_json()
    assert api.post("/observances/staff", json=KINSHIP).status_code == 422
    assert (
        api.get("/observances/staff/relatives-caring-month").get_json()["name"]
        == "Kinship Care Month"
    )
    changed = {**{k: v for k, v in KINSHIP.items() if k != "slug"}, "name": "Kinship Month"}
    assert (
        api.put("/observances/staff/relatives-caring-month", json=changed).get_json()["name"]
        == "Kinship Month"
    )
    calendar = api.get("/observances", query_string={"year": 2027}).get_json()["items"]
    assert any(
        item["slug"] == "relatives-caring-month" and item["source"] == "staff" for item in calendar
    )
    assert api.delete("/observances/staff/relatives-caring-month").get_json()["retired"] is True
    assert [row["slug"] for row in api.get("/observances/staff").get_json()["items"]] == [
        "relatives-caring-month"
    ]
    assert api.get("/observances/staff/nope").status_code == 404
    bad = api.post("/observances/staff", json={**KINSHIP, "slug": "x", "topic": "no-topic"})
    assert bad.status_code == 422

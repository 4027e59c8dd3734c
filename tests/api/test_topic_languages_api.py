"""A topic's other languages' forms over the API."""

from __future__ import annotations

from tests.api.conftest import ApiClient


def test_the_api_sets_and_shows_the_spanish_forms(api: ApiClient) -> None:
    spanish = {"es": {"name": "Cuidado familiar"}}
    created = api.post(
        "/topics", json={"slug": "kin", "name": "Kinship care", "translations": spanish}
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["translations"] == {"es": {"name": "Cuidado familiar"}}
    change = {"es": {"description": "Apoyo.", "category": "Familias"}}
    updated = api.patch("/topics/kin", json={"translations": change})
    assert updated.get_json()["translations"] == {
        "es": {"name": "Cuidado familiar", "description": "Apoyo.", "category": "Familias"}
    }
    unknown = api.patch("/topics/kin", json={"translations": {"fr": {"name": "Parenté"}}})
    assert unknown.status_code == 422
    broken = api.patch("/topics/kin", json={"translations": {"es": {"name": "a\x1b[2J"}}})
    assert broken.status_code == 422 and "Spanish name" in broken.get_json()["error"]["message"]

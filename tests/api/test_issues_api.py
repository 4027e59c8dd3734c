"""Issues over the API: drafts, revisions with conflicts, rendering, checks and approval."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from engine.audit import AuditEntry
from tests.api.conftest import ApiClient, Seed, content


def test_create_list_show(api: ApiClient, seed: Seed) -> None:
    created = api.post(
        "/issues", json={"content": content(title="May"), "topic_ids": [seed.topic_id]}
    )
    assert created.status_code == 201
    data = created.get_json()
    assert (
        data["status"] == "draft" and data["revision"] == 1 and data["topic_ids"] == [seed.topic_id]
    )
    assert data["content"]["title"] == "May"
    listed = api.get("/issues", query_string={"status": "draft"}).get_json()
    assert [item["id"] for item in listed["items"]] == [seed.issue_id, data["id"]]
    assert "content" not in listed["items"][0]
    assert api.get(f"/issues/{data['id']}").get_json()["slug"] == "may"


def test_invalid_content_lists_each_problem(api: ApiClient) -> None:
    response = api.post("/issues", json={"content": {"layout": "nope", "blocks": "x"}})
    assert response.status_code == 422
    paths = {problem["path"] for problem in response.get_json()["error"]["details"]}
    assert {"title", "blocks"} <= paths
    assert api.post("/issues", json={}).status_code == 422
    assert api.get("/issues/9999").status_code == 404


def test_a_title_or_subject_with_a_line_break_is_refused(api: ApiClient) -> None:
    response = api.post("/issues", json={"content": content(subject="May\r\nBcc: x@example.org")})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"path": "subject", "message": "contains a carriage return (U+000D); write it on one line"}
    ]
    assert api.post("/issues", json={"content": content(title="May\nJune")}).status_code == 422


def test_update_with_base_revision_and_conflict(
    api: ApiClient, seed: Seed, session: Session
) -> None:
    path = f"/issues/{seed.issue_id}"
    saved = api.put(path, json={"base_revision": 1, "content": content(title="Second")})
    assert saved.status_code == 200 and saved.get_json()["revision"] == 2
    stale = api.put(path, json={"base_revision": 1, "content": content(title="Lost")})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["details"] == {"current_revision": 2}
    actors = session.query(AuditEntry.actor).filter_by(action="issue.save").all()
    assert actors == [("admin-robot@agency.example.org",)]


def test_revisions_diff_and_restore(api: ApiClient, seed: Seed) -> None:
    path = f"/issues/{seed.issue_id}"
    api.put(path, json={"base_revision": 1, "content": content(title="Second")})
    revisions = api.get(f"{path}/revisions").get_json()["items"]
    assert [r["number"] for r in revisions] == [2, 1] and revisions[0][
        "saved_by"
    ] == "admin-robot@agency.example.org"
    assert api.get(f"{path}/revisions/1").get_json()["content"]["title"] == "Prevention Month"
    assert api.get(f"{path}/revisions/7").status_code == 404
    diff = api.get(f"{path}/diff").get_json()
    assert (diff["old"], diff["new"]) == (1, 2)
    assert diff["changes"][0]["label"] == "Title"
    assert {"op": "+", "text": "Second"} in diff["changes"][0]["lines"]
    restored = api.post(f"{path}/revisions/1/restore").get_json()
    assert restored["revision"] == 3 and restored["title"] == "Prevention Month"


def test_render_preview_and_checks(api: ApiClient, seed: Seed) -> None:
    path = f"/issues/{seed.issue_id}"
    rendered = api.get(f"{path}/render").get_json()
    assert rendered["valid"] and "April is Prevention Month." in rendered["html"]
    assert "April is Prevention Month." in rendered["text"]
    checks = api.get(f"{path}/checks").get_json()
    assert checks["ok"] is True and isinstance(checks["checks"], list)
    preview = api.post(f"{path}/preview", json={"content": content(title="Unsaved draft")})
    assert preview.status_code == 200 and "Unsaved draft" in preview.get_json()["html"]
    broken = content(blocks=[{"id": "x", "type": "heading"}])
    assert api.post(f"{path}/preview", json={"content": broken}).get_json()["valid"] is False


def test_review_and_approval(api_as: Callable[[str], ApiClient], seed: Seed) -> None:
    editor, approver = api_as("editor"), api_as("approver")
    path = f"/issues/{seed.issue_id}"
    assert approver.post(f"{path}/approve", json={"topic_ids": [seed.topic_id]}).status_code == 409
    assert editor.post(f"{path}/submit").get_json()["status"] == "in_review"
    assert editor.post(f"{path}/submit").status_code == 409
    assert approver.post(f"{path}/approve", json={"topic_ids": []}).status_code == 422
    approved = approver.post(f"{path}/approve", json={"topic_ids": [seed.topic_id]})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    returned = approver.post(f"{path}/return", json={"reason": "Typo"}).get_json()
    assert returned["status"] == "draft" and returned["approved_at"] is None


def test_an_unknown_observance_is_refused(api: ApiClient, seed: Seed) -> None:
    refused = api.post(
        "/issues",
        json={"content": content(), "topic_ids": [seed.topic_id], "observance_slug": "no-such-day"},
    )
    assert refused.status_code == 422
    assert "There is no observance 'no-such-day'" in refused.get_json()["error"]["message"]


def test_the_api_takes_a_comment(api_as: Callable[[str], ApiClient], seed: Seed) -> None:
    editor, approver = api_as("editor"), api_as("approver")
    path = f"/issues/{seed.issue_id}"
    assert editor.post(f"{path}/submit").status_code == 200
    approved = approver.post(
        f"{path}/approve", json={"topic_ids": [seed.topic_id], "comment": "Fine\nby me"}
    )
    assert approved.status_code == 200
    refused = approver.post(f"{path}/return", json={"comment": "Bad\x1bescape"})
    assert refused.status_code == 422
    assert "line breaks are fine" in refused.get_json()["error"]["message"]
    assert approver.post(f"{path}/return", json={"comment": "Wrong year"}).status_code == 200

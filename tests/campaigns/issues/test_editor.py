"""Editor endpoints: save with a base revision, conflicts, preview, history and restore."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueRevision
from campaigns.issues.service import create_issue
from tests.campaigns.issues.issue_data import basic
from tests.factories import csrf_token_from, login, make_user

JSON = {"Accept": "application/json"}


@pytest.fixture
def issue_id(session: Session) -> int:
    author = make_user(session, "editor", email="author@agency.example.org")
    issue = create_issue(session, basic(), author_id=author.id)
    session.commit()
    return issue.id


def _save(client: FlaskClient, issue_id: int, base: int, token: str, **changes) -> object:
    return client.post(
        f"/admin/issues/{issue_id}/content",
        json={"base_revision": base, "content": basic(**changes)},
        headers={**JSON, "X-CSRFToken": token},
    )


def _token(client: FlaskClient, issue_id: int) -> str:
    page = client.get(f"/admin/issues/{issue_id}/edit").get_data(as_text=True)
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_edit_page_loads_the_issue(editor_client: FlaskClient, issue_id: int) -> None:
    page = editor_client.get(f"/admin/issues/{issue_id}/edit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="editor-state"' in body and "Prevention Month" in body
    assert 'sandbox=""' in body


def test_save_needs_the_csrf_header(editor_client: FlaskClient, issue_id: int) -> None:
    response = _save(editor_client, issue_id, 1, "", title="No token")
    assert response.status_code == 400


def test_save_bumps_the_revision(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    response = _save(editor_client, issue_id, 1, token, title="Renamed")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revision"] == 2
    session.expire_all()
    assert session.get(Issue, issue_id).title == "Renamed"


def test_two_concurrent_saves_give_a_conflict_not_a_lost_edit(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    first = _save(editor_client, issue_id, 1, token, title="Tab one")
    second = _save(editor_client, issue_id, 1, token, title="Tab two")
    assert first.status_code == 200
    assert second.status_code == 409
    error = second.get_json()["error"]
    assert error["code"] == "conflict"
    assert "saved by someone else" in error["message"]
    assert error["details"]["current_revision"] == 2
    session.expire_all()
    assert session.get(Issue, issue_id).title == "Tab one"
    assert session.query(IssueRevision).filter_by(issue_id=issue_id).count() == 2
    session.rollback()
    compare = editor_client.post(
        f"/admin/issues/{issue_id}/compare",
        json={"content": basic(title="Tab two")},
        headers={**JSON, "X-CSRFToken": token},
    ).get_json()
    assert compare["revision"] == 2 and "Tab two" in compare["html"]
    kept = _save(editor_client, issue_id, compare["revision"], token, title="Tab two")
    assert kept.status_code == 200 and kept.get_json()["revision"] == 3


def test_an_unfinished_block_saves_and_is_reported_on_its_block(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    content = basic()
    content["blocks"].append({"id": "facts", "type": "bullets", "items": [{"text": ""}]})
    content["blocks"].append({"id": "pic", "type": "image", "src": "https://example.org/a.png"})
    response = editor_client.post(
        f"/admin/issues/{issue_id}/content",
        json={"base_revision": 1, "content": content},
        headers={**JSON, "X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    problems = {(p["block_id"], p["field"], p["message"]) for p in response.get_json()["problems"]}
    assert problems == {
        ("facts", "items[0].text", "Item 1 has no text yet."),
        ("pic", "alt", "The image has no alt text yet; say what it shows, or mark it decorative."),
    }
    session.expire_all()
    stored = session.get(Issue, issue_id)
    assert stored.revision == 2 and stored.content["blocks"][2]["items"] == [
        {"text": "", "refs": []}
    ]
    session.rollback()
    refused = editor_client.post(f"/admin/issues/{issue_id}/submit", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Item 1 has no text yet." in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Issue, issue_id).status == "draft"


def test_what_is_not_issue_content_is_refused_with_paths(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    content = basic()
    content["blocks"].append({"id": "facts", "type": "bullets", "items": "one, two"})
    response = editor_client.post(
        f"/admin/issues/{issue_id}/content",
        json={"base_revision": 1, "content": content},
        headers={**JSON, "X-CSRFToken": token},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [
        {"path": "blocks[2].items", "message": "must be a list"}
    ]
    session.expire_all()
    assert session.get(Issue, issue_id).revision == 1


def test_saves_of_one_editor_page_gather_into_one_revision(
    editor_client: FlaskClient, issue_id: int
) -> None:
    token = _token(editor_client, issue_id)
    revision = 1
    for title in ("One", "Two", "Three"):
        saved = editor_client.post(
            f"/admin/issues/{issue_id}/content",
            json={"base_revision": revision, "content": basic(title=title), "editing_session": "a"},
            headers={**JSON, "X-CSRFToken": token},
        )
        revision = saved.get_json()["revision"]
    assert revision == 4
    history = editor_client.get(f"/admin/issues/{issue_id}/history").get_data(as_text=True)
    assert history.count("Restore revision") == 1
    assert 'href="/admin/issues/1/diff?to=4&amp;from=1"' in history
    diff = editor_client.get(f"/admin/issues/{issue_id}/diff").get_data(as_text=True)
    assert "Changes from revision 1 to 4" in diff and "Three" in diff


def test_a_subject_with_a_line_break_is_refused_naming_it(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    response = _save(editor_client, issue_id, 1, token, subject="Spring\r\nBcc: x@example.org")
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert details == [
        {"path": "subject", "message": "contains a carriage return (U+000D); write it on one line"}
    ]
    session.expire_all()
    assert session.get(Issue, issue_id).revision == 1


def test_a_new_issue_title_with_a_line_break_is_refused(
    editor_client: FlaskClient, session: Session
) -> None:
    token = csrf_token_from(editor_client.get("/admin/issues/new").get_data(as_text=True))
    response = editor_client.post(
        "/admin/issues/new", data={"csrf_token": token, "title": "Digest\nBcc", "layout": "digest"}
    )
    assert response.status_code == 422
    assert "title contains a line break (U+000A)" in response.get_data(as_text=True)
    assert session.query(Issue).count() == 0


def test_preview_reports_checks_linked_to_blocks(editor_client: FlaskClient, issue_id: int) -> None:
    token = _token(editor_client, issue_id)
    content = basic()
    content["blocks"].append({"id": "pic", "type": "image", "src": "https://example.org/a.png"})
    data = editor_client.post(
        f"/admin/issues/{issue_id}/preview",
        json={"content": content},
        headers={**JSON, "X-CSRFToken": token},
    ).get_json()
    assert "April is Prevention Month" in data["html"]
    assert "April is Prevention Month" in data["text"]
    alt = [c for c in data["checks"] if c["block_id"] == "pic"]
    assert alt and alt[0]["severity"] == "error" and "alt" in alt[0]["message"]
    assert data["valid"] is False


def test_history_diff_and_restore(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    token = _token(editor_client, issue_id)
    changed = basic(title="Second title")
    changed["blocks"][0]["text"] = "April is National Child Abuse Prevention Month."
    editor_client.post(
        f"/admin/issues/{issue_id}/content",
        json={"base_revision": 1, "content": changed},
        headers={**JSON, "X-CSRFToken": token},
    )
    history = editor_client.get(f"/admin/issues/{issue_id}/history").get_data(as_text=True)
    assert "Restore revision 1" in history
    diff = editor_client.get(f"/admin/issues/{issue_id}/diff?from=1&to=2").get_data(as_text=True)
    assert "<del>" in diff and "National Child Abuse Prevention Month" in diff
    restored = editor_client.post(
        f"/admin/issues/{issue_id}/history/1/restore", data={"csrf_token": token}
    )
    assert restored.status_code == 302
    session.expire_all()
    issue = session.get(Issue, issue_id)
    assert issue.revision == 3 and issue.title == "Prevention Month"


def test_new_issue_from_a_starter_or_a_copy(
    editor_client: FlaskClient, issue_id: int, session: Session
) -> None:
    page = editor_client.get("/admin/issues/new").get_data(as_text=True)
    token = csrf_token_from(page)
    starter = editor_client.post(
        "/admin/issues/new", data={"csrf_token": token, "title": "Digest", "layout": "digest"}
    )
    copy = editor_client.post(
        "/admin/issues/new",
        data={
            "csrf_token": token,
            "title": "Copy",
            "layout": "spotlight",
            "source_issue": issue_id,
        },
    )
    assert starter.status_code == copy.status_code == 302
    issues = {i.title: i for i in session.query(Issue)}
    assert issues["Digest"].layout == "digest"
    assert issues["Digest"].content["blocks"][0]["type"] == "toc"
    assert issues["Copy"].content["blocks"] == issues["Prevention Month"].content["blocks"]


def test_approvers_cannot_save(client: FlaskClient, issue_id: int, session: Session) -> None:
    approver = make_user(session, "approver")
    session.commit()
    login(client, approver)
    client.application.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        f"/admin/issues/{issue_id}/content",
        json={"base_revision": 1, "content": basic()},
        headers=JSON,
    )
    assert response.status_code == 403


def test_an_issue_for_an_observance_takes_its_colour_and_banner(session: Session, settings) -> None:
    from campaigns.issues.compiled import render_stored_issue

    issue = create_issue(session, basic())
    plain = render_stored_issue(settings, issue)
    issue.observance_slug = "human-trafficking-prevention-month"
    session.flush()
    themed = render_stored_issue(settings, issue)
    assert "#123f73" not in plain.html.lower()
    assert "#123f73" in themed.html.lower()
    assert "Know the signs. Protect our youth." in themed.html
    # The content's own theme still wins over the observance's.
    issue.content = {**basic(), "theme": {"accent": "#0b5a6e"}}
    session.flush()
    assert "#123f73" not in render_stored_issue(settings, issue).html.lower()


def test_a_spanish_issue_for_an_observance_takes_its_spanish_banner(
    session: Session, settings
) -> None:
    from campaigns.issues.compiled import render_stored_issue

    issue = create_issue(session, basic(language="es"))
    issue.observance_slug = "human-trafficking-prevention-month"
    session.flush()
    assert issue.language == "es"
    html = render_stored_issue(settings, issue).html
    assert "Conozca las señales. Proteja a nuestros jóvenes." in html
    assert "Know the signs" not in html

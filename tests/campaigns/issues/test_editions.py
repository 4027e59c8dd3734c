"""Editions: a Spanish issue made from the English one, linked to it and approved on its own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaigns.issues.editions import (
    create_edition,
    edition_check,
    find_edition,
    is_out_of_date,
    list_editions,
    original_blocks,
)
from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import approve, submit_for_review
from engine.config import Settings
from engine.errors import Conflict, ValidationFailed
from engine.users import create_api_token
from tests.campaigns.issues.issue_data import basic
from tests.factories import csrf_token_from, make_topic, make_user


def test_the_spanish_edition_copies_the_blocks_and_settings(session: Session) -> None:
    editor = make_user(session, "editor")
    topic = make_topic(session, "Prevention")
    original = create_issue(session, basic(), author_id=editor.id, topics=[topic])
    original.observance_slug = None
    edition = create_edition(session, original, "es", editor)

    assert edition.edition_of_id == original.id and edition.original is original
    assert edition.language == "es" and edition.content["language"] == "es"
    assert [b["id"] for b in edition.content["blocks"]] == ["intro", "more"]
    assert edition.layout == original.layout and edition.topics == [topic]
    assert edition.slug == f"{original.slug}-es"
    assert edition.translated_from_revision == original.revision
    assert find_edition(session, original, "es") is edition
    assert list_editions(session, original) == [edition]
    assert original_blocks(edition)["intro"]["text"] == "April is Prevention Month."
    assert not is_out_of_date(edition)


def test_one_edition_per_language_and_none_of_an_edition(session: Session) -> None:
    editor = make_user(session, "editor")
    original = create_issue(session, basic(), author_id=editor.id)
    edition = create_edition(session, original, "es", editor)
    with pytest.raises(Conflict):
        create_edition(session, original, "es", editor)
    with pytest.raises(Conflict):
        create_edition(session, edition, "es", editor)
    with pytest.raises(ValidationFailed):
        create_edition(session, original, "fr", editor)


def test_an_english_save_makes_the_edition_out_of_date_until_it_is_saved(
    session: Session,
) -> None:
    editor = make_user(session, "editor")
    original = create_issue(session, basic(), author_id=editor.id)
    edition = create_edition(session, original, "es", editor)
    save_revision(session, original, basic(title="Changed"), base_revision=1, saved_by_id=editor.id)
    assert is_out_of_date(edition)
    spanish = {**edition.content, "title": "Mes de la prevención", "language": "en"}
    save_revision(session, edition, spanish, base_revision=1, saved_by_id=editor.id)
    assert not is_out_of_date(edition)
    assert edition.language == "es" and edition.content["language"] == "es"


# ---- staff pages, API and CLI ---------------------------------------------------------------

JSON = {"Accept": "application/json"}


def _english(session: Session) -> int:
    author = make_user(session, "editor", email="author@agency.example.org")
    topic = make_topic(session)
    issue = create_issue(session, basic(), author_id=author.id, topics=[topic])
    session.commit()
    return issue.id


def test_the_editor_creates_the_spanish_edition_and_shows_the_english_beside_it(
    editor_client: FlaskClient, session: Session
) -> None:
    english_id = _english(session)
    page = editor_client.get(f"/admin/issues/{english_id}/edit").get_data(as_text=True)
    assert "Create the Spanish edition" in page
    created = editor_client.post(
        f"/admin/issues/{english_id}/editions",
        data={"language": "es", "csrf_token": csrf_token_from(page)},
    )
    assert created.status_code == 302
    edition = session.scalars(sa.select(Issue).where(Issue.edition_of_id == english_id)).one()
    session.commit()
    assert created.headers["Location"].endswith(f"/admin/issues/{edition.id}/edit")

    page = editor_client.get(f"/admin/issues/{english_id}/edit").get_data(as_text=True)
    assert "Open the Spanish edition" in page and "Create the Spanish edition" not in page
    page = editor_client.get(f"/admin/issues/{edition.id}/edit").get_data(as_text=True)
    assert 'id="edition-of"' in page and 'id="edition-out-of-date"' in page
    state = editor_client.get(f"/admin/issues/{edition.id}/content").get_json()
    assert state["original"]["blocks"]["intro"] == ["text: April is Prevention Month."]
    assert state["original"]["out_of_date"] is False


def test_the_english_edited_after_the_spanish_was_approved_gives_the_warning(
    editor_client: FlaskClient, session: Session, settings: Settings
) -> None:
    english_id = _english(session)
    english = session.get(Issue, english_id)
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    edition = create_edition(session, english, "es", editor)
    spanish = {**edition.content, "title": "Mes de la prevención"}
    save_revision(session, edition, spanish, base_revision=1, saved_by_id=editor.id)
    submit_for_review(session, edition, editor, settings=settings)
    approve(session, edition, approver, [t.id for t in edition.topics], None)
    session.commit()
    assert edition_check(edition) is None

    save_revision(session, english, basic(title="New"), base_revision=1, saved_by_id=editor.id)
    session.commit()
    assert edition.status == "approved" and is_out_of_date(edition)
    check = edition_check(edition)
    assert check is not None and check.severity == "warning"
    page = editor_client.get(f"/admin/issues/{edition.id}/edit").get_data(as_text=True)
    assert 'id="edition-out-of-date" role="status">' in page
    token = csrf_token_from(page)
    preview = editor_client.post(
        f"/admin/issues/{edition.id}/preview", json={}, headers={**JSON, "X-CSRFToken": token}
    ).get_json()
    assert "edition_out_of_date" in [c["code"] for c in preview["checks"]]
    review = editor_client.get(f"/admin/issues/{edition.id}/review").get_data(as_text=True)
    assert "was changed after this Spanish edition" in review

    saved = editor_client.post(
        f"/admin/issues/{edition.id}/content",
        json={"base_revision": edition.revision, "content": spanish, "original_revision": 2},
        headers={**JSON, "X-CSRFToken": token},
    ).get_json()
    assert saved["original"]["out_of_date"] is False and saved["status"] == "draft"


def test_the_api_creates_and_lists_editions(client: FlaskClient, session: Session) -> None:
    english_id = _english(session)
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="editions")
    session.commit()
    api = {"Authorization": f"Bearer {secret}"}
    created = client.post(
        f"/api/v1/issues/{english_id}/editions", json={"language": "es"}, headers=api
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["edition_of_id"] == english_id and body["language"] == "es"
    assert body["out_of_date"] is False
    again = client.post(
        f"/api/v1/issues/{english_id}/editions", json={"language": "es"}, headers=api
    )
    assert again.status_code == 409
    listed = client.get(f"/api/v1/issues/{english_id}/editions", headers=api).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]


def test_the_cli_creates_the_edition(runner: FlaskCliRunner, session: Session) -> None:
    english_id = _english(session)
    result = runner.invoke(args=["issues", "edition", str(english_id), "--language", "es"])
    assert result.exit_code == 0, result.output
    assert f"the es edition of {english_id}" in result.output
    again = runner.invoke(args=["issues", "edition", str(english_id), "--language", "es"])
    assert again.exit_code != 0 and "already has a Spanish edition" in again.output


def test_the_api_and_cli_checks_warn_of_an_out_of_date_edition(
    client: FlaskClient, runner: FlaskCliRunner, session: Session
) -> None:
    english_id = _english(session)
    english = session.get(Issue, english_id)
    assert english is not None
    edition = create_edition(session, english, "es", "test")
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="editions")
    session.commit()
    api = {"Authorization": f"Bearer {secret}"}

    def codes(response: TestResponse) -> list[str]:
        return [check["code"] for check in response.get_json()["checks"]]

    base = f"/api/v1/issues/{edition.id}"
    assert "edition_out_of_date" not in codes(client.get(f"{base}/checks", headers=api))
    save_revision(session, english, basic(title="New"), base_revision=1, saved_by_id=None)
    session.commit()
    assert "edition_out_of_date" in codes(client.get(f"{base}/render", headers=api))
    assert "edition_out_of_date" in codes(client.get(f"{base}/checks", headers=api))
    preview = client.post(f"{base}/preview", json={"content": edition.content}, headers=api)
    assert "edition_out_of_date" in codes(preview)
    english_checks = client.get(f"/api/v1/issues/{english_id}/checks", headers=api)
    assert "edition_out_of_date" not in codes(english_checks)

    checked = runner.invoke(args=["issues", "checks", str(edition.id), "--json"])
    assert checked.exit_code == 0, checked.output
    assert "edition_out_of_date" in checked.output
    rendered = runner.invoke(args=["issues", "render", str(edition.id), "--out", "-"])
    assert rendered.exit_code == 0
    assert "Warning: The original was changed after this Spanish edition" in rendered.stderr
    assert "Warning" not in rendered.stdout

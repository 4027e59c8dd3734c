"""The welcome email page, the API and the CLI: create, state, on and off, send, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.welcome import service
from campaigns.welcome.models import WelcomeMessage
from campaigns.welcome.service import Scope
from engine.audit import AuditEntry
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from engine.scheduler import JOBS, run_job
from subscribers.models import Topic
from tests.api.conftest import ApiClient, api, api_as, secrets  # noqa: F401  (fixtures)
from tests.campaigns.welcome.conftest import Staff, approve_welcome, join
from tests.factories import login, make_user, read_rows
from tests.html_validator import html_errors


@pytest.mark.usefixtures("csrf_disabled")
def test_the_page_creates_a_welcome_shows_its_state_and_turns_it_off(
    editor_client: FlaskClient,
    session: Session,
    settings: Settings,
    staff: Staff,
    topics: dict[str, Topic],
    tmp_path: Path,
) -> None:
    page = editor_client.get("/admin/welcome/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Welcome email</h1>" in html and "There is no welcome email yet" in html
    assert '<label for="scope">Who gets it</label>' in html
    assert '<option value="category:Practice">Newcomers to Practice</option>' in html
    pages = {"empty": html}

    created = editor_client.post("/admin/welcome/", data={"scope": "category:Practice"})
    (welcome,) = read_rows(session, WelcomeMessage)
    assert created.status_code == 302
    assert created.headers["Location"] == f"/admin/issues/{welcome.issue_id}/edit"
    html = editor_client.get("/admin/welcome/").get_data(as_text=True)
    assert "Created the welcome email for topics in practice." in html
    assert "Topics in Practice" in html
    # The status must not read "On" beside an approval that reads "Draft".
    waits = "Turned on; waits for approval — nothing is sent until the issue is approved"
    assert f'<span class="status">{waits}</span>' in html and "<td>Draft" in html
    assert "On, waiting" not in html
    # The editor is the one every issue uses: the page says what to do there and to come back.
    assert 'leave its "Create a campaign" alone' in html
    assert f'href="/admin/issues/{welcome.issue_id}/edit" aria-label="Edit in' in html
    assert '<option value="category:Practice">' not in html  # one per category
    preview = editor_client.get(f"/admin/welcome/{welcome.id}/preview.html")
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "What you signed up for" in shown
    assert "Foster care" in shown and "Kinship care" in shown and "Policy" not in shown

    approve_welcome(session, settings, staff, session.merge(welcome))
    session.commit()
    html = editor_client.get("/admin/welcome/").get_data(as_text=True)
    assert "On: newcomers get it" in html and "Approved" in html and "0 sent" in html
    pages["approved"] = html

    off = editor_client.post(f"/admin/welcome/{welcome.id}/off", follow_redirects=True)
    html = off.get_data(as_text=True)
    assert "is off: nobody gets it now." in html and '<span class="status">Off</span>' in html
    on = editor_client.post(f"/admin/welcome/{welcome.id}/on", follow_redirects=True)
    assert "is on for subscriptions confirmed from now." in on.get_data(as_text=True)
    actions = [entry.action for entry in session.scalars(sa.select(AuditEntry))]
    assert {"welcome.create", "welcome.off", "welcome.on"} <= set(actions)
    assert html_errors(pages, tmp_path) == []


@pytest.mark.usefixtures("csrf_disabled")
def test_the_page_refuses_bad_input_and_a_second_welcome(
    editor_client: FlaskClient, session: Session, topics: dict[str, Topic]
) -> None:
    missing = editor_client.post("/admin/welcome/", data={"scope": ""})
    assert missing.status_code == 422
    assert "Choose whom the welcome email is for." in missing.get_data(as_text=True)
    unknown = editor_client.post("/admin/welcome/", data={"scope": "category:Nope"})
    assert unknown.status_code == 422
    assert "No topic is in the category" in unknown.get_data(as_text=True)
    assert editor_client.post("/admin/welcome/", data={"scope": "all"}).status_code == 302
    again = editor_client.post("/admin/welcome/", data={"scope": "all"})
    assert again.status_code == 409 and "already have a welcome" in again.get_data(as_text=True)
    assert editor_client.post("/admin/welcome/99/off").status_code == 404


def test_approvers_neither_see_nor_open_the_page(
    client: FlaskClient, session: Session, topics: dict[str, Topic]
) -> None:
    user = make_user(session, role="approver")
    session.commit()
    login(client, user)
    assert client.get("/admin/welcome/").status_code == 403
    assert 'href="/admin/welcome/"' not in client.get("/admin/").get_data(as_text=True)


def test_the_api_creates_lists_turns_off_and_sends(
    api: ApiClient,  # noqa: F811
    session: Session,
    settings: Settings,
    staff: Staff,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
) -> None:
    created = api.post("/welcome", json={})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["for_all"] is True and body["category"] is None
    assert body["state"] == "awaiting_approval" and body["issue_status"] == "draft"
    assert api.post("/welcome", json={"category": None}).status_code == 409
    policy = api.post("/welcome", json={"category": "Policy"}).get_json()
    assert policy["scope"] == "Topics in Policy"

    approve_welcome(session, settings, staff, session.get(WelcomeMessage, body["id"]))
    session.commit()
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    sent = api.post("/welcome/send-pending")
    assert sent.status_code == 200 and sent.get_json()["sent"] == 1
    assert [message.to_address for message in outbox.sent] == ["kim@example.org"]

    listed = api.get("/welcome").get_json()["items"]
    assert [(row["scope"], row["state"], row["deliveries"]) for row in listed] == [
        ("Every topic", "on", {"sent": 1}),
        ("Topics in Policy", "awaiting_approval", {}),
    ]
    off = api.patch(f"/welcome/{body['id']}", json={"active": False}).get_json()
    assert off["state"] == "off" and off["active"] is False
    assert api.get(f"/welcome/{body['id']}").get_json()["deliveries"] == {"sent": 1}


def test_the_api_answers_bad_input_with_a_clear_error(
    api_as: Callable[[str], ApiClient],  # noqa: F811
    topics: dict[str, Topic],
) -> None:
    editor = api_as("editor")
    unknown = editor.post("/welcome", json={"category": "Nope"})
    assert unknown.status_code == 422
    assert "No topic is in the category 'Nope'" in unknown.get_json()["error"]["message"]
    assert editor.post("/welcome", json={"category": 7}).status_code == 422
    assert editor.patch("/welcome/1", json={"active": "maybe"}).status_code == 422
    assert editor.get("/welcome/99").status_code == 404
    assert api_as("approver").get("/welcome").status_code == 403


def test_the_cli_creates_reports_sends_and_turns_off(
    runner: FlaskCliRunner,
    session: Session,
    settings: Settings,
    staff: Staff,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
) -> None:
    assert "No welcome email yet" in runner.invoke(args=["welcome", "status"]).output
    assert "nothing to send" in runner.invoke(args=["welcome", "send-pending"]).output
    created = runner.invoke(args=["welcome", "create", "--category", "Practice"])
    assert created.exit_code == 0, created.output
    assert "Created the welcome email for topics in practice: issue 1." in created.output
    status = runner.invoke(args=["welcome", "status"]).output
    assert "Topics in Practice: Turned on; waits for approval — nothing is sent until" in status

    approve_welcome(session, settings, staff, session.get(WelcomeMessage, 1))
    session.commit()
    join(session, "kim@example.org", [topics["kinship"]])
    session.rollback()
    sent = runner.invoke(args=["welcome", "send-pending"])
    assert sent.exit_code == 0, sent.output
    assert "Welcome emails: 1 sent" in sent.output and len(outbox.sent) == 1
    rows = json.loads(runner.invoke(args=["welcome", "status", "--json"]).output)
    assert [(row["state"], row["deliveries"]) for row in rows] == [("on", {"sent": 1})]
    off = runner.invoke(args=["welcome", "off", "1"])
    assert off.exit_code == 0 and "is off" in off.output


def test_the_cli_refuses_bad_input_with_exit_code_2(
    runner: FlaskCliRunner, session: Session, topics: dict[str, Topic]
) -> None:
    assert runner.invoke(args=["welcome", "create"]).exit_code == 0
    for args, message in [
        (["welcome", "create", "--category", "Nope"], "No topic is in the category"),
        (["welcome", "create"], "already have a welcome"),
        (["welcome", "off", "7"], "No welcome email with id 7."),
        (["welcome", "on", "0"], "0"),
        (["welcome", "send-pending", "--limit", "0"], "0"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output


def test_the_scheduler_sends_welcomes_every_minute(
    app: Flask,
    session: Session,
    settings: Settings,
    staff: Staff,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
) -> None:
    job = next(job for job in JOBS if job.name == "send-welcome-emails")
    assert job.seconds == 60 and job.target == "campaigns.jobs:send_welcome_emails"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["welcome", "create"]).exit_code == 0
    approve_welcome(session, settings, staff, session.get(WelcomeMessage, 1))
    session.commit()
    join(session, "kim@example.org", [topics["foster"]])
    session.rollback()
    run_job(app, job)
    run_job(app, job)
    assert [message.to_address for message in outbox.sent] == ["kim@example.org"]


@pytest.fixture
def rival_first(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let another request create the same welcome between the check and the insert.

    On PostgreSQL the rival commits from a connection of its own, as a concurrent request
    does; SQLite's write lock (``BEGIN IMMEDIATE``) rules that race out, so there the rival
    is inserted in the same transaction, which trips the same unique constraint.
    """
    topics_for = service.scope_topics
    raced: set[tuple[bool, str]] = set()

    def scope_topics(session: Session, welcome: WelcomeMessage) -> list[Topic]:
        scope = Scope(welcome.for_all, welcome.category)
        if (scope.for_all, scope.category) not in raced:
            raced.add((scope.for_all, scope.category))
            if session.get_bind().dialect.name == "postgresql":
                with database.session() as other:
                    service.create_welcome(other, scope)
            else:
                service.create_welcome(session, scope)
        return topics_for(session, welcome)

    monkeypatch.setattr(service, "scope_topics", scope_topics)


@pytest.mark.usefixtures("csrf_disabled")
def test_two_requests_creating_one_welcome_at_once_answer_409_not_500(
    editor_client: FlaskClient,
    api: ApiClient,  # noqa: F811
    runner: FlaskCliRunner,
    topics: dict[str, Topic],
    rival_first: None,
) -> None:
    page = editor_client.post("/admin/welcome/", data={"scope": "category:Practice"})
    assert page.status_code == 409
    assert "Topics in Practice already have a welcome email" in page.get_data(as_text=True)
    answer = api.post("/welcome", json={"category": "Policy"})
    assert answer.status_code == 409, answer.get_json()
    assert "already have a welcome email" in answer.get_json()["error"]["message"]
    result = runner.invoke(args=["welcome", "create"])
    assert result.exit_code == 2, result.output
    assert "already have a welcome email" in result.output and "Traceback" not in result.output

"""The commands added for operators: users list/deactivate, tokens list/revoke, issues …"""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from engine.users import StaffUser, create_api_token
from tests.api.conftest import Seed, content
from tests.factories import make_user


def test_users_list_and_deactivate(runner: FlaskCliRunner, session: Session) -> None:
    user = make_user(session, role="approver", email="amy@agency.example.org")
    session.commit()
    rows = json.loads(runner.invoke(args=["users", "list", "--json"]).output)
    assert rows[0]["email"] == "amy@agency.example.org" and rows[0]["active"] is True
    result = runner.invoke(args=["users", "deactivate", "AMY@agency.example.org"])
    assert result.exit_code == 0 and "Deactivated" in result.output
    assert session.get(StaffUser, user.id, populate_existing=True).active is False
    session.rollback()
    assert "deactivated" in runner.invoke(args=["users", "list"]).output
    missing = runner.invoke(args=["users", "deactivate", "nobody@agency.example.org"])
    assert (
        missing.exit_code == 2
        and missing.output.strip() == "Error: No staff user nobody@agency.example.org."
    )


def test_tokens_list_and_revoke(runner: FlaskCliRunner, session: Session) -> None:
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    token, secret = create_api_token(session, user=editor, name="Nightly export")
    session.commit()
    listing = runner.invoke(args=["tokens", "list"]).output
    assert "Nightly export" in listing and "live" in listing and secret not in listing
    assert "ed@agency.example.org" in listing
    result = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert result.exit_code == 0
    rows = json.loads(runner.invoke(args=["tokens", "list", "--json"]).output)
    assert rows[0]["revoked_at"] is not None and "secret" not in json.dumps(rows)
    assert runner.invoke(args=["tokens", "revoke", "999"]).exit_code == 2


def test_issues_create_list_show(runner: FlaskCliRunner, seed: Seed, tmp_path: Path) -> None:
    file = tmp_path / "issue.json"
    file.write_text(json.dumps(content(title="From a file")))
    created = runner.invoke(
        args=["issues", "create", str(file), "--topic", seed.topic_slug, "--json"]
    )
    assert created.exit_code == 0, created.output
    new_id = json.loads(created.output)["id"]
    listing = runner.invoke(args=["issues", "list"]).output
    assert "From a file" in listing and "Prevention Month" in listing
    shown = json.loads(runner.invoke(args=["issues", "show", str(new_id), "--json"]).output)
    assert shown["topics"] == [seed.topic_slug] and shown["content"]["title"] == "From a file"
    assert "blocks:" in runner.invoke(args=["issues", "show", str(new_id)]).output


def test_issues_create_refuses_bad_input(runner: FlaskCliRunner, tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text("{nope")
    result = runner.invoke(args=["issues", "create", str(file)])
    assert result.exit_code == 2 and "is not JSON" in result.output
    file.write_text(json.dumps({"title": "May", "blocks": "none"}))
    result = runner.invoke(args=["issues", "create", str(file)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: This is not issue content: blocks must be a list."
    missing = runner.invoke(args=["issues", "create", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert runner.invoke(args=["issues", "show", "999"]).exit_code == 2


def test_issues_render_and_checks(runner: FlaskCliRunner, seed: Seed, tmp_path: Path) -> None:
    out = tmp_path / "issue.html"
    result = runner.invoke(args=["issues", "render", str(seed.issue_id), "--out", str(out)])
    assert result.exit_code == 0 and "April is Prevention Month." in out.read_text()
    text = runner.invoke(args=["issues", "render", str(seed.issue_id), "--out", "-", "--text"])
    assert "April is Prevention Month." in text.output and "<html" not in text.output
    checks = runner.invoke(args=["issues", "checks", str(seed.issue_id), "--json"])
    assert checks.exit_code == 0 and json.loads(checks.output)["ok"] is True
    assert (
        "No blocking problems."
        in runner.invoke(args=["issues", "checks", str(seed.issue_id)]).output
    )


def test_issues_submit_and_approve_as_staff(
    runner: FlaskCliRunner, seed: Seed, session: Session
) -> None:
    from campaigns.issues.models import Issue
    from campaigns.issues.service import save_revision

    editor = make_user(session, role="editor", email="ed@agency.example.org")
    make_user(session, role="approver", email="amy@agency.example.org")
    issue = session.get(Issue, seed.issue_id)
    save_revision(
        session, issue, content(title="Edited by Ed"), base_revision=1, saved_by_id=editor.id
    )
    session.commit()
    submitted = runner.invoke(
        args=["issues", "submit", str(seed.issue_id), "--as", "ed@agency.example.org"]
    )
    assert submitted.exit_code == 0 and "in review" in submitted.output
    own = runner.invoke(
        args=["issues", "approve", str(seed.issue_id), "--as", "ed@agency.example.org"]
    )
    assert own.exit_code == 2
    assert own.output.strip() == ("Error: Only an approver can approve an issue.")
    approved = runner.invoke(
        args=["issues", "approve", str(seed.issue_id), "--as", "amy@agency.example.org"]
    )
    assert approved.exit_code == 0, approved.output
    assert f"for {seed.topic_slug}" in approved.output
    session.expire_all()
    assert session.get(Issue, seed.issue_id).status == "approved"
    session.rollback()
    unknown = runner.invoke(args=["issues", "submit", "1", "--as", "who@agency.example.org"])
    assert unknown.exit_code == 2 and unknown.output.count("\n") == 1


def test_issues_approve_refuses_self_approval_in_one_line(
    runner: FlaskCliRunner, seed: Seed, session: Session
) -> None:
    from campaigns.issues.models import Issue
    from campaigns.issues.service import save_revision

    boss = make_user(session, role="admin", email="boss@agency.example.org")
    save_revision(
        session,
        session.get(Issue, seed.issue_id),
        content(title="Mine"),
        base_revision=1,
        saved_by_id=boss.id,
    )
    session.commit()
    assert (
        runner.invoke(
            args=["issues", "submit", str(seed.issue_id), "--as", "boss@agency.example.org"]
        ).exit_code
        == 0
    )
    own = runner.invoke(
        args=["issues", "approve", str(seed.issue_id), "--as", "boss@agency.example.org"]
    )
    assert own.exit_code == 2
    assert (
        own.output == "Error: You wrote or edited this issue, so someone else has to approve it.\n"
    )

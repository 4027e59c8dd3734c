"""``pinwheel users invite|set-role|deactivate|reactivate``."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from engine.audit import AuditEntry
from engine.users import StaffUser
from tests.factories import make_user


def _user(session: Session, email: str) -> StaffUser:
    """Return the row as it is now, detached, without keeping SQLite's write lock."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    assert user is not None
    session.expunge(user)
    session.rollback()
    return user


def test_invite_prints_a_working_link(
    runner: FlaskCliRunner, client: FlaskClient, session: Session
) -> None:
    result = runner.invoke(
        args=["users", "invite", "Ana@Agency.example.org", "--role", "approver", "--name", "Ana"]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://news.example.org/admin/invite/")
    user = _user(session, "ana@agency.example.org")
    assert (user.role, user.name, user.password_hash) == ("approver", "Ana", "")
    assert client.get(link.removeprefix("https://news.example.org")).status_code == 200
    again = runner.invoke(args=["users", "invite", "ana@agency.example.org"])
    assert again.exit_code == 2 and again.output.strip() == (
        "Error: A staff user ana@agency.example.org already exists."
    )
    listing = runner.invoke(args=["users", "list"]).output
    assert "invited" in listing


def test_set_role_signs_out_and_keeps_an_admin(runner: FlaskCliRunner, session: Session) -> None:
    make_user(session, role="admin", email="boss@agency.example.org")
    make_user(session, role="editor", email="ed@agency.example.org")
    session.commit()
    result = runner.invoke(args=["users", "set-role", "ED@agency.example.org", "approver"])
    assert result.exit_code == 0 and "ed@agency.example.org is now approver" in result.output
    user = _user(session, "ed@agency.example.org")
    assert user.role == "approver" and user.session_version == 1
    last = runner.invoke(args=["users", "set-role", "boss@agency.example.org", "editor"])
    assert last.exit_code == 2 and "last admin" in last.output and "Traceback" not in last.output
    assert _user(session, "boss@agency.example.org").role == "admin"
    unknown = runner.invoke(args=["users", "set-role", "nobody@agency.example.org", "editor"])
    assert unknown.exit_code == 2 and "No staff user" in unknown.output
    bad = runner.invoke(args=["users", "set-role", "ed@agency.example.org", "root"])
    assert bad.exit_code == 2
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert actions == ["user.role_change"]


def test_deactivate_keeps_an_admin_and_reactivate(runner: FlaskCliRunner, session: Session) -> None:
    make_user(session, role="admin", email="boss@agency.example.org")
    make_user(session, role="editor", email="ed@agency.example.org")
    session.commit()
    last = runner.invoke(args=["users", "deactivate", "boss@agency.example.org"])
    assert last.exit_code == 2 and "last admin" in last.output
    assert runner.invoke(args=["users", "deactivate", "ed@agency.example.org"]).exit_code == 0
    assert _user(session, "ed@agency.example.org").active is False
    result = runner.invoke(args=["users", "reactivate", "ed@agency.example.org"])
    assert result.exit_code == 0 and "Reactivated ed@agency.example.org." in result.output
    assert _user(session, "ed@agency.example.org").active is True
    session.rollback()
    actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["user.deactivate", "user.reactivate"]

"""The account page: changing one's own password (current one required) ends other sessions."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.audit import AuditEntry
from engine.users import StaffUser, authenticate
from tests.factories import PASSWORD, csrf_token_from, login, make_user

NEW = "seven purple otters juggle"


@pytest.fixture
def user(session: Session) -> StaffUser:
    user = make_user(session, role="editor", email="me@agency.example.org")
    session.commit()
    return user


@pytest.fixture
def signed_in(client: FlaskClient, user: StaffUser) -> FlaskClient:
    login(client, user)
    return client


def _change(client: FlaskClient, current: str, new: str, confirmation: str | None = None):
    csrf = csrf_token_from(client.get("/admin/account/").get_data(as_text=True))
    return client.post(
        "/admin/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirmation": new if confirmation is None else confirmation,
            "csrf_token": csrf,
        },
    )


def test_the_account_page_is_linked_from_every_staff_page(signed_in: FlaskClient) -> None:
    dashboard = signed_in.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/account/"' in dashboard and "Your account" in dashboard
    response = signed_in.get("/admin/account/")
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "me@agency.example.org" in page and '<label for="current_password">' in page


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    signed_in: FlaskClient, app: Flask, session: Session, user: StaffUser, csrf_disabled: None
) -> None:
    # Tests share one app context, where Flask-WTF keeps the signed CSRF token of the first
    # browser: a second browser signs in without CSRF checks.
    other = app.test_client()
    login(other, user)
    changed = _change(signed_in, PASSWORD, NEW)
    assert changed.status_code == 302 and changed.headers["Location"] == "/admin/account/"
    assert signed_in.get("/admin/account/").status_code == 200
    assert other.get("/admin/").status_code == 302
    session.expire_all()
    stored = session.get(StaffUser, user.id)
    assert stored.password_changed_at is not None
    assert authenticate(session, user.email, NEW) is not None
    assert session.query(AuditEntry).filter_by(action="user.password_change").count() == 1


@pytest.mark.parametrize(
    ("current", "new", "confirmation", "message"),
    [
        ("not my password", NEW, None, "current password is not right"),
        (PASSWORD, NEW, "seven purple otters", "differ"),
        (PASSWORD, "password1234", None, "most commonly used"),
        (PASSWORD, "me@agency.example", None, "easy to guess"),
        (PASSWORD, PASSWORD, None, "must differ"),
    ],
)
def test_refused_changes_say_why_and_change_nothing(
    signed_in: FlaskClient,
    session: Session,
    user: StaffUser,
    current: str,
    new: str,
    confirmation: str | None,
    message: str,
) -> None:
    response = _change(signed_in, current, new, confirmation)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'class="error-summary"' in page
    session.expire_all()
    assert session.get(StaffUser, user.id).session_version == user.session_version
    session.rollback()  # on SQLite, the test's read holds the lock the next request needs
    assert signed_in.get("/admin/").status_code == 200


def test_guessing_the_current_password_is_throttled(signed_in: FlaskClient) -> None:
    statuses = [_change(signed_in, f"guess number {n}", NEW).status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]
    refused = _change(signed_in, PASSWORD, NEW)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/admin/account/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")

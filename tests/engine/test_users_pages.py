"""The admins' staff page and the invitation page."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from engine.audit import AuditEntry
from engine.delivery.base import ResultStatus
from engine.delivery.memory import MemoryBackend
from engine.delivery.registry import backend_from_settings
from engine.users import Role, StaffUser, authenticate
from engine.web import get_settings
from tests.factories import csrf_token_from, login, make_user
from tests.html_validator import html_errors

NEW_PASSWORD = "lantern orchard ferry"
LINK = re.compile(r'value="https://news\.example\.org(/admin/invite/[^"]+)"')
MAILED_LINK = re.compile(r"https://news\.example\.org(/admin/invite/[A-Za-z0-9._-]+)")


def _admin(client: FlaskClient, session: Session) -> tuple[StaffUser, str]:
    admin = make_user(session, role="admin", email="boss@agency.example.org")
    session.commit()
    g.pop("csrf_token", None)
    login(client, admin)
    return admin, csrf_token_from(client.get("/admin/users/").get_data(as_text=True))


def _new_visitor(app: Flask) -> FlaskClient:
    # Requests share the test's app context, where Flask-WTF caches the last CSRF token.
    g.pop("csrf_token", None)
    return app.test_client()


def _invite(client: FlaskClient, csrf: str, email: str, role: str = "editor") -> str:
    form = {"email": email, "name": "Ana Ruiz", "role": role, "csrf_token": csrf}
    response = client.post("/admin/users/", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _mailed_link(response, email)


def _mailed_link(response: TestResponse, email: str) -> str:
    # The admin's page never shows a link that was mailed: only the invitee holds it.
    assert LINK.search(response.get_data(as_text=True)) is None
    assert "We emailed" in response.get_data(as_text=True)
    mailed = [m for m in _memory_backend().sent if m.to_address == email.lower()]
    found = MAILED_LINK.search(mailed[-1].text)
    assert found is not None
    return found.group(1)


def _memory_backend() -> MemoryBackend:
    backend = backend_from_settings(get_settings())
    assert isinstance(backend, MemoryBackend)
    return backend


def _post(client: FlaskClient, path: str, csrf: str, **form: str) -> TestResponse:
    return client.post(path, data={**form, "csrf_token": csrf})


def _state(session: Session, user_id: int) -> tuple[str, bool]:
    user = session.get(StaffUser, user_id, populate_existing=True)
    assert user is not None
    state = (str(user.role), user.active)
    session.rollback()  # on SQLite, an open transaction would hold the write lock
    return state


def _actions(session: Session) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_only_admins_manage_staff(client: FlaskClient, session: Session) -> None:
    editor = make_user(session, role="editor")
    other = make_user(session, role="approver")
    session.commit()
    login(client, editor)
    csrf = csrf_token_from(client.get("/admin/calendar/").get_data(as_text=True))
    assert client.get("/admin/users/").status_code == 403
    for path in (
        "/admin/users/",
        f"/admin/users/{other.id}/role",
        f"/admin/users/{other.id}/deactivate",
    ):
        response = client.post(
            path, data={"email": "x@agency.example.org", "role": "admin", "csrf_token": csrf}
        )
        assert response.status_code == 403


def test_the_list_shows_status_role_sign_in_and_two_factor(
    client: FlaskClient, session: Session
) -> None:
    gone = make_user(session, role="approver", email="gone@agency.example.org")
    gone.active = False
    enrolled = make_user(session, role="editor", email="safe@agency.example.org")
    enrolled.totp_enabled_at = enrolled.created_at
    session.commit()
    _admin(client, session)
    page = client.get("/admin/users/").get_data(as_text=True)
    rows = {
        m[0]: m[1]
        for m in re.findall(r"<td>([^<]+@agency\.example\.org)[^<]*</td>(.*?)</tr>", page, re.S)
    }
    assert (
        "Deactivated" in rows["gone@agency.example.org"]
        and "Reactivate" in rows["gone@agency.example.org"]
    )
    assert "not enrolled" not in rows["safe@agency.example.org"]
    assert "enrolled" in rows["safe@agency.example.org"]
    assert re.search(
        r"\w{3} \d{1,2}, \d{4}, \d\d:\d\d E[SD]T</time>", rows["boss@agency.example.org"]
    )
    assert "never" in rows["safe@agency.example.org"]
    assert 'aria-current="page">Staff</a>' in page
    # Nobody can deactivate themselves: their row has no such button.
    assert 'Deactivate<span class="visually-hidden"> boss' not in page


def test_invite_accept_and_sign_in(
    app: Flask, client: FlaskClient, session: Session, outbox: MemoryBackend
) -> None:
    _, csrf = _admin(client, session)
    path = _invite(client, csrf, "Ana@Agency.example.org", role="approver")
    page = client.get("/admin/users/").get_data(as_text=True)
    assert "Invited, no password yet" in page and path not in page
    [message] = outbox.sent
    assert message.to_address == "ana@agency.example.org" and path in message.text
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == "ana@agency.example.org"))
    assert user.role == Role.APPROVER and user.password_hash == ""
    session.rollback()

    invitee = _new_visitor(app)
    form_page = invitee.get(path)
    assert form_page.status_code == 200 and form_page.headers["Cache-Control"] == "no-store"
    text = form_page.get_data(as_text=True)
    assert "ana@agency.example.org" in text
    csrf = csrf_token_from(text)
    mismatch = invitee.post(
        path,
        data={"password": NEW_PASSWORD, "confirmation": "other words here", "csrf_token": csrf},
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.get_data(as_text=True)
    weak = invitee.post(
        path, data={"password": "password123", "confirmation": "password123", "csrf_token": csrf}
    )
    assert weak.status_code == 422
    done = invitee.post(
        path, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD, "csrf_token": csrf}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/")
    assert invitee.get("/admin/calendar/").status_code == 200  # signed in as the approver
    assert invitee.get(path).status_code == 404  # used once
    assert authenticate(session, "ana@agency.example.org", NEW_PASSWORD) is not None
    assert _actions(session) == ["user.invite", "user.invite_accept"]


def test_the_link_is_shown_when_mail_fails(
    client: FlaskClient, session: Session, outbox: MemoryBackend
) -> None:
    outbox.fail_addresses["ana@agency.example.org"] = ResultStatus.FAILED_PERMANENT
    _, csrf = _admin(client, session)
    response = client.post(
        "/admin/users/",
        data={"email": "ana@agency.example.org", "role": "editor", "csrf_token": csrf},
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "could not be sent" in text and LINK.search(text)
    assert _actions(session) == ["user.invite", "user.invite_link_shown"]


def test_bad_invitations_are_shown_back(client: FlaskClient, session: Session) -> None:
    _, csrf = _admin(client, session)
    cases = [
        ({"email": "boss@agency.example.org", "role": "editor"}, 409, "already exists"),
        ({"email": "nobody", "role": "editor"}, 422, "valid email"),
        ({"email": "x@agency.example.org", "role": "root"}, 422, "Unknown role"),
    ]
    for form, status, message in cases:
        response = client.post("/admin/users/", data={**form, "csrf_token": csrf})
        text = response.get_data(as_text=True)
        assert response.status_code == status and message in text
        assert f'value="{form["email"]}"' in text  # what was typed is kept
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 1


def test_a_new_link_for_a_pending_invitation(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    _, csrf = _admin(client, session)
    old = _invite(client, csrf, "ana@agency.example.org")
    user_id = session.scalar(
        sa.select(StaffUser.id).where(StaffUser.email == "ana@agency.example.org")
    )
    session.rollback()
    response = client.post(f"/admin/users/{user_id}/invite", data={"csrf_token": csrf})
    new = _mailed_link(response, "ana@agency.example.org")
    assert new != old
    invitee = _new_visitor(app)
    assert invitee.get(old).status_code == 404
    assert invitee.get(new).status_code == 200
    assert _actions(session) == ["user.invite", "user.invite_renew"]


def test_change_role_signs_the_person_out(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    editor = make_user(session, role="editor")
    session.commit()
    editor_client = _new_visitor(app)
    login(editor_client, editor)
    assert editor_client.get("/admin/calendar/").status_code == 200
    _, csrf = _admin(client, session)
    response = _post(client, f"/admin/users/{editor.id}/role", csrf, role="approver")
    assert response.status_code == 302
    assert _state(session, editor.id) == ("approver", True)
    assert editor_client.get("/admin/calendar/").status_code == 302  # back to the sign-in page
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.role_change"))
    assert entry.details == {"before": "editor", "role": "approver"}
    assert entry.object_id == str(editor.id) and entry.actor == "boss@agency.example.org"


def test_the_last_admin_cannot_be_demoted(client: FlaskClient, session: Session) -> None:
    admin, csrf = _admin(client, session)
    path = f"/admin/users/{admin.id}/role"
    response = _post(client, path, csrf, role="editor")
    assert response.status_code == 409 and "last admin" in response.get_data(as_text=True)
    assert _post(client, path, csrf, role="root").status_code == 422
    assert _state(session, admin.id) == ("admin", True)
    assert _post(client, "/admin/users/999/role", csrf, role="editor").status_code == 404


def test_deactivate_and_reactivate(client: FlaskClient, session: Session) -> None:
    admin, csrf = _admin(client, session)
    admin_id, editor_id = admin.id, make_user(session, role="editor").id
    session.commit()
    page = client.get("/admin/users/").get_data(as_text=True)
    form = f'action="/admin/users/{editor_id}/deactivate" class="inline" data-confirm="Deactivate'
    assert form in page
    assert _post(client, f"/admin/users/{editor_id}/deactivate", csrf).status_code == 302
    assert _state(session, editor_id) == ("editor", False)
    myself = _post(client, f"/admin/users/{admin_id}/deactivate", csrf)
    assert myself.status_code == 403 and "your own account" in myself.get_data(as_text=True)
    assert _post(client, f"/admin/users/{editor_id}/reactivate", csrf).status_code == 302
    assert _state(session, editor_id) == ("editor", True)
    assert _actions(session) == ["user.deactivate", "user.reactivate"]


def test_pages_are_valid_html(
    app: Flask, client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    make_user(session, role="editor").active = False
    _, csrf = _admin(client, session)
    path = _invite(client, csrf, "ana@agency.example.org")
    pages = {"staff": client.get("/admin/users/").get_data(as_text=True)}
    pages["invite"] = _new_visitor(app).get(path).get_data(as_text=True)
    assert html_errors(pages, tmp_path) == []

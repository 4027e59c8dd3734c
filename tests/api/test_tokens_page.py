"""The staff page for API tokens: each person's own tokens, acting as them; revoking works."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.audit import AuditEntry
from engine.users import StaffUser, create_api_token
from tests.factories import PASSWORD, csrf_token_from, login, make_user


def _signed_in(client: FlaskClient, session: Session, role: str, email: str) -> str:
    user = make_user(session, role=role, email=email)
    session.commit()
    login(client, user)
    return csrf_token_from(client.get("/admin/tokens/").get_data(as_text=True))


def _create(client: FlaskClient, csrf: str, name: str) -> str:
    created = client.post(
        "/admin/tokens/", data={"name": name, "csrf_token": csrf, "current_password": PASSWORD}
    )
    assert created.status_code == 200
    return re.search(r'value="(pw_[^"]+)"', created.get_data(as_text=True)).group(1)


def test_a_token_acts_as_its_creator_with_their_role(client: FlaskClient, session: Session) -> None:
    csrf = _signed_in(client, session, "editor", "ed@agency.example.org")
    secret = _create(client, csrf, "Reporting job")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/issues", headers=headers).status_code == 200
    # An editor's token may not approve: it holds the editor's role, not one of its own.
    approve = client.post("/api/v1/issues/1/approve", headers=headers, json={"topic_ids": [1]})
    assert approve.status_code == 403 and "editor" in approve.get_json()["error"]["message"]
    listing = client.get("/admin/tokens/").get_data(as_text=True)
    assert "Reporting job" in listing and secret not in listing
    assert "ed@agency.example.org" in listing
    entry = session.query(AuditEntry).filter_by(action="token.create").one()
    assert entry.actor == "ed@agency.example.org"


def test_staff_see_only_their_own_tokens_and_admins_see_all(
    client: FlaskClient, session: Session
) -> None:
    other = make_user(session, role="approver", email="ann@agency.example.org")
    create_api_token(session, user=other, name="Ann's script")
    csrf = _signed_in(client, session, "editor", "ed@agency.example.org")
    _create(client, csrf, "Ed's script")
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "Ed&#39;s script" in page and "Ann&#39;s script" not in page
    assert client.post("/admin/tokens/1/revoke", data={"csrf_token": csrf}).status_code == 404
    admin = make_user(session, role="admin", email="root@agency.example.org")
    session.commit()
    login(client, admin)
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "Ed&#39;s script" in page and "Ann&#39;s script" in page


def test_revoke(client: FlaskClient, session: Session) -> None:
    csrf = _signed_in(client, session, "admin", "root@agency.example.org")
    secret = _create(client, csrf, "Old")
    page = client.get("/admin/tokens/").get_data(as_text=True)
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", page).group(1)
    response = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 302
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "revoked" in page and f"/admin/tokens/{token_id}/revoke" not in page
    denied = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 401


def test_a_token_dies_with_its_users_deactivation(client: FlaskClient, session: Session) -> None:
    user = make_user(session, role="editor", email="leaver@agency.example.org")
    _token, secret = create_api_token(session, user=user, name="Leaver's script")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/issues", headers=headers).status_code == 200
    session.get(StaffUser, user.id).active = False
    session.commit()
    denied = client.get("/api/v1/issues", headers=headers)
    assert denied.status_code == 401 and "deactivated" in denied.get_json()["error"]["message"]


def test_a_nameless_token_is_refused(client: FlaskClient, session: Session) -> None:
    csrf = _signed_in(client, session, "admin", "root@agency.example.org")
    response = client.post(
        "/admin/tokens/", data={"name": " ", "csrf_token": csrf, "current_password": PASSWORD}
    )
    assert response.status_code == 422 and "needs a name" in response.get_data(as_text=True)


def test_reactivating_a_user_does_not_revive_their_tokens(
    client: FlaskClient, session: Session
) -> None:
    from engine.staff_accounts import reactivate_staff
    from engine.users import deactivate_user

    user = make_user(session, role="editor", email="back@agency.example.org")
    _token, secret = create_api_token(session, user=user, name="Old script")
    user.calendar_key = "k" * 32
    deactivate_user(session, user.email)
    reactivate_staff(session, user)
    session.commit()
    assert user.calendar_key is None  # the personal calendar link stays dead as well
    denied = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 401


def test_a_token_needs_the_current_password(client: FlaskClient, session: Session) -> None:
    csrf = _signed_in(client, session, "editor", "ed@agency.example.org")
    refused = client.post(
        "/admin/tokens/", data={"name": "Stolen", "csrf_token": csrf, "current_password": "x"}
    )
    assert refused.status_code == 422
    assert "not your current password" in refused.get_data(as_text=True)
    assert "pw_" not in refused.get_data(as_text=True)


def test_required_two_factor_sign_in_also_stops_tokens_of_those_without_it(
    app, client: FlaskClient, session: Session
) -> None:
    user = make_user(session, role="editor", email="no2fa@agency.example.org")
    _token, secret = create_api_token(session, user=user, name="Script")
    session.commit()
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(REQUIRE_2FA=True)
    denied = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 401
    assert "two-factor" in denied.get_json()["error"]["message"]

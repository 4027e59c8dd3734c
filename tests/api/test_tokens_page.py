"""The staff page for API tokens: admins only; the secret is shown once; revoking works."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import csrf_token_from, login, make_user


def _signed_in(client: FlaskClient, session: Session, role: str) -> str:
    user = make_user(session, role=role)
    session.commit()
    login(client, user)
    return csrf_token_from(client.get("/admin/subscribers/").get_data(as_text=True))


def test_only_admins_see_the_page(client: FlaskClient, session: Session) -> None:
    _signed_in(client, session, "editor")
    assert client.get("/admin/tokens/").status_code == 403
    assert client.post("/admin/tokens/", data={"name": "x", "role": "admin"}).status_code in {
        400,
        403,
    }


def test_create_shows_the_secret_once_and_it_works(client: FlaskClient, session: Session) -> None:
    _signed_in(client, session, "admin")
    page = client.get("/admin/tokens/").get_data(as_text=True)
    created = client.post(
        "/admin/tokens/",
        data={"name": "Reporting job", "role": "approver", "csrf_token": csrf_token_from(page)},
    )
    assert created.status_code == 200
    secret = re.search(r'value="(pw_[^"]+)"', created.get_data(as_text=True)).group(1)
    api = client.get("/api/v1/issues", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    listing = client.get("/admin/tokens/").get_data(as_text=True)
    assert "Reporting job" in listing and secret not in listing and "never" not in listing


def test_revoke(client: FlaskClient, session: Session) -> None:
    token = _signed_in(client, session, "admin")
    client.post("/admin/tokens/", data={"name": "Old", "role": "editor", "csrf_token": token})
    page = client.get("/admin/tokens/").get_data(as_text=True)
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", page).group(1)
    response = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "revoked" in page and f"/admin/tokens/{token_id}/revoke" not in page


def test_bad_role_is_refused(client: FlaskClient, session: Session) -> None:
    token = _signed_in(client, session, "admin")
    response = client.post(
        "/admin/tokens/", data={"name": "x", "role": "root", "csrf_token": token}
    )
    assert response.status_code == 422 and "Unknown role" in response.get_data(as_text=True)

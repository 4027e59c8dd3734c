"""Staff sessions end at logout, deactivation, a role or password change, and after idling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine import staff_sessions
from engine.users import StaffUser, change_role, deactivate_user, set_password
from tests.factories import PASSWORD, csrf_token_from, login, make_user


class FrozenClock:
    def __init__(self) -> None:
        self.at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(staff_sessions, "now", frozen)
    return frozen


@pytest.fixture
def user(session: Session) -> StaffUser:
    user = make_user(session, role="admin", email="staff@agency.example.org")
    session.commit()
    return user


def _copy_of(signed_in: FlaskClient, app: Flask) -> FlaskClient:
    """Return another browser holding a copy of ``signed_in``'s session cookie."""
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _is_signed_out(client: FlaskClient) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_a_copied_cookie_replayed_after_logout_goes_to_sign_in(
    client: FlaskClient, app: Flask, user: StaffUser
) -> None:
    login(client, user)
    copy = _copy_of(client, app)
    assert client.get("/admin/").status_code == 200 and copy.get("/admin/").status_code == 200
    csrf = csrf_token_from(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    assert _is_signed_out(copy)
    assert _is_signed_out(client)


@pytest.mark.parametrize(
    "change",
    [
        lambda session, user: change_role(session, user, "editor"),
        lambda session, user: set_password(session, user, "a brand new passphrase"),
        lambda session, user: deactivate_user(session, user.email),
    ],
    ids=["role change", "password change", "deactivation"],
)
def test_changes_to_the_account_end_its_sessions(
    client: FlaskClient, session: Session, user: StaffUser, change
) -> None:
    login(client, user)
    assert client.get("/admin/").status_code == 200
    change(session, session.get(StaffUser, user.id))
    session.commit()
    assert _is_signed_out(client)


def test_changing_to_the_same_role_keeps_sessions(
    client: FlaskClient, session: Session, user: StaffUser
) -> None:
    login(client, user)
    change_role(session, session.get(StaffUser, user.id), "admin")
    session.commit()
    assert client.get("/admin/").status_code == 200


def test_an_unknown_role_is_refused(session: Session, user: StaffUser) -> None:
    from engine.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="Unknown role"):
        change_role(session, user, "owner")


def test_a_session_ends_after_the_idle_time(
    client: FlaskClient, user: StaffUser, clock: FrozenClock
) -> None:
    login(client, user)
    for _ in range(3):  # busy for a whole day: each request renews the session
        clock.at += timedelta(minutes=479)
        assert client.get("/admin/").status_code == 200
    clock.at += timedelta(minutes=481)
    assert _is_signed_out(client)


def test_a_replayed_old_cookie_cannot_outlive_the_idle_time(
    client: FlaskClient, app: Flask, user: StaffUser, clock: FrozenClock
) -> None:
    login(client, user)
    copy = _copy_of(client, app)
    for _ in range(2):
        clock.at += timedelta(minutes=300)
        assert client.get("/admin/").status_code == 200
    # The owner kept working; the copy was last used 10 hours ago.
    assert _is_signed_out(copy)
    assert client.get("/admin/").status_code == 200


def test_the_idle_time_is_a_setting(
    client: FlaskClient, app: Flask, user: StaffUser, clock: FrozenClock
) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        SESSION_IDLE_MINUTES=15
    )
    login(client, user)
    clock.at += timedelta(minutes=14)
    assert client.get("/admin/").status_code == 200
    clock.at += timedelta(minutes=16)
    assert _is_signed_out(client)


def test_the_cookie_lasts_the_idle_time_and_there_is_no_remember_me(
    client: FlaskClient, app: Flask, user: StaffUser
) -> None:
    assert app.permanent_session_lifetime == timedelta(minutes=480)
    response = client.get("/admin/login")
    form = csrf_token_from(response.get_data(as_text=True))
    signed_in = client.post(
        "/admin/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": form},
    )
    cookies = signed_in.headers.getlist("Set-Cookie")
    session_cookie = next(value for value in cookies if value.startswith("session="))
    assert "Expires=" in session_cookie and "HttpOnly" in session_cookie
    assert not any(value.startswith("remember_token=") for value in cookies)


def test_idle_minutes_come_from_the_environment() -> None:
    from engine.config import ConfigError, load_settings

    fixed = {"ENV": "testing", "SECRET_KEY": "x" * 32}
    settings = load_settings(environ={"PINWHEEL_SESSION_IDLE_MINUTES": "30"}, **fixed)
    assert settings.SESSION_IDLE_MINUTES == 30
    assert load_settings(environ={}, **fixed).SESSION_IDLE_MINUTES == 480
    with pytest.raises(ConfigError, match="PINWHEEL_SESSION_IDLE_MINUTES"):
        load_settings(environ={"PINWHEEL_SESSION_IDLE_MINUTES": "0"}, **fixed)

"""Two-factor sign-in: enrolment on the account page, the code step, replay, recovery codes,
turning it off, and ``REQUIRE_2FA``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine import staff_sessions, two_factor
from engine.users import StaffUser
from tests.factories import PASSWORD, login, make_user
from tests.html_validator import html_errors

pytestmark = pytest.mark.usefixtures("csrf_disabled")


class FrozenClock:
    def __init__(self) -> None:
        self.at = datetime(2027, 3, 1, 9, 0, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(two_factor, "now", frozen)
    monkeypatch.setattr(staff_sessions, "now", frozen)
    return frozen


@pytest.fixture
def user(session: Session) -> StaffUser:
    user = make_user(session, role="editor", email="careful@agency.example.org")
    session.commit()
    return user


@pytest.fixture
def enrolled(session: Session, user: StaffUser, clock: FrozenClock) -> tuple[StaffUser, list[str]]:
    """The user with two-factor sign-in on, and their recovery codes."""
    stored = session.get(StaffUser, user.id)
    secret = two_factor.begin_enrolment(session, stored)
    codes = two_factor.confirm_enrolment(session, stored, _code(secret, clock.at))
    session.commit()
    clock.at += timedelta(seconds=30)  # the enrolment code's step is used up
    return stored, codes


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _password_step(client: FlaskClient, user: StaffUser):
    return client.post("/admin/login", data={"email": user.email, "password": PASSWORD})


def _code_step(client: FlaskClient, code: str):
    return client.post("/admin/login/code", data={"code": code})


def test_enrolment_shows_a_qr_code_and_needs_one_right_code(
    client: FlaskClient, session: Session, user: StaffUser, clock: FrozenClock
) -> None:
    login(client, user)
    # A borrowed session cannot enrol someone else's phone: the password comes first.
    refused = client.post("/admin/account/two-factor/start", data={"current_password": "nope"})
    assert refused.status_code == 422
    assert "not your current password" in refused.get_data(as_text=True)
    started = client.post("/admin/account/two-factor/start", data={"current_password": PASSWORD})
    assert started.headers["Location"] == "/admin/account/two-factor"
    page = client.get("/admin/account/two-factor")
    session.expire_all()
    secret = session.get(StaffUser, user.id).totp_secret
    session.rollback()
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "<svg" in text and secret in text
    wrong = client.post("/admin/account/two-factor", data={"code": "000000"})
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    confirmed = client.post("/admin/account/two-factor", data={"code": _code(secret, clock.at)})
    assert confirmed.status_code == 200
    shown = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", confirmed.get_data(as_text=True))
    assert len(set(shown)) == 10
    session.expire_all()
    stored = session.get(StaffUser, user.id)
    assert two_factor.is_enrolled(stored)
    assert len(stored.recovery_codes) == 10
    assert not set(shown) & set(stored.recovery_codes)  # digests only
    session.rollback()
    # Enrolling ended other sessions but kept this one.
    assert client.get("/admin/account/").status_code == 200


def test_sign_in_asks_for_a_code_after_the_password(
    client: FlaskClient, enrolled: tuple[StaffUser, list[str]], clock: FrozenClock
) -> None:
    user, _ = enrolled
    first = _password_step(client, user)
    assert first.status_code == 302 and first.headers["Location"].startswith("/admin/login/code")
    assert client.get("/admin/").status_code == 302  # not signed in yet
    assert client.get("/admin/login/code").status_code == 200
    assert _code_step(client, "123456").status_code == 401
    done = _code_step(client, _code(user.totp_secret, clock.at))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_code_signs_in_once(
    client: FlaskClient, app: Flask, enrolled: tuple[StaffUser, list[str]], clock: FrozenClock
) -> None:
    user, _ = enrolled
    code = _code(user.totp_secret, clock.at)
    _password_step(client, user)
    assert _code_step(client, code).status_code == 302
    thief = app.test_client()
    _password_step(thief, user)
    assert _code_step(thief, code).status_code == 401
    clock.at += timedelta(seconds=30)
    assert _code_step(thief, _code(user.totp_secret, clock.at)).status_code == 302


def test_a_recovery_code_works_once(
    client: FlaskClient, app: Flask, enrolled: tuple[StaffUser, list[str]], session: Session
) -> None:
    user, codes = enrolled
    _password_step(client, user)
    assert _code_step(client, codes[0].upper().replace("-", " ")).status_code == 302
    other = app.test_client()
    _password_step(other, user)
    assert _code_step(other, codes[0]).status_code == 401
    session.expire_all()
    assert len(session.get(StaffUser, user.id).recovery_codes) == 9
    session.rollback()


def test_the_code_step_is_rate_limited(
    client: FlaskClient, enrolled: tuple[StaffUser, list[str]], clock: FrozenClock
) -> None:
    user, _ = enrolled
    _password_step(client, user)
    assert [_code_step(client, "000000").status_code for _ in range(5)] == [401] * 5
    refused = _code_step(client, _code(user.totp_secret, clock.at))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in refused.get_data(as_text=True)


def test_the_code_step_needs_the_password_first_and_soon(
    client: FlaskClient, enrolled: tuple[StaffUser, list[str]], clock: FrozenClock
) -> None:
    user, _ = enrolled
    assert client.get("/admin/login/code").headers["Location"].startswith("/admin/login")
    _password_step(client, user)
    clock.at += timedelta(minutes=6)
    late = _code_step(client, _code(user.totp_secret, clock.at))
    assert late.status_code == 302 and late.headers["Location"].startswith("/admin/login")
    assert client.get("/admin/").status_code == 302


def test_turning_it_off_needs_the_password_or_a_code(
    client: FlaskClient, enrolled: tuple[StaffUser, list[str]], session: Session
) -> None:
    user, codes = enrolled
    user_id = user.id
    _password_step(client, user)
    _code_step(client, codes[1])
    wrong = client.post("/admin/account/two-factor/disable", data={"proof": "a guess"})
    assert wrong.status_code == 422
    off = client.post("/admin/account/two-factor/disable", data={"proof": PASSWORD})
    assert off.status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout")
    assert _password_step(client, user).headers["Location"] == "/admin/"
    session.expire_all()
    stored = session.get(StaffUser, user_id)
    assert not two_factor.is_enrolled(stored) and stored.recovery_codes == []
    session.rollback()


def test_require_2fa_keeps_unenrolled_staff_on_enrolment(
    client: FlaskClient, app: Flask, session: Session, user: StaffUser, clock: FrozenClock
) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        REQUIRE_2FA=True
    )
    login(client, user)
    for path in ("/admin/", "/admin/subscribers/", "/admin/tokens/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/admin/account/"
    assert "is required" in client.get("/admin/account/").get_data(as_text=True)
    client.post("/admin/account/two-factor/start", data={"current_password": PASSWORD})
    session.expire_all()
    secret = session.get(StaffUser, user.id).totp_secret
    session.rollback()
    client.post("/admin/account/two-factor", data={"code": _code(secret, clock.at)})
    assert client.get("/admin/").status_code == 200
    clock.at += timedelta(seconds=30)
    refused = client.post(
        "/admin/account/two-factor/disable", data={"proof": _code(secret, clock.at)}
    )
    assert refused.status_code == 409


def test_require_2fa_comes_from_the_environment() -> None:
    from engine.config import load_settings

    fixed = {"ENV": "testing", "SECRET_KEY": "x" * 32}
    assert load_settings(environ={"PINWHEEL_REQUIRE_2FA": "true"}, **fixed).REQUIRE_2FA
    assert not load_settings(environ={}, **fixed).REQUIRE_2FA


def test_sign_in_and_account_pages_are_valid_html(
    client: FlaskClient, app: Flask, session: Session, user: StaffUser, tmp_path: Path
) -> None:
    pages = {
        "login": client.get("/admin/login").get_data(as_text=True),
        "login error": client.post("/admin/login", data={}).get_data(as_text=True),
    }
    login(client, user)
    pages["account"] = client.get("/admin/account/").get_data(as_text=True)
    client.post("/admin/account/two-factor/start", data={"current_password": PASSWORD})
    pages["enrol"] = client.get("/admin/account/two-factor").get_data(as_text=True)
    pages["enrol error"] = client.post("/admin/account/two-factor", data={"code": "1"}).get_data(
        as_text=True
    )
    secret = pyotp.TOTP(_secret_of(session, user.id))
    confirmed = client.post("/admin/account/two-factor", data={"code": secret.now()})
    pages["recovery codes"] = confirmed.get_data(as_text=True)
    pages["account enrolled"] = client.get("/admin/account/").get_data(as_text=True)
    other = app.test_client()
    _password_step(other, user)
    pages["code"] = other.get("/admin/login/code").get_data(as_text=True)
    pages["code error"] = _code_step(other, "x").get_data(as_text=True)
    assert html_errors(pages, tmp_path) == []


def _secret_of(session: Session, user_id: int) -> str:
    session.expire_all()
    secret = session.get(StaffUser, user_id).totp_secret
    session.rollback()
    assert secret is not None
    return secret


def test_an_admin_resets_a_lost_phone_from_the_command_line(
    client: FlaskClient, app: Flask, session: Session, enrolled: tuple[StaffUser, list[str]]
) -> None:
    user, _ = enrolled
    email, user_id = user.email, user.id
    result = app.test_cli_runner().invoke(args=["users", "reset-2fa", email])
    assert result.exit_code == 0, result.output
    assert _password_step(client, user).headers["Location"] == "/admin/"
    session.expire_all()
    assert not two_factor.is_enrolled(session.get(StaffUser, user_id))
    session.rollback()
    missing = app.test_cli_runner().invoke(args=["users", "reset-2fa", "nobody@example.org"])
    assert missing.exit_code == 2 and "No staff user" in missing.output

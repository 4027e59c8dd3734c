"""The password rules, and every way of setting a password going through them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from engine import users_cli
from engine.errors import ValidationFailed
from engine.passwords import check_password, common_passwords
from engine.users import StaffUser, authenticate, create_user
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "1234567890",  # common, and a run of keys
        "qwertyuiop",
        "password123",  # common
        "Password123!",  # common once the decoration is off
        "iloveyou2024",
        "Pinwheel2024!",  # the product's name
        "jane.doe1987",  # the address's name
        "Agency!!2027",  # the address's domain
        "jane.doe@agency",  # the address
        "aaaaaaaaaaaa",
        "abababababab",
        "zyxwvutsrqpo",  # the alphabet backwards
        "1qaz2wsx3edc",  # a keyboard walk down the columns
    ],
)
def test_guessable_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationFailed):
        check_password(password, email="jane.doe@agency.example.org")


@pytest.mark.parametrize(
    "password", [PASSWORD, "pinwheel-demo-admin", "tulip marble 42 lantern", "Xk#9v!q2Lm0p"]
)
def test_reasonable_passwords_pass(password: str) -> None:
    check_password(password, email="jane.doe@agency.example.org")


def test_the_packaged_list_has_ten_thousand_common_passwords() -> None:
    listed = common_passwords()
    assert 9_900 <= len(listed) <= 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= listed
    assert all(entry == entry.strip() and not entry.startswith("# ") for entry in listed)


def test_creating_a_user_applies_the_rules(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="most commonly used"):
        create_user(session, email="new@agency.example.org", password="baseball123", role="editor")
    with pytest.raises(ValidationFailed, match="easy to guess"):
        create_user(session, email="new@agency.example.org", password="new@agency!!", role="editor")


def _with_settings(app: Flask, **changes: str) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        **changes
    )


def test_set_password_command_reads_the_environment_and_signs_out(
    runner: FlaskCliRunner, app: Flask, session: Session
) -> None:
    user = make_user(session, email="forgetful@agency.example.org")
    session.commit()
    version = user.session_version
    _with_settings(app, USER_PASSWORD="a fresh passphrase here")
    result = runner.invoke(args=["users", "set-password", "Forgetful@agency.example.org"])
    assert result.exit_code == 0, result.output
    assert "forgetful@agency.example.org" in result.output
    session.expire_all()
    changed = session.get(StaffUser, user.id)
    assert changed.session_version == version + 1 and changed.password_changed_at is not None
    assert authenticate(session, changed.email, "a fresh passphrase here") is not None
    assert authenticate(session, changed.email, PASSWORD) is None


class _Terminal:
    class stdin:  # noqa: N801 (stands in for sys.stdin)
        @staticmethod
        def isatty() -> bool:
            return True


def test_set_password_command_prompts_twice(
    runner: FlaskCliRunner, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session, email="prompted@agency.example.org")
    session.commit()
    # The runner's input is no terminal; the command must believe it is one.
    monkeypatch.setattr(users_cli, "sys", _Terminal())
    result = runner.invoke(
        args=["users", "set-password", user.email],
        input="another good passphrase\nanother good passphrase\n",
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert authenticate(session, user.email, "another good passphrase") is not None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("nobody@agency.example.org", "a fresh passphrase here", "No staff user"),
        ("weak@agency.example.org", "sunshine1234", "most commonly used"),
        ("weak@agency.example.org", "tiny", "at least 10 characters"),
    ],
)
def test_set_password_command_errors_are_one_line(
    runner: FlaskCliRunner, app: Flask, session: Session, email: str, password: str, message: str
) -> None:
    make_user(session, email="weak@agency.example.org")
    session.commit()
    _with_settings(app, USER_PASSWORD=password)
    result = runner.invoke(args=["users", "set-password", email])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert session.scalar(sa.select(StaffUser.session_version)) == 0


def test_set_password_without_a_terminal_or_setting_says_how(
    runner: FlaskCliRunner, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    result = runner.invoke(args=["users", "set-password", user.email])
    assert result.exit_code == 2
    assert "PINWHEEL_USER_PASSWORD" in result.output

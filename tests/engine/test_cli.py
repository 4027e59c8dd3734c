"""The engine's commands: users, tokens, database, and clean errors for bad input."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from flask.testing import FlaskCliRunner

from engine.users import ApiToken, StaffUser
from tests.factories import make_user


def test_users_create_reads_password_from_settings(runner: FlaskCliRunner, app, session) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        ADMIN_PASSWORD="a long enough password"
    )
    result = runner.invoke(args=["users", "create", "--role", "admin", "Boss@Agency.example.org"])
    assert result.exit_code == 0, result.output
    user = session.scalar(sa.select(StaffUser))
    assert user is not None and user.email == "boss@agency.example.org" and user.role == "admin"
    assert "a long enough password" not in user.password_hash


def test_users_create_twice_is_a_clear_error(runner: FlaskCliRunner, app) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        ADMIN_PASSWORD="a long enough password"
    )
    runner.invoke(args=["users", "create", "editor@agency.example.org"])
    result = runner.invoke(args=["users", "create", "editor@agency.example.org"])
    assert result.exit_code == 2
    assert "already exists" in result.output


def test_users_create_rejects_bad_address(runner: FlaskCliRunner, app) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        ADMIN_PASSWORD="a long enough password"
    )
    result = runner.invoke(args=["users", "create", "not-an-address"])
    assert result.exit_code == 2
    assert "Not a valid email address" in result.output
    assert "Traceback" not in result.output


def test_tokens_create_prints_secret_once(runner: FlaskCliRunner, session) -> None:
    user = make_user(session, role="editor", email="ed@agency.example.org")
    session.commit()
    result = runner.invoke(
        args=["tokens", "create", "--user", "ED@agency.example.org", "nightly import"]
    )
    assert result.exit_code == 0, result.output
    token = session.scalar(sa.select(ApiToken))
    assert token is not None and token.prefix in result.output
    assert token.token_hash not in result.output and token.user_id == user.id
    assert "acts as ed@agency.example.org (editor)" in result.output


def test_tokens_create_needs_a_known_user(runner: FlaskCliRunner) -> None:
    missing = runner.invoke(args=["tokens", "create", "nightly import"])
    assert missing.exit_code == 2 and "--user" in missing.output
    unknown = runner.invoke(args=["tokens", "create", "--user", "who@example.org", "x"])
    assert unknown.exit_code == 2
    assert unknown.output == "Error: No staff user who@example.org.\n"


def test_bad_setting_stops_the_command_with_one_line(tmp_path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "engine", "campaigns", "list"],
        env={"PINWHEEL_MAIL_BACKEND": "pigeon", "PINWHEEL_INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "PINWHEEL_MAIL_BACKEND" in completed.stderr
    assert "Traceback" not in completed.stderr

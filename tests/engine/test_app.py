from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.config import ConfigError, load_settings
from tests.factories import PASSWORD, login, make_user


def test_healthz_reports_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_without_database(tmp_path) -> None:
    from engine.app import create_app

    broken = tmp_path / "missing" / "nowhere" / "db.sqlite"
    app = create_app(
        load_settings(
            environ={},
            ENV="testing",
            SECRET_KEY="x",
            INSTANCE_PATH=str(tmp_path / "instance"),
            DATABASE_URL=f"sqlite:///{broken}",
        )
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_login_with_wrong_password_is_refused(app: Flask, client: FlaskClient, session) -> None:
    user = make_user(session)
    session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    from tests.factories import csrf_token_from

    response = client.post(
        "/admin/login",
        data={
            "email": user.email,
            "password": "wrong password",
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert PASSWORD != "wrong password"


def test_login_without_csrf_token_gets_clear_400(client: FlaskClient, session) -> None:
    user = make_user(session)
    session.commit()
    response = client.post("/admin/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def test_login_then_outbox(client: FlaskClient, session) -> None:
    user = make_user(session)
    session.commit()
    login(client, user)
    response = client.get("/admin/outbox/")
    assert response.status_code == 200
    assert "Outbox" in response.get_data(as_text=True)


def test_bad_setting_names_the_key() -> None:
    with pytest.raises(ConfigError, match="PINWHEEL_MAIL_BACKEND"):
        load_settings(environ={"PINWHEEL_MAIL_BACKEND": "pigeon"})


def test_sender_address_is_one_line_and_smtputf8_is_off_unless_set(tmp_path) -> None:
    environ = {"PINWHEEL_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(environ=environ).SMTPUTF8 is False
    assert load_settings(environ=environ | {"PINWHEEL_SMTPUTF8": "true"}).SMTPUTF8 is True
    broken = environ | {"PINWHEEL_SENDER_ADDRESS": "News\r\nBcc: x@example.org <n@example.org>"}
    with pytest.raises(ConfigError, match=r"SENDER_ADDRESS contains a carriage return"):
        load_settings(environ=broken)


def test_subscribe_form_origins_are_read_as_a_list_of_origins(tmp_path) -> None:
    environ = {
        "PINWHEEL_INSTANCE_PATH": str(tmp_path),
        "PINWHEEL_BASE_URL": "https://News.Example.org/letters",
        "PINWHEEL_SUBSCRIBE_FORM_ORIGINS": "https://WWW.agency.example.gov/, http://intra:8080",
    }
    settings = load_settings(environ=environ)
    assert settings.SUBSCRIBE_FORM_ORIGINS == (
        "https://www.agency.example.gov",
        "http://intra:8080",
    )
    assert settings.subscribe_form_origins[0] == "https://news.example.org"
    for wrong in ("www.agency.example.gov", "https://agency.example.gov/signup", "ftp://x"):
        with pytest.raises(ConfigError, match="PINWHEEL_SUBSCRIBE_FORM_ORIGINS"):
            load_settings(environ=environ | {"PINWHEEL_SUBSCRIBE_FORM_ORIGINS": wrong})

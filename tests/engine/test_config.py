"""Production start-up checks, and messages that never show a password from a URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.app import create_app
from engine.config import ConfigError, load_settings, url_without_password

PASSWORD = "hunter2-not-for-logs"


def _production(tmp_path: Path, **values: str) -> dict[str, str]:
    environ = {
        "PINWHEEL_ENV": "production",
        "PINWHEEL_INSTANCE_PATH": str(tmp_path),
        "PINWHEEL_SECRET_KEY": "k" * 32,
    }
    return environ | {f"PINWHEEL_{key}": value for key, value in values.items()}


def test_production_refuses_a_secret_key_shorter_than_32_bytes(tmp_path: Path) -> None:
    assert load_settings(environ=_production(tmp_path)).SECRET_KEY == "k" * 32
    for short in ("k" * 31, "é" * 15):  # 31 and 30 bytes
        with pytest.raises(ConfigError, match=r"SECRET_KEY is 3[01] bytes long; .* least 32"):
            load_settings(environ=_production(tmp_path, SECRET_KEY=short))
    with pytest.raises(ConfigError, match="SECRET_KEY is required in production"):
        load_settings(environ=_production(tmp_path, SECRET_KEY=""))
    # Development and tests generate or choose their own key.
    assert load_settings(environ={"PINWHEEL_INSTANCE_PATH": str(tmp_path)}).SECRET_KEY


def test_production_server_does_not_start_with_a_short_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        create_app(load_settings(environ=_production(tmp_path, SECRET_KEY="short")))
    completed = subprocess.run(
        [sys.executable, "-m", "engine.serve", "--port", "1"],
        env=_production(tmp_path, SECRET_KEY="short"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "PINWHEEL_SECRET_KEY is 5 bytes long" in completed.stderr


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("SMTP_URL", f"smtp2://mailer:{PASSWORD}@relay.example.org:587"),
        ("SMTP_URL", f"smtp://mailer:{PASSWORD}@relay.example.org:port"),
        ("BROKER_URL", f"redis://:{PASSWORD}@"),
        ("BROKER_URL", f"redis://:{PASSWORD}@[::1"),
        ("DATABASE_URL", f"postgresql+psycopg://pinwheel:{PASSWORD}@db:five/pinwheel"),
        ("DATABASE_URL", f"postgresql+psycopg://pinwheel:{PASSWORD}@db:99999/pinwheel"),
    ],
)
def test_setting_errors_hide_the_password_of_a_url(tmp_path: Path, key: str, url: str) -> None:
    with pytest.raises(ConfigError, match=f"PINWHEEL_{key}") as raised:
        load_settings(environ={"PINWHEEL_INSTANCE_PATH": str(tmp_path), f"PINWHEEL_{key}": url})
    assert PASSWORD not in str(raised.value)
    assert "***" in str(raised.value)


@pytest.mark.parametrize(
    "url", [f"redis2://:{PASSWORD}@127.0.0.1:6379/1", f"redis://:{PASSWORD}@127.0.0.1:x/1"]
)
def test_rate_limit_storage_errors_hide_the_password(tmp_path: Path, url: str) -> None:
    settings = load_settings(
        environ={"PINWHEEL_INSTANCE_PATH": str(tmp_path)}, RATELIMIT_STORAGE_URL=url
    )
    with pytest.raises(ConfigError, match="PINWHEEL_RATELIMIT_STORAGE_URL") as raised:
        create_app(settings)
    assert PASSWORD not in str(raised.value)


def test_the_command_line_shows_a_bad_url_without_its_password(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "engine", "doctor"],
        env={
            "PINWHEEL_INSTANCE_PATH": str(tmp_path),
            "PINWHEEL_BROKER_URL": f"redis://pinwheel:{PASSWORD}@redis.internal:six/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "PINWHEEL_BROKER_URL" in completed.stderr and "***" in completed.stderr
    assert PASSWORD not in completed.stderr + completed.stdout


def test_url_without_password() -> None:
    cases = {
        f"redis://:{PASSWORD}@127.0.0.1:6379/0": "redis://:***@127.0.0.1:6379/0",
        f"postgresql+psycopg://app:{PASSWORD}@db/app?sslmode=require": (
            "postgresql+psycopg://app:***@db/app?sslmode=require"
        ),
        "smtp://relay.example.org:25?from=a@example.org": (
            "smtp://relay.example.org:25?from=a@example.org"
        ),
        "smtps://mailer@relay.example.org": "smtps://mailer@relay.example.org",
        f"amqp://app:{PASSWORD}/with#odd@broker:5672": "amqp://***@broker:5672",
        "sqlite:////srv/pinwheel/instance/pinwheel.db": "sqlite:////srv/pinwheel/instance/pinwheel.db",
    }
    assert {url: url_without_password(url) for url in cases} == cases


def test_return_path_must_be_a_bare_address_with_room_for_the_tag(tmp_path: Path) -> None:
    environ = {"PINWHEEL_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(environ=environ).RETURN_PATH == ""
    configured = environ | {"PINWHEEL_RETURN_PATH": " bounces@agency.example "}
    assert load_settings(environ=configured).RETURN_PATH == "bounces@agency.example"
    for bad in (
        "bounces",
        "Bounces <bounces@agency.example>",
        "bounces+news@agency.example",
        "bounces@localhost",
        "b\r\nounces@agency.example",
        f"{'b' * 28}@agency.example",
    ):
        with pytest.raises(ConfigError, match="RETURN_PATH"):
            load_settings(environ=environ | {"PINWHEEL_RETURN_PATH": bad})

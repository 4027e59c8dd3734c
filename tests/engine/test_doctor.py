from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskCliRunner

from engine.checks import Check, any_failed, format_json, format_lines
from engine.config import Settings
from engine.doctor import (
    check_backend,
    check_base_url,
    check_migrations,
    check_postal_address,
    check_rate_limit_storage,
    check_secret_key,
    run_doctor,
)
from engine.health import check_database
from engine.migrate import alembic_config
from engine.sender_dns import DnsUnavailable, check_sender_dns
from tests.fakes.smtp_sink import SinkConfig, SmtpSink

SENDER = "Pinwheel <news@agency.example.org>"
GOOD_DNS = {
    "agency.example.org": ["v=spf1 include:sendgrid.net ~all", "google-site-verification=x"],
    "s1._domainkey.agency.example.org": ["k=rsa; p=MIGfMA0GCSq"],
    "_dmarc.agency.example.org": ["v=DMARC1; p=quarantine"],
}


class FakeResolver:
    """Answer TXT lookups from a dict, or fail every lookup like a machine without DNS."""

    def __init__(self, records: dict[str, list[str]] | None = None, offline: bool = False):
        self.records = records or {}
        self.offline = offline
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        if self.offline:
            raise DnsUnavailable("LifetimeTimeout: no nameservers answered")
        return self.records.get(name, [])


class _ScopesHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        key = self.headers.get("Authorization", "")
        if self.path != "/v3/scopes" or key not in self.server.keys:  # type: ignore[attr-defined]
            self._answer(401, {"errors": [{"message": "authorization required"}]})
            return
        self._answer(200, {"scopes": self.server.keys[key]})  # type: ignore[attr-defined]

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sendgrid_url() -> Iterator[str]:
    """A tiny SendGrid on 127.0.0.1: key ``SG.good`` may send, ``SG.readonly`` may not."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScopesHandler)
    server.keys = {
        "Bearer SG.good": ["mail.send", "stats.read"],
        "Bearer SG.readonly": ["stats.read"],
    }  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _statuses(checks: list[Check]) -> dict[str, str]:
    return {check.name: check.status for check in checks}


def _stamp_head(settings: Settings) -> None:
    config = alembic_config(settings.DATABASE_URL)
    if ScriptDirectory.from_config(config).get_heads():
        command.stamp(config, "head")


def test_healthy_configuration_passes(settings: Settings, sendgrid_url: str, app: Flask) -> None:
    _stamp_head(settings)
    production = settings.with_overrides(
        ENV="production",
        MAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY="SG.good",
        SENDGRID_API_URL=sendgrid_url,
        SENDER_ADDRESS=SENDER,
        POSTAL_ADDRESS="1 Agency Plaza, Columbus, OH 43215",
        SECRET_KEY="a-long-random-production-secret-0123456789",
    )
    checks = run_doctor(production, resolver=FakeResolver(GOOD_DNS))
    assert not any_failed(checks), checks
    assert _statuses(checks)["backend"] == "ok"
    assert _statuses(checks)["dns dkim"] == "ok"


def test_rejected_sendgrid_key_fails(settings: Settings, sendgrid_url: str) -> None:
    bad = settings.with_overrides(
        MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.wrong", SENDGRID_API_URL=sendgrid_url
    )
    check = check_backend(bad)
    assert check.status == "fail" and "refused" in check.message
    readonly = bad.with_overrides(SENDGRID_API_KEY="SG.readonly")
    assert "cannot send" in check_backend(readonly).message


def test_unreachable_sendgrid_fails(settings: Settings) -> None:
    down = settings.with_overrides(
        MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.good", SENDGRID_API_URL="http://127.0.0.1:9"
    )
    assert check_backend(down).status == "fail"


def test_smtp_login_ok_and_refused(settings: Settings) -> None:
    with SmtpSink(SinkConfig(username="relay", password="pw")) as sink:
        good = settings.with_overrides(MAIL_BACKEND="smtp", SMTP_URL=sink.url())
        assert check_backend(good).status == "ok"
        wrong = sink.url().replace("relay:pw", "relay:nope")
        check = check_backend(settings.with_overrides(MAIL_BACKEND="smtp", SMTP_URL=wrong))
        assert check.status == "fail" and "credentials" in check.message


def test_smtp_unreachable_fails(settings: Settings) -> None:
    closed = settings.with_overrides(MAIL_BACKEND="smtp", SMTP_URL="smtp://127.0.0.1:9")
    assert check_backend(closed).status == "fail"


def test_outbox_folder_must_be_writable(settings: Settings, tmp_path) -> None:
    assert check_backend(settings.with_overrides(MAIL_BACKEND="outbox")).status == "ok"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    blocked = settings.with_overrides(MAIL_BACKEND="outbox", INSTANCE_PATH=str(blocker))
    assert check_backend(blocked).status == "fail"


def test_missing_dns_records_fail_with_hints() -> None:
    checks = check_sender_dns(SENDER, FakeResolver({}))
    assert _statuses(checks) == {"dns spf": "fail", "dns dkim": "warn", "dns dmarc": "fail"}
    assert all(check.hint for check in checks)


def test_two_spf_records_fail() -> None:
    records = {"agency.example.org": ["v=spf1 -all", "v=spf1 include:x ~all"]}
    spf = check_sender_dns(SENDER, FakeResolver(records))[0]
    assert spf.status == "fail" and "2 SPF records" in spf.message


def test_offline_dns_says_so() -> None:
    checks = check_sender_dns(SENDER, FakeResolver(offline=True))
    assert {check.status for check in checks} == {"warn"}
    assert checks[0].message.startswith("offline: could not look up SPF for agency.example.org")


def test_production_refuses_the_generated_secret(settings: Settings) -> None:
    key_file = settings.instance_path / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(settings.SECRET_KEY)
    assert check_secret_key(settings).status == "ok"
    assert check_secret_key(settings.with_overrides(ENV="production")).status == "fail"


def test_production_needs_https_base_url(settings: Settings) -> None:
    production = settings.with_overrides(ENV="production")
    assert check_base_url(production).status == "ok"
    plain = production.with_overrides(BASE_URL="http://news.example.org")
    assert check_base_url(plain).status == "fail"
    local = production.with_overrides(BASE_URL="https://localhost")
    assert check_base_url(local).status == "fail"


def test_postal_address(settings: Settings) -> None:
    assert check_postal_address(settings.with_overrides(POSTAL_ADDRESS=" ")).status == "fail"
    assert check_postal_address(settings.with_overrides(ENV="production")).status == "warn"


def test_database_checks(settings: Settings, tmp_path) -> None:
    assert check_database(settings).status == "ok"
    assert check_migrations(settings).status in {"ok", "warn", "fail"}
    missing = settings.with_overrides(DATABASE_URL=f"sqlite:///{tmp_path / 'nope' / 'x.db'}")
    assert check_database(missing).status == "fail"


def test_unmigrated_database_fails_when_migrations_exist(settings: Settings) -> None:
    heads = ScriptDirectory.from_config(alembic_config(settings.DATABASE_URL)).get_heads()
    check = check_migrations(settings)
    if not heads:
        assert check.status == "warn"
    else:
        assert check.status == "fail" and "pinwheel db upgrade" in check.hint
        _stamp_head(settings)
        assert check_migrations(settings).status == "ok"


def test_rate_limit_storage_shared_by_workers_in_production(settings: Settings) -> None:
    assert check_rate_limit_storage(settings).status == "ok"
    production = settings.with_overrides(ENV="production", SECRET_KEY="x" * 40)
    check = check_rate_limit_storage(production)
    assert check.status == "warn" and "redis://" in check.hint
    shared = production.with_overrides(RATELIMIT_STORAGE_URL="redis://127.0.0.1:6379/1")
    assert check_rate_limit_storage(shared).status == "ok"
    down = production.with_overrides(RATELIMIT_STORAGE_URL="redis://127.0.0.1:9/0")
    assert check_rate_limit_storage(down).status == "fail"


def test_doctor_command_exits_1_on_failure(app: Flask, runner: FlaskCliRunner) -> None:
    app.extensions["pinwheel.dns_resolver"] = FakeResolver({})
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "fail  dns spf" in result.output
    assert "hint:" in result.output


def test_doctor_command_json(app: Flask, runner: FlaskCliRunner, settings: Settings) -> None:
    _stamp_head(settings)
    records = {
        name.replace("agency.example.org", "pinwheel.example.org"): values
        for name, values in GOOD_DNS.items()
    }
    app.extensions["pinwheel.dns_resolver"] = FakeResolver(records)
    result = runner.invoke(args=["doctor", "--json"])
    document = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert document["ok"] is True
    assert {"database", "secret key", "base url", "backend", "dns spf"} <= {
        check["name"] for check in document["checks"]
    }


def test_doctor_never_prints_a_password_from_a_url(settings: Settings) -> None:
    secret = "hunter2-not-for-logs"
    configured = settings.with_overrides(
        ENV="production",
        BASE_URL=f"https://staff:{secret}@news.example.org",
        MAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY="SG.good",
        SENDGRID_API_URL=f"http://api:{secret}@127.0.0.1:9",
        BROKER_URL=f"redis://:{secret}@127.0.0.1:9/0",
        RATELIMIT_STORAGE_URL=f"redis://:{secret}@127.0.0.1:9/1",
    )
    checks = run_doctor(configured, resolver=FakeResolver(GOOD_DNS))
    shown = format_lines(checks) + format_json(checks)
    assert secret not in shown
    assert "http://api:***@127.0.0.1:9/v3/scopes" in shown
    assert "https://staff:***@news.example.org" in shown

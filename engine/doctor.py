"""Check the configuration and the world around it: ``pinwheel doctor`` and ``pinwheel health``.

``pinwheel doctor`` checks the database (reachable, migrated to the Alembic head), the secret key,
``BASE_URL``, the delivery backend's credentials with a harmless call, the broker, where rate
limits are counted, the sender
domain's SPF/DKIM/DMARC records, the published record of the DKIM key Pinwheel signs with, and
the postal address. ``pinwheel health`` runs the probes of ``engine.health`` for orchestrators:
readiness (database, broker) by default, liveness with ``--live``. Both print one line per check
(``--json`` for a document) and exit 1 when any check fails.

The DNS resolver is ``app.extensions["pinwheel.dns_resolver"]`` when set (tests), else dnspython.
"""

from __future__ import annotations

import smtplib
import ssl
import tempfile
from dataclasses import fields
from urllib.parse import urlsplit

import click
import requests
from flask import current_app

from engine.checks import Check, Status, any_failed, format_json, format_lines
from engine.cli import fail
from engine.config import Settings, url_without_password
from engine.delivery.dkim import signer_from_settings
from engine.delivery.smtp import parse_smtp_url
from engine.dkim_keys import published_key
from engine.health import (
    DEFAULT_TIMEOUT,
    check_broker,
    check_database,
    check_liveness,
    check_readiness,
    ping_redis,
)
from engine.migrate import alembic_config, current_revision
from engine.sender_dns import DnsPythonResolver, DnsUnavailable, TxtResolver, check_sender_dns
from engine.web import get_settings

NETWORK_TIMEOUT = 5.0
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def run_doctor(settings: Settings, *, resolver: TxtResolver | None = None) -> list[Check]:
    """Run every configuration and environment check."""
    checks = [check_database(settings)]
    if checks[0].status == "ok":
        checks.append(check_migrations(settings))
    checks += [
        check_secret_key(settings),
        check_base_url(settings),
        check_backend(settings),
        check_broker(settings),
        check_rate_limit_storage(settings),
        check_postal_address(settings),
    ]
    resolver = resolver or DnsPythonResolver()
    checks += check_sender_dns(
        settings.SENDER_ADDRESS, resolver, own_dkim_key=bool(settings.DKIM_SELECTOR)
    )
    checks.append(check_dkim_key(settings, resolver))
    return checks


def check_migrations(settings: Settings) -> Check:
    """Check that the database is at the Alembic head of this build."""
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(settings.DATABASE_URL)).get_heads())
    if not heads:
        return Check("migrations", "warn", "this build has no migrations to compare with")
    current = current_revision(settings.DATABASE_URL)
    if current is None:
        return Check(
            "migrations",
            "fail",
            "the database has no schema revision",
            "Run `pinwheel db upgrade`.",
        )
    if current not in heads:
        return Check(
            "migrations",
            "fail",
            f"database at {current}, code at {', '.join(heads)}",
            "Run `pinwheel db upgrade` (after a backup).",
        )
    return Check("migrations", "ok", f"at head {current}")


def check_secret_key(settings: Settings) -> Check:
    """Check the secret key: not the generated development key in production."""
    generated_file = settings.instance_path / "secret_key"
    generated = (
        generated_file.exists() and generated_file.read_text().strip() == settings.SECRET_KEY
    )
    if not settings.is_production:
        source = "generated in instance/secret_key" if generated else "set"
        return Check("secret key", "ok", f"{source} ({settings.ENV})")
    if generated:
        return Check(
            "secret key",
            "fail",
            "production uses the generated development key",
            "Set PINWHEEL_SECRET_KEY to a new random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))').",
        )
    # A key shorter than 32 bytes never gets here: production settings refuse it.
    return Check("secret key", "ok", "set")


def check_base_url(settings: Settings) -> Check:
    """Check that ``BASE_URL`` is absolute, and HTTPS on a public host in production."""
    parts = urlsplit(settings.BASE_URL)
    base_url = url_without_password(settings.BASE_URL)
    if not settings.is_production:
        return Check("base url", "ok", base_url)
    if parts.scheme != "https":
        return Check(
            "base url",
            "fail",
            f"{base_url} is not HTTPS",
            "Links in emails must be https:// in production.",
        )
    if parts.hostname in _LOCAL_HOSTS:
        return Check(
            "base url",
            "fail",
            f"{base_url} points at this machine",
            "Set PINWHEEL_BASE_URL to the public address of the site.",
        )
    return Check("base url", "ok", base_url)


def check_postal_address(settings: Settings) -> Check:
    """Check that the footer's postal address is set (and not the example one in production)."""
    if not settings.POSTAL_ADDRESS.strip():
        return Check(
            "postal address",
            "fail",
            "not set",
            "CAN-SPAM requires a valid physical postal address in every email.",
        )
    example = next(f.default for f in fields(Settings) if f.name == "POSTAL_ADDRESS")
    if settings.is_production and example == settings.POSTAL_ADDRESS:
        return Check(
            "postal address",
            "warn",
            "still the example address",
            "Set PINWHEEL_POSTAL_ADDRESS to the agency's address.",
        )
    return Check("postal address", "ok", settings.POSTAL_ADDRESS)


def check_dkim_key(settings: Settings, resolver: TxtResolver) -> Check:
    """Check that the selector's DKIM record in DNS publishes the configured key."""
    signer = signer_from_settings(settings)
    if signer is None:
        return Check("dkim key", "skip", "not configured: Pinwheel does not sign messages")
    name = f"{signer.selector}._domainkey.{signer.domain}"
    publish = "Publish the record `pinwheel dkim record` prints (DNS changes may take a while)."
    try:
        published = published_key(resolver.txt(name))
    except DnsUnavailable as error:
        return Check(
            "dkim key",
            "warn",
            f"offline: could not look up {name} ({error})",
            "Run the doctor where DNS is reachable to check the DKIM record.",
        )
    except ValueError as error:
        return Check("dkim key", "fail", f"{name}: {error}", publish)
    if published is None:
        return Check("dkim key", "fail", f"no DKIM record at {name}", publish)
    if not signer.key.is_published_as(*published):
        return Check(
            "dkim key",
            "fail",
            f"{name} publishes another key than {settings.DKIM_PRIVATE_KEY_PATH}",
            f"{publish} Receivers reject the signatures until the two match.",
        )
    return Check("dkim key", "ok", f"{name} publishes the configured {signer.key.key_type} key")


def check_backend(settings: Settings) -> Check:
    """Check the delivery backend's credentials or folder with a call that sends nothing."""
    backend = settings.MAIL_BACKEND
    if backend == "sendgrid":
        return _check_sendgrid(settings)
    if backend == "smtp":
        return _check_smtp(settings)
    if backend == "outbox":
        return _check_outbox(settings)
    if settings.is_production:
        return Check(
            "backend",
            "fail",
            "memory backend delivers nothing",
            "Set PINWHEEL_MAIL_BACKEND to sendgrid or smtp.",
        )
    return Check("backend", "ok", "memory (tests)")


def _check_sendgrid(settings: Settings) -> Check:
    url = f"{settings.SENDGRID_API_URL.rstrip('/')}/v3/scopes"
    shown = url_without_password(url)
    headers = {"Authorization": f"Bearer {settings.SENDGRID_API_KEY}"}
    try:
        response = requests.get(url, headers=headers, timeout=NETWORK_TIMEOUT)
    except requests.RequestException as error:
        return Check(
            "backend",
            "fail",
            f"sendgrid: could not reach {shown} ({error.__class__.__name__})",
            "Check the network and PINWHEEL_SENDGRID_API_URL.",
        )
    if response.status_code in (401, 403):
        return Check(
            "backend",
            "fail",
            f"sendgrid: the API key was refused ({response.status_code})",
            "Create a key with the Mail Send permission and set PINWHEEL_SENDGRID_API_KEY.",
        )
    if response.status_code != 200:
        return Check(
            "backend",
            "fail",
            f"sendgrid: {shown} answered {response.status_code}",
            "Try again later; see status.sendgrid.com.",
        )
    scopes = response.json().get("scopes", [])
    if "mail.send" not in scopes:
        return Check(
            "backend",
            "fail",
            "sendgrid: the API key cannot send mail",
            "Give the key the Mail Send permission.",
        )
    return Check("backend", "ok", "sendgrid: API key accepted, mail.send allowed")


def _check_smtp(settings: Settings) -> Check:
    target = parse_smtp_url(settings.SMTP_URL)
    where = f"{target.host}:{target.port}"
    timeout = min(target.timeout, NETWORK_TIMEOUT)
    context = ssl.create_default_context()
    conn: smtplib.SMTP
    try:
        if target.implicit_tls:
            conn = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with conn:
            conn.ehlo()
            if target.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if target.username:
                conn.login(target.username, target.password)
    except smtplib.SMTPAuthenticationError as error:
        return Check(
            "backend",
            "fail",
            f"smtp: {where} refused the credentials ({error.smtp_code})",
            "Check the user and password in PINWHEEL_SMTP_URL.",
        )
    except (smtplib.SMTPException, OSError) as error:
        return Check(
            "backend",
            "fail",
            f"smtp: could not talk to {where} ({error.__class__.__name__})",
            "Check PINWHEEL_SMTP_URL and that the relay accepts this host.",
        )
    login = " and login" if target.username else ""
    return Check("backend", "ok", f"smtp: {where} answered EHLO{login}")


def _check_outbox(settings: Settings) -> Check:
    folder = settings.outbox_path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        return Check(
            "backend",
            "fail",
            f"outbox: cannot write to {folder} ({error.strerror})",
            "Fix the folder's permissions or PINWHEEL_INSTANCE_PATH.",
        )
    hint = "The outbox only writes files: use sendgrid or smtp in production."
    status: Status = "warn" if settings.is_production else "ok"
    return Check("backend", status, f"outbox: {folder} is writable", hint)


def check_rate_limit_storage(settings: Settings) -> Check:
    """Check where the public forms' rate limits are counted: shared by every web worker?"""
    url = settings.RATELIMIT_STORAGE_URL
    if url.startswith("memory://"):
        if not settings.is_production:
            return Check("rate limits", "ok", "memory (one process)")
        return Check(
            "rate limits",
            "warn",
            "counted in each web worker's memory: the real limit is the set one times the workers",
            "Set PINWHEEL_RATELIMIT_STORAGE_URL=redis://127.0.0.1:6379/1 (docs/deploy.md).",
        )
    if not url.startswith(("redis://", "rediss://")):
        return Check("rate limits", "warn", "only Redis storage is checked")
    return ping_redis("rate limits", url, "PINWHEEL_RATELIMIT_STORAGE_URL")


def _report(checks: list[Check], as_json: bool) -> None:
    click.echo(format_json(checks) if as_json else format_lines(checks))
    if any_failed(checks):
        raise click.exceptions.Exit(1)


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def doctor_command(as_json: bool) -> None:
    """Check the configuration, database, backend and sender DNS; exit 1 on any failure."""
    resolver = current_app.extensions.get("pinwheel.dns_resolver")
    _report(run_doctor(get_settings(), resolver=resolver), as_json)


@click.command("health")
@click.option("--ready", is_flag=True, help="Check the database and broker answer (the default).")
@click.option("--live", is_flag=True, help="Only check that this process loads its settings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=300),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the database and broker together.",
)
def health_command(ready: bool, live: bool, as_json: bool, timeout: float) -> None:
    """Probe for orchestrators: exit 0 when ready (or live), 1 when not, 2 on bad usage."""
    if ready and live:
        fail("Choose one of --ready and --live.")
    settings = get_settings()
    _report(check_liveness(settings) if live else check_readiness(settings, timeout), as_json)

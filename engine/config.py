"""The one place that reads the environment: every ``PINWHEEL_*`` key, its default and its check."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from engine.dkim_keys import DNS_NAME, load_key
from engine.text_fields import control_character

PREFIX = "PINWHEEL_"
#: Production refuses a shorter ``SECRET_KEY``.
MIN_SECRET_KEY_BYTES = 32
#: From a URL's scheme to its last "@": where its user name and password would be.
_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://).*@", re.DOTALL)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: A per-delivery return path adds ``+<delivery id>-<16-character signature>`` (up to 37
#: characters) to the bounce mailbox, and RFC 5321 allows 64 before the ``@``.
RETURN_PATH_LOCAL_MAX = 27
_MAILBOX = re.compile(r"[A-Za-z0-9!#$%&'*/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}")
MAIL_BACKENDS = ("outbox", "smtp", "sendgrid", "memory")
ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


def _positive_int(key: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{key} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{PREFIX}{key} must be positive, got {raw!r}")
    return value


def _positive_float(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{key} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{PREFIX}{key} must be a finite number, not negative, got {raw!r}")
    return value


def _lower(_key: str, raw: str) -> str:
    return raw.strip().lower()


def _count(key: str, raw: str) -> int:
    if raw.strip() == "0":
        return 0
    return _positive_int(key, raw)


def _bool(key: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{PREFIX}{key} must be true or false, got {raw!r}")


def _addresses(key: str, raw: str) -> tuple[str, ...]:
    """Parse comma- or space-separated email addresses, lower-cased."""
    addresses = tuple(value.lower() for value in raw.replace(",", " ").split())
    for address in addresses:
        local, at, domain = address.rpartition("@")
        if not (at and local and "." in domain):
            raise ConfigError(f"{PREFIX}{key} takes email addresses, got {address!r}")
    return addresses


def _origins(key: str, raw: str) -> tuple[str, ...]:
    """Parse comma- or space-separated origins (``https://host[:port]``), lower-cased."""
    origins = []
    for value in raw.replace(",", " ").split():
        parts = urlsplit(value.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname or parts[2:] != ("", "", ""):
            raise ConfigError(
                f"{PREFIX}{key} takes origins such as https://www.example.org, got {value!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(origins)


#: An entry of ``FEED_ALLOWED_HOSTS``: a network (one address is a /32 or /128) or a host name.
FeedHost = ipaddress.IPv4Network | ipaddress.IPv6Network | str


def _feed_hosts(key: str, raw: str) -> tuple[FeedHost, ...]:
    """Parse comma- or space-separated addresses, networks (CIDR) and host names, lower-cased."""
    hosts: list[FeedHost] = []
    for value in raw.replace(",", " ").split():
        try:
            hosts.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            name = value.lower().rstrip(".")
            if not DNS_NAME.fullmatch(name):
                raise ConfigError(
                    f"{PREFIX}{key} takes addresses (127.0.0.1), networks (10.0.0.0/8) or host "
                    f"names, got {value!r}"
                ) from None
            hosts.append(name)
    return tuple(hosts)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting Pinwheel reads, validated once at start-up."""

    #: ``development`` (generated secret key, outbox), ``production`` (strict) or ``testing``.
    ENV: str = "development"
    #: SQLite under ``instance/`` by default, ``postgresql+psycopg://`` for production.
    DATABASE_URL: str = ""
    #: Signs sessions and subscriber tokens; generated and kept in ``instance/`` in development.
    SECRET_KEY: str = ""
    #: Absolute origin used for every link inside an email (emails never use ``url_for``).
    BASE_URL: str = "http://127.0.0.1:5000"
    MAIL_BACKEND: str = "outbox"
    #: ``smtp://user:pass@host:port``, ``smtps://`` for implicit TLS, ``?starttls=1``.
    SMTP_URL: str = "smtp://127.0.0.1:25"
    #: The mail service takes non-ASCII before the @ (SMTPUTF8); if not, such addresses are refused.
    SMTPUTF8: bool = False
    #: DKIM selector of the key that signs SMTP messages (``<selector>._domainkey.<domain>``);
    #: unset, Pinwheel does not sign (SendGrid signs for its domain authentication).
    DKIM_SELECTOR: str = ""
    #: PEM private key (RSA 2,048 bits or Ed25519) of that selector: ``pinwheel dkim generate``.
    DKIM_PRIVATE_KEY_PATH: str = ""
    #: The signing domain (``d=``); unset, the domain of ``SENDER_ADDRESS``.
    DKIM_DOMAIN: str = ""
    SENDGRID_API_KEY: str = ""
    SENDGRID_API_URL: str = "https://api.sendgrid.com"
    #: Base64 DER public key that SendGrid shows for the signed Event Webhook.
    SENDGRID_WEBHOOK_PUBLIC_KEY: str = ""
    #: Bearer token the mail server presents to ``POST /webhooks/dsn``; unset disables it.
    DSN_WEBHOOK_TOKEN: str = ""
    #: When set (``redis://…``), Celery workers execute send batches; otherwise an in-process pool.
    BROKER_URL: str = ""
    SENDER_ADDRESS: str = "Pinwheel Newsletters <newsletters@pinwheel.example.org>"
    #: Bounce mailbox (``bounces@agency.example``): each campaign message's envelope sender is
    #: then ``bounces+<delivery id>-<signature>@agency.example``; unset, the sender's address.
    RETURN_PATH: str = ""
    #: Printed in every email footer (CAN-SPAM); a pre-send check fails without it.
    POSTAL_ADDRESS: str = "330 C Street SW, Washington, DC 20201"
    TIMEZONE: str = "America/New_York"
    #: The day weekly digests go out (at 08:00 in ``TIMEZONE``), covering the seven days before.
    DIGEST_WEEKDAY: str = "saturday"
    #: Folder for the SQLite file, the outbox, media and the generated secret key.
    INSTANCE_PATH: str = str(PROJECT_ROOT / "instance")
    #: Optional ``mailto:`` address added to ``List-Unsubscribe`` beside the HTTPS URL.
    UNSUBSCRIBE_MAILTO: str = ""
    #: Messages per second all workers together may hand to the provider (0 = unlimited);
    #: shared through the database (``engine.delivery.budget``), like the provider's 429 pauses.
    SEND_RATE: float = 0.0
    BATCH_SIZE: int = 1000
    WORKER_THREADS: int = 2
    #: Seconds a batch claim is held before recovery may take it back.
    BATCH_LEASE_SECONDS: int = 300
    #: Seconds a queued batch of a sending campaign may wait with no claim before the
    #: dispatcher hands its task to the broker again (its task was lost with a worker or Redis).
    REQUEUE_AFTER_SECONDS: int = 300
    #: Redis visibility timeout: an unacknowledged task goes to another worker after this long.
    #: Longer than the longest batch (rate-limit waits included), so no batch runs twice at once.
    BROKER_VISIBILITY_SECONDS: int = 1800
    #: Seconds between recovery passes of the scheduler (expired leases, due retries, lost tasks).
    RECOVERY_SECONDS: int = 60
    #: PostgreSQL ends a session left idle inside a transaction this long (a frozen process),
    #: so its row locks cannot hold recovery up; 0 leaves the server's setting.
    IDLE_IN_TRANSACTION_SECONDS: int = 60
    #: Minutes a scheduled campaign may start late after downtime before it needs review.
    SCHEDULE_GRACE_MINUTES: int = 60
    #: Days a sign-up may stay unconfirmed before the scheduler's purge deletes it.
    UNCONFIRMED_RETENTION_DAYS: int = 30
    #: An issue whose sends reach more recipients than this in all needs an approver's approval
    #: (0: every send to subscribers does; a small team may raise it).
    APPROVAL_THRESHOLD: int = 0
    BOUNCE_RATE_LIMIT: float = 0.05
    COMPLAINT_RATE_LIMIT: float = 0.001
    #: Days a subscriber token (unsubscribe, preferences, web view) stays valid.
    TOKEN_MAX_AGE_DAYS: int = 90
    RATELIMIT_STORAGE_URL: str = "memory://"
    #: Start the APScheduler jobs inside the web process (``make run`` only).
    RUN_SCHEDULER: bool = False
    LOG_JSON: bool = False
    #: Reverse proxies in front of the app whose ``X-Forwarded-*`` headers are trusted (0 = none).
    PROXY_COUNT: int = 0
    #: Seconds anonymous visitors may be answered a public page (archive, web view, feed) from
    #: memory without asking the database whether it changed (0 = always ask).
    PAGE_CACHE_SECONDS: float = 1.0
    #: Other sites whose pages may carry a copy of the subscribe form (origins, comma-separated).
    SUBSCRIBE_FORM_ORIGINS: tuple[str, ...] = ()
    #: Inboxes besides staff users' own that may get unapproved test sends (seed lists,
    #: inbox-placement checkers), comma-separated.
    TEST_SEND_ADDRESSES: tuple[str, ...] = ()
    #: Bearer token for ``/metrics``; without it only direct loopback clients may scrape.
    METRICS_TOKEN: str = ""
    #: Folder shared by the ``pinwheel serve`` workers for Prometheus metrics (default: instance).
    METRICS_DIR: str = ""
    #: Password for ``pinwheel users create`` without a prompt (scripts, ``make run``'s demo admin).
    ADMIN_PASSWORD: str = ""
    #: Password for ``pinwheel users set-password`` without a prompt.
    USER_PASSWORD: str = ""
    #: Minutes a staff session lasts without a request before its user must sign in again.
    SESSION_IDLE_MINUTES: int = 480
    #: Make every staff user enrol in two-factor sign-in before they can use the staff pages.
    REQUIRE_2FA: bool = False
    #: SpamAssassin's daemon (``spamd://127.0.0.1:783``): the review pages show its score of
    #: each issue beside the pre-send checks (unset: the phrase check alone).
    SPAMD_URL: str = ""
    #: Minutes between two checks of a watched feed (the scheduler's job ticks each minute).
    FEED_CHECK_MINUTES: int = 30
    #: Seconds one feed check may take in all (redirects and the download included).
    FEED_TIMEOUT_SECONDS: int = 20
    #: Largest feed body read, in bytes (after decompression); a larger feed is refused.
    FEED_MAX_BYTES: int = 2 * 1024 * 1024
    #: Private, loopback or reserved addresses, networks and host names feeds may still be read
    #: from (an intranet news page); every other such address is refused, whatever DNS says.
    FEED_ALLOWED_HOSTS: tuple[FeedHost, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def instance_path(self) -> Path:
        return Path(self.INSTANCE_PATH)

    @property
    def outbox_path(self) -> Path:
        return self.instance_path / "outbox"

    @property
    def media_path(self) -> Path:
        return self.instance_path / "media"

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    @property
    def subscribe_form_origins(self) -> tuple[str, ...]:
        """Origins whose pages may post the subscribe form: ``BASE_URL``'s and the others."""
        base = urlsplit(self.BASE_URL)
        return (f"{base.scheme}://{base.netloc}".lower(), *self.SUBSCRIBE_FORM_ORIGINS)

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied and validated (used by tests)."""
        return _validated(replace(self, **changes))


#: Weekday names, Monday first (``datetime.weekday()`` order).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_CONVERTERS = {
    "SEND_RATE": _positive_float,
    "PAGE_CACHE_SECONDS": _positive_float,
    "BOUNCE_RATE_LIMIT": _positive_float,
    "COMPLAINT_RATE_LIMIT": _positive_float,
    "BATCH_SIZE": _positive_int,
    "WORKER_THREADS": _positive_int,
    "BATCH_LEASE_SECONDS": _positive_int,
    "REQUEUE_AFTER_SECONDS": _positive_int,
    "BROKER_VISIBILITY_SECONDS": _positive_int,
    "RECOVERY_SECONDS": _positive_int,
    "IDLE_IN_TRANSACTION_SECONDS": _count,
    "SCHEDULE_GRACE_MINUTES": _positive_int,
    "UNCONFIRMED_RETENTION_DAYS": _positive_int,
    "APPROVAL_THRESHOLD": _count,
    "DIGEST_WEEKDAY": _lower,
    "TOKEN_MAX_AGE_DAYS": _positive_int,
    "SESSION_IDLE_MINUTES": _positive_int,
    "REQUIRE_2FA": _bool,
    "SMTPUTF8": _bool,
    "RUN_SCHEDULER": _bool,
    "LOG_JSON": _bool,
    "PROXY_COUNT": _count,
    "SUBSCRIBE_FORM_ORIGINS": _origins,
    "TEST_SEND_ADDRESSES": _addresses,
    "FEED_CHECK_MINUTES": _positive_int,
    "FEED_TIMEOUT_SECONDS": _positive_int,
    "FEED_MAX_BYTES": _positive_int,
    "FEED_ALLOWED_HOSTS": _feed_hosts,
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read and validate ``PINWHEEL_*`` keys from ``environ`` (default: the process environment)."""
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        if spec.name == "extra":
            continue
        raw = source.get(PREFIX + spec.name)
        if raw is None:
            continue
        convert = _CONVERTERS.get(spec.name)
        values[spec.name] = convert(spec.name, raw) if convert else raw.strip()
    values.update(overrides)
    return _validated(Settings(**values))


def _validated(settings: Settings) -> Settings:
    if settings.ENV not in ENVIRONMENTS:
        raise ConfigError(
            f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, got {settings.ENV!r}"
        )
    if settings.MAIL_BACKEND not in MAIL_BACKENDS:
        raise ConfigError(
            f"{PREFIX}MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}, "
            f"got {settings.MAIL_BACKEND!r}"
        )
    _check_url("BASE_URL", settings.BASE_URL, ("http", "https"))
    _check_url("SENDGRID_API_URL", settings.SENDGRID_API_URL, ("http", "https"))
    _check_url("SMTP_URL", settings.SMTP_URL, ("smtp", "smtps"))
    if settings.BROKER_URL:
        _check_url("BROKER_URL", settings.BROKER_URL, ("redis", "rediss", "amqp"))
    if settings.SPAMD_URL:
        _check_url("SPAMD_URL", settings.SPAMD_URL, ("spamd",))
    if settings.BATCH_SIZE > 1000:
        # SendGrid accepts at most 1,000 personalizations in one request.
        raise ConfigError(f"{PREFIX}BATCH_SIZE must be at most 1000, got {settings.BATCH_SIZE}")
    try:
        zoneinfo.ZoneInfo(settings.TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{PREFIX}TIMEZONE is not a known time zone: {settings.TIMEZONE!r}"
        ) from None
    if settings.DIGEST_WEEKDAY not in WEEKDAYS:
        raise ConfigError(
            f"{PREFIX}DIGEST_WEEKDAY must be a weekday in English (monday … sunday), "
            f"got {settings.DIGEST_WEEKDAY!r}"
        )
    if "@" not in settings.SENDER_ADDRESS:
        raise ConfigError(
            f"{PREFIX}SENDER_ADDRESS must be an email address, got {settings.SENDER_ADDRESS!r}"
        )
    if problem := control_character(settings.SENDER_ADDRESS):
        # Its name is every message's From header: a line break there breaks every send.
        raise ConfigError(f"{PREFIX}SENDER_ADDRESS contains {problem}; write it on one line")
    if settings.RETURN_PATH:
        _check_return_path(settings.RETURN_PATH)
    _check_dkim(settings)
    if settings.MAIL_BACKEND == "sendgrid" and not settings.SENDGRID_API_KEY:
        raise ConfigError(
            f"{PREFIX}SENDGRID_API_KEY is required when {PREFIX}MAIL_BACKEND=sendgrid"
        )
    if settings.is_production:
        _check_production_secret(settings.SECRET_KEY)
    changes: dict[str, Any] = {"BASE_URL": settings.BASE_URL.rstrip("/")}
    if not settings.DATABASE_URL:
        changes["DATABASE_URL"] = f"sqlite:///{settings.instance_path / 'pinwheel.db'}"
    elif not settings.DATABASE_URL.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"{PREFIX}DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL, "
            f"got {settings.DATABASE_URL.split(':', 1)[0]!r}"
        )
    else:
        _check_port("DATABASE_URL", settings.DATABASE_URL)
    if not settings.SECRET_KEY:
        changes["SECRET_KEY"] = _development_secret(settings.instance_path)
    return replace(settings, **changes)


def _check_return_path(address: str) -> None:
    local, at, domain = address.rpartition("@")
    if not (at and _MAILBOX.fullmatch(local) and _DOMAIN.fullmatch(domain)):
        raise ConfigError(
            f"{PREFIX}RETURN_PATH must be a bare email address such as bounces@agency.example, "
            f"without a display name, <> or a + in it; got {address!r}"
        )
    if len(local) > RETURN_PATH_LOCAL_MAX:
        raise ConfigError(
            f"{PREFIX}RETURN_PATH's part before the @ may have at most {RETURN_PATH_LOCAL_MAX} "
            f"characters (each message adds a tag of up to 37 to it), got {len(local)}"
        )


def _check_dkim(settings: Settings) -> None:
    selector, key_path = settings.DKIM_SELECTOR, settings.DKIM_PRIVATE_KEY_PATH
    if selector and not key_path:
        raise ConfigError(
            f"{PREFIX}DKIM_PRIVATE_KEY_PATH is required when {PREFIX}DKIM_SELECTOR is set"
        )
    if key_path and not selector:
        raise ConfigError(
            f"{PREFIX}DKIM_SELECTOR is required when {PREFIX}DKIM_PRIVATE_KEY_PATH is set"
        )
    if selector and not DNS_NAME.fullmatch(selector):
        raise ConfigError(
            f"{PREFIX}DKIM_SELECTOR must be DNS labels (letters, digits, hyphens, dots), "
            f"got {selector!r}"
        )
    if settings.DKIM_DOMAIN and not DNS_NAME.fullmatch(settings.DKIM_DOMAIN):
        raise ConfigError(
            f"{PREFIX}DKIM_DOMAIN must be a domain name such as agency.example.gov, "
            f"got {settings.DKIM_DOMAIN!r}"
        )
    if key_path:
        try:
            load_key(Path(key_path))
        except ValueError as error:
            # The app does not start without the key, so the command that makes it runs unset.
            make = (
                f"; with the DKIM settings unset, make it: pinwheel dkim generate "
                f"--selector {selector} --out {key_path}"
                if not Path(key_path).exists()
                else ""
            )
            raise ConfigError(f"{PREFIX}DKIM_PRIVATE_KEY_PATH: {error}{make}") from None


def _check_production_secret(secret_key: str) -> None:
    if not secret_key:
        raise ConfigError(f"{PREFIX}SECRET_KEY is required in production")
    # Sessions and every subscriber link are signed with it: it must be too long to guess.
    if len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"{PREFIX}SECRET_KEY is {len(secret_key.encode())} bytes long; production needs at "
            f"least {MIN_SECRET_KEY_BYTES}. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def _check_url(key: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = _split(value)
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(
            f"{PREFIX}{key} must be an absolute {'/'.join(schemes)} URL, "
            f"got {url_without_password(value)!r}"
        )
    _check_port(key, value)


def _check_port(key: str, value: str) -> None:
    if not _has_usable_port(value):
        raise ConfigError(
            f"{PREFIX}{key} has a port that is not a number from 0 to 65535: "
            f"{url_without_password(value)!r}"
        )


def _has_usable_port(url: str) -> bool:
    parts = _split(url)
    if parts is None:
        return False
    try:
        _ = parts.port
    except ValueError:  # not a number, or outside 0-65535
        return False
    return True


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # an IPv6 host without its closing "]"
        return None


def url_without_password(url: str) -> str:
    """Return ``url`` with its password, if it has one, shown as ``***`` (for messages)."""
    parts = _split(url)
    if parts is not None and parts.hostname and _has_usable_port(url):
        if parts.password is None:
            return url
        userinfo, _, host = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}"))
    # Not a URL urllib understands (a password with a "/" or "#" in it): hide all credentials.
    return _CREDENTIALS.sub(r"\g<scheme>***@", url)


def _development_secret(instance_path: Path) -> str:
    """Generate once and keep the key, so sessions and emailed links survive a restart."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key

"""A subscriber's own details: the checks on name, language, time zone and attributes."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.i18n import LANGUAGES as READER_LANGUAGES
from engine.text_fields import check_line
from subscribers.history import erasure_handlers, record_event
from subscribers.models import EventKind, Subscriber, SuppressionReason
from subscribers.suppression import suppress

MAX_NAME = 200
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 500
#: Languages the public pages and emails are written in (``engine.i18n`` keeps the list).
LANGUAGES = READER_LANGUAGES
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


#: The zones most readers live in, offered first on the preferences page: (zone, label).
COMMON_TIMEZONES: tuple[tuple[str, LazyString], ...] = (
    ("America/New_York", lazy_gettext("Eastern time (New York)")),
    ("America/Chicago", lazy_gettext("Central time (Chicago)")),
    ("America/Denver", lazy_gettext("Mountain time (Denver)")),
    ("America/Phoenix", lazy_gettext("Arizona (Phoenix, no daylight saving)")),
    ("America/Los_Angeles", lazy_gettext("Pacific time (Los Angeles)")),
    ("America/Anchorage", lazy_gettext("Alaska (Anchorage)")),
    ("Pacific/Honolulu", lazy_gettext("Hawaii (Honolulu)")),
    ("America/Puerto_Rico", lazy_gettext("Puerto Rico (Atlantic time)")),
)
#: Old names kept in the zone database for compatibility (``US/Eastern``); pickers leave them out.
_ALIAS_PREFIXES = ("US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "Etc/", "SystemV/")


@functools.cache
def known_timezones() -> frozenset[str]:
    """Return every IANA zone name this system knows."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def listed_timezones() -> tuple[str, ...]:
    """Return the zones a picker lists after ``COMMON_TIMEZONES``: canonical Area/Location names.

    Every known name is still accepted (a stored ``US/Eastern`` stays valid); only the list
    leaves out the compatibility aliases, zones without an area (``EST5EDT``) and the common
    zones already offered first.
    """
    first = {zone for zone, _label in COMMON_TIMEZONES}
    listed = (
        zone
        for zone in known_timezones()
        if "/" in zone and not zone.startswith(_ALIAS_PREFIXES) and zone not in first
    )
    return ("UTC", *sorted(listed))


def check_timezone(value: str) -> str:
    """Return ``value`` if it is an IANA zone name (or empty: the service default)."""
    value = value.strip()
    if value and value not in known_timezones():
        raise ValidationFailed(
            f"{value!r} is not a known time zone; use a name such as America/Chicago.",
            [{"path": "timezone", "message": gettext("Choose a time zone from the list.")}],
        )
    return value


def check_language(value: str) -> str:
    """Return a lower-cased BCP 47 language tag such as ``en`` or ``es-MX``."""
    value = value.strip() or "en"
    if len(value) > 16 or not _LANGUAGE_TAG.fullmatch(value.lower()):
        raise ValidationFailed(
            f"{value!r} is not a language code such as en or es.",
            [{"path": "language", "message": gettext("Choose a language from the list.")}],
        )
    return value.lower()


def check_name(value: str) -> str:
    """Return the trimmed name; names are stored exactly as written, formulas included."""
    value = value.strip()
    if len(value) > MAX_NAME:
        raise ValidationFailed(
            f"A name may have at most {MAX_NAME} characters.",
            [{"path": "name", "message": f"Use at most {MAX_NAME} characters."}],
        )
    return check_line(value, "The name", path="name")


def check_attributes(values: dict[str, Any]) -> dict[str, str]:
    """Return attributes as short string keys and values."""
    checked: dict[str, str] = {}
    for key, value in values.items():
        key = str(key).strip()
        text = "" if value is None else str(value).strip()
        if not key or len(key) > MAX_ATTRIBUTE_KEY or len(text) > MAX_ATTRIBUTE_VALUE:
            raise ValidationFailed(
                f"Attribute names need 1 to {MAX_ATTRIBUTE_KEY} characters and values at most "
                f"{MAX_ATTRIBUTE_VALUE}.",
                [{"path": "attributes", "message": f"Check the attribute {key!r}."}],
            )
        check_line(key, f"The attribute name {key!r}", path="attributes")
        checked[key] = check_line(text, f"The attribute {key!r}", path="attributes")
    return checked


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    """Return the subscriber or raise ``NotFound``."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"No subscriber {subscriber_id}.")
    return subscriber


def edit_subscriber(
    session: Session,
    subscriber: Subscriber,
    *,
    name: str,
    language: str,
    timezone: str,
    attributes: dict[str, Any],
    source: str,
) -> list[str]:
    """Change a subscriber's details; return the names of the fields that changed."""
    wanted = {
        "name": check_name(name),
        "language": check_language(language),
        "timezone": check_timezone(timezone),
        "attributes": check_attributes(attributes),
    }
    changed = [key for key, value in wanted.items() if getattr(subscriber, key) != value]
    for key in changed:
        setattr(subscriber, key, wanted[key])
    if changed:
        record_event(session, subscriber, EventKind.EDITED, {"fields": changed, "source": source})
        session.flush()
    return changed


def erase_subscriber(session: Session, subscriber: Subscriber, *, source: str) -> None:
    """Remove a subscriber's personal data for good, keeping only a suppression hash.

    Packages that keep copies of the address (deliveries, events) scrub them through their
    registered erasure handlers before the row, its subscriptions and its history go.
    """
    address = subscriber.email
    for handler in erasure_handlers():
        handler(session, subscriber.id, address)
    suppress(session, address, SuppressionReason.ERASED, source=source)
    session.delete(subscriber)
    session.flush()


def find_subscriber(session: Session, address: str) -> Subscriber | None:
    """Return the subscriber with the normalised ``address``, if any."""
    return session.scalar(sa.select(Subscriber).where(Subscriber.email == address))

"""How pages show stored values: statuses in words, times in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

#: Stored values whose words are not simply the value with spaces (``in_review`` → "In review").
STATUS_WORDS: dict[str, str] = {
    "failed_transient": "Failed, will retry",
    "failed_permanent": "Failed for good",
}


def status_label(value: object) -> str:
    """Return a stored status value in words: ``needs_review`` → "Needs review"."""
    text = str(value or "")
    if text in STATUS_WORDS:
        return STATUS_WORDS[text]
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def html_datetime(value: datetime) -> str:
    """Format ``value`` for a ``datetime`` attribute: UTC, whole seconds (``…T10:00:00Z``).

    HTML allows at most three digits of a second; ``isoformat()`` writes six whenever the time
    has microseconds, and the W3C checker rejects the page.
    """
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def local_time_text(
    value: datetime, zone: str, *, date_only: bool = False, seconds: bool = False
) -> str:
    """Return ``value`` as people in ``zone`` read it: "Jan 12, 2027, 10:00 EST".

    The zone's abbreviation is named, so nobody has to guess whether a time is UTC or local.
    """
    local = value.astimezone(ZoneInfo(zone))
    day = f"{local:%b} {local.day}, {local.year}"
    if date_only:
        return day
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{day}, {clock} {local:%Z}"


def local_time_element(
    value: datetime | None, zone: str, *, date_only: bool = False, seconds: bool = False
) -> Markup:
    """Return a ``<time>`` element for ``value`` in ``zone`` (nothing for ``None``)."""
    if value is None:
        return Markup("")
    text = local_time_text(value, zone, date_only=date_only, seconds=seconds)
    return Markup('<time datetime="{}">{}</time>').format(html_datetime(value), text)

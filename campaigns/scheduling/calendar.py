"""The staff calendar: observances and campaigns by month, as an agenda and personal feeds.

Also drafts a spotlight issue for an observance the calendar shows.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import icalendar
import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from campaigns.observances.catalogue import Observance, Occurrence, catalogue_revised, window
from campaigns.observances.rules import DateWindow, ObservanceError
from campaigns.observances.service import find_observance, occurrences_in_year, staff_observances
from campaigns.scheduling.rules import resolve_zone
from campaigns.sending.models import Campaign, CampaignStatus
from engine.errors import ValidationFailed
from engine.users import StaffUser
from subscribers.models import Topic

#: Campaigns shown on the calendar: the ones with a time that happened or will happen.
SHOWN_STATUSES = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
    CampaignStatus.SENT,
    CampaignStatus.NEEDS_REVIEW,
)
_EN_DASH = "\u2013"
#: A new salt: the one shared link of every staff member, signed with the old one, is refused.
_FEED_SALT = "pinwheel.calendar-feed.personal"


class EntryKind(StrEnum):
    OBSERVANCE = "observance"
    CAMPAIGN = "campaign"


@dataclass(frozen=True, slots=True)
class CampaignEntry:
    """A campaign placed at its local send time."""

    campaign: Campaign
    local: datetime

    @property
    def day(self) -> date:
        return self.local.date()


@dataclass(frozen=True, slots=True)
class Agenda:
    """What happens between two days: observance windows and campaign sends."""

    start: date
    end: date
    occurrences: list[Occurrence]
    campaigns: list[CampaignEntry]

    def occurrences_on(self, day: date) -> list[Occurrence]:
        """Return the observances whose window includes ``day``."""
        return [o for o in self.occurrences if day in o.window]

    def campaigns_on(self, day: date) -> list[CampaignEntry]:
        """Return the campaigns sending on ``day`` (local time)."""
        return [c for c in self.campaigns if c.day == day]

    def occurrences_between(self, first: date, last: date) -> list[Occurrence]:
        """Return the observances whose window overlaps ``first`` to ``last``."""
        return [o for o in self.occurrences if o.window.start <= last and o.window.end >= first]

    def one_day_occurrences_on(self, day: date) -> list[Occurrence]:
        """Return the observances of ``day`` alone; a grid shows longer ones once, not daily."""
        return [o for o in self.occurrences if o.window.days == 1 and o.window.start == day]


def agenda(session: Session, start: date, end: date) -> Agenda:
    """Collect the observances and campaigns between ``start`` and ``end`` (both included)."""
    occurrences = [
        occurrence
        for year in range(start.year - 1, end.year + 1)
        for occurrence in occurrences_in_year(session, year)
        if occurrence.window.start <= end and occurrence.window.end >= start
    ]
    occurrences.sort(key=lambda o: (o.window.start, -o.window.days, o.observance.slug))
    return Agenda(start, end, occurrences, campaign_entries(session, start, end))


def campaign_entries(session: Session, start: date, end: date) -> list[CampaignEntry]:
    """Return the scheduled and sent campaigns whose local send day falls in the range."""
    # A day of slack each side: the local day can differ from the UTC one.
    low = datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC)
    high = datetime.combine(end + timedelta(days=2), datetime.min.time(), UTC)
    rows = session.scalars(
        sa.select(Campaign)
        .where(
            Campaign.status.in_(SHOWN_STATUSES), Campaign.send_at >= low, Campaign.send_at < high
        )
        .order_by(Campaign.send_at, Campaign.id)
    )
    entries = [CampaignEntry(c, _local_send_time(c)) for c in rows if c.send_at is not None]
    return [entry for entry in entries if start <= entry.day <= end]


def _local_send_time(campaign: Campaign) -> datetime:
    assert campaign.send_at is not None
    return campaign.send_at.astimezone(resolve_zone(campaign.timezone or "UTC"))


def month_weeks(year: int, month: int) -> list[list[date]]:
    """Return the weeks (Sunday first) that cover the month, padded with neighbouring days."""
    return stdlib_calendar.Calendar(firstweekday=6).monthdatescalendar(year, month)


def span_label(window: DateWindow, first: date, last: date) -> str:
    """Describe ``window`` as seen from the month ``first`` to ``last`` ("all month", "Apr 5").

    A run of days is joined by an en dash, the typographers' sign for a range.
    """
    if window.start <= first and window.end >= last:
        return "all month"
    start = f"{window.start:%b} {window.start.day}"
    if window.days == 1:
        return start
    if (window.start.year, window.start.month) == (window.end.year, window.end.month):
        return f"{start}{_EN_DASH}{window.end.day}"
    return f"{start} {_EN_DASH} {window.end:%b} {window.end.day}"


def new_calendar_key(user: StaffUser) -> None:
    """Give ``user`` a fresh calendar key: feed links made with the old one stop working."""
    user.calendar_key = secrets.token_urlsafe(32)


def feed_token(secret: str, user: StaffUser) -> str:
    """Return ``user``'s personal token for the iCalendar feed (they need a calendar key)."""
    if user.calendar_key is None:
        raise ValueError("the user has no calendar key yet: call new_calendar_key first")
    return URLSafeSerializer(secret, salt=_FEED_SALT).dumps([user.id, user.calendar_key])


def feed_user(session: Session, secret: str, token: str) -> StaffUser | None:
    """Return the active staff user whose current feed token ``token`` is, or ``None``."""
    try:
        payload = URLSafeSerializer(secret, salt=_FEED_SALT).loads(token)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 2):
        return None
    user_id, key = payload
    if type(user_id) is not int or not isinstance(key, str):
        return None
    user = session.get(StaffUser, user_id)
    if user is None or not user.active or user.calendar_key is None:
        return None
    # The key, not only the signature, must match: resetting it revokes every older link.
    return user if hmac.compare_digest(user.calendar_key, key) else None


def build_feed(session: Session, start: date, end: date, base_url: str) -> bytes:
    """Return an iCalendar document: observances as all-day events, campaigns as timed ones."""
    feed = icalendar.Calendar()
    feed.add("prodid", "-//Pinwheel//Staff calendar//EN")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", "Pinwheel: observances and campaigns")
    host = base_url.split("//", 1)[-1].split("/", 1)[0]
    seen = agenda(session, start, end)
    revised = _observances_revised(session)
    for occurrence in seen.occurrences:
        feed.add_component(_observance_event(occurrence, host, revised))
    for entry in seen.campaigns:
        feed.add_component(_campaign_event(entry, host, base_url))
    feed.add_missing_timezones()
    return feed.to_ical()


def _observances_revised(session: Session) -> dict[str, datetime]:
    """Return when each staff observance was last written, by slug."""
    return {row.slug: row.updated_at for row in staff_observances(session)}


def _observance_event(
    occurrence: Occurrence, host: str, revised: dict[str, datetime]
) -> icalendar.Event:
    observance, window = occurrence.observance, occurrence.window
    event = icalendar.Event()
    event.add("uid", f"observance-{observance.slug}-{window.start.year}@{host}")
    event.add("summary", observance.name)
    event.add("dtstart", window.start)
    # All-day DTEND is exclusive.
    event.add("dtend", window.end + timedelta(days=1))
    event.add("description", observance.description)
    event.add("categories", ["observance", observance.topic])
    # Without a METHOD, RFC 5545 makes DTSTAMP the time the event was last revised in the store
    # (3.8.7.2), as LAST-MODIFIED. A staff observance was revised when its row was written. A
    # shipped one is computed for each year from a rule that changes only with the catalogue,
    # so it takes the catalogue's stamp: the feed's own time would tell calendar apps that
    # every observance changed on every refresh.
    event.add("dtstamp", revised.get(observance.slug) or catalogue_revised())
    return event


def _campaign_event(entry: CampaignEntry, host: str, base_url: str) -> icalendar.Event:
    campaign = entry.campaign
    event = icalendar.Event()
    event.add("uid", f"campaign-{campaign.id}@{host}")
    event.add("summary", f"Send: {campaign.name}")
    event.add("dtstart", entry.local)
    event.add("dtend", entry.local + timedelta(minutes=30))
    event.add("description", f"Campaign {campaign.id} ({campaign.status}).")
    event.add("url", f"{base_url}/admin/campaigns/{campaign.id}")
    event.add("categories", ["campaign", str(campaign.status)])
    # The campaign row's last write: a new send time or status revises the event.
    event.add("dtstamp", campaign.updated_at)
    return event


def observance_starter_content(observance: Observance, window: DateWindow) -> dict[str, Any]:
    """Return spotlight content for a new issue about the observance's window."""
    banner = observance.banner or observance.name
    span = f"{window.start:%B} {window.start.day}"
    if window.days > 1:
        span += f" to {window.end:%B} {window.end.day}"
    return {
        "title": f"{observance.name} {window.start.year}"[:300],
        "subject": f"{observance.name}: {banner}"[:300],
        "layout": "spotlight",
        "kicker": observance.name[:120],
        "preheader": observance.description[:300],
        "date_label": f"{span}, {window.start.year}",
        "theme": {"accent": observance.colour.lower(), "banner": banner[:200]},
        "blocks": [
            {"id": "intro-heading", "type": "heading", "text": banner[:300]},
            {"id": "intro", "type": "paragraph", "text": observance.description},
        ],
    }


def draft_for_observance(
    session: Session, slug: str, year: int, *, author_id: int | None = None
) -> Issue:
    """Create a draft spotlight issue for observance ``slug`` in ``year``."""
    observance = find_observance(session, slug)
    try:
        occurrence_window = window(observance, year)
    except ObservanceError as error:
        raise ValidationFailed(str(error)) from None
    topics = session.scalars(sa.select(Topic).where(Topic.slug == observance.topic)).all()
    return create_issue(
        session,
        observance_starter_content(observance, occurrence_window),
        author_id=author_id,
        topics=topics,
        observance_slug=observance.slug,
    )

"""Guard rails: pause a sending campaign whose bounce or complaint rate says something is wrong.

After each ingested batch, every touched campaign that is still ``sending`` is measured:

- bounce rate = deliveries with a bounce or block event / deliveries accepted by the provider;
- complaint rate = deliveries with a spam report / deliveries accepted.

Nothing is judged before ``MIN_SAMPLE`` deliveries were accepted: early in a send one bounce
among ten messages is 10% and says nothing. Past the sample, a rate strictly above
``BOUNCE_RATE_LIMIT`` (default 5%) or ``COMPLAINT_RATE_LIMIT`` (default 0.1%) pauses the
campaign with a ``paused_reason`` starting with ``AUTO_PAUSE_PREFIX`` and emails every active
admin. Staff read the report, fix the list or the content, and resume the campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.sending.service import pause_campaign
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.events import EventKind
from engine.delivery.system import send_system_messages, system_message
from engine.errors import Conflict
from engine.users import Role, StaffUser

log = logging.getLogger(__name__)

#: Accepted deliveries needed before a rate may pause a campaign.
MIN_SAMPLE = 100
AUTO_PAUSE_PREFIX = "Paused automatically"
BOUNCE_KINDS = (EventKind.BOUNCE.value, EventKind.BLOCKED.value)
COMPLAINT_KINDS = (EventKind.SPAMREPORT.value,)


@dataclass(frozen=True, slots=True)
class CampaignRates:
    """Accepted deliveries and how many of them bounced or drew a complaint."""

    accepted: int
    bounced: int
    complained: int

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.accepted if self.accepted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complained / self.accepted if self.accepted else 0.0


@dataclass(frozen=True, slots=True)
class GuardTrip:
    """A campaign the guard paused, and why."""

    campaign_id: int
    campaign_name: str
    metric: str
    rate: float
    limit: float
    rates: CampaignRates

    @property
    def reason(self) -> str:
        return (
            f"{AUTO_PAUSE_PREFIX}: the {self.metric} rate reached {self.rate:.2%} "
            f"(limit {self.limit:.2%}) after {self.rates.accepted} accepted messages."
        )


def campaign_rates(session: Session, campaign_id: int) -> CampaignRates:
    """Return the campaign's accepted, bounced and complained delivery counts."""
    accepted = session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.ACCEPTED)
    )
    rows = session.execute(
        sa.select(DeliveryEvent.kind, sa.func.count(sa.distinct(DeliveryEvent.delivery_id)))
        .where(
            DeliveryEvent.campaign_id == campaign_id,
            DeliveryEvent.kind.in_(BOUNCE_KINDS + COMPLAINT_KINDS),
        )
        .group_by(DeliveryEvent.kind)
    )
    counts = dict(rows.tuples().all())
    return CampaignRates(
        accepted=accepted or 0,
        bounced=sum(counts.get(kind, 0) for kind in BOUNCE_KINDS),
        complained=sum(counts.get(kind, 0) for kind in COMPLAINT_KINDS),
    )


def judge(
    name: str, campaign_id: int, rates: CampaignRates, settings: Settings
) -> GuardTrip | None:
    """Return the trip ``rates`` cause under ``settings``' limits, or None."""
    if rates.accepted < MIN_SAMPLE:
        return None
    if rates.bounce_rate > settings.BOUNCE_RATE_LIMIT:
        return GuardTrip(
            campaign_id, name, "bounce", rates.bounce_rate, settings.BOUNCE_RATE_LIMIT, rates
        )
    if rates.complaint_rate > settings.COMPLAINT_RATE_LIMIT:
        limit = settings.COMPLAINT_RATE_LIMIT
        return GuardTrip(campaign_id, name, "complaint", rates.complaint_rate, limit, rates)
    return None


def enforce_guard_rails(
    session: Session, settings: Settings, campaign_ids: Iterable[int]
) -> list[GuardTrip]:
    """Pause every sending campaign among ``campaign_ids`` whose rates pass a limit."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    sending = session.execute(
        sa.select(Campaign.id, Campaign.name).where(
            Campaign.id.in_(ids), Campaign.status == CampaignStatus.SENDING
        )
    ).all()
    trips = []
    for campaign_id, name in sending:
        trip = judge(name, campaign_id, campaign_rates(session, campaign_id), settings)
        if trip is None:
            continue
        try:
            pause_campaign(session, campaign_id, trip.reason)
        except Conflict:
            continue  # Staff or the pipeline moved it a moment ago.
        log.warning("guard: campaign %s paused: %s", campaign_id, trip.reason)
        trips.append(trip)
    return trips


def alert_staff(session: Session, settings: Settings, trips: Iterable[GuardTrip]) -> int:
    """Email every active admin about each trip; return the number of messages handed over.

    Call it after the pause is committed. A failing mail backend is logged, not raised: the
    pause is what protects the sender's reputation.
    """
    admins = session.scalars(
        sa.select(StaffUser).where(StaffUser.role == Role.ADMIN, StaffUser.active.is_(True))
    ).all()
    messages = [_alert(settings, trip, admin) for trip in trips for admin in admins]
    if not messages:
        return 0
    try:
        send_system_messages(settings, messages)
    except Exception:
        log.exception("guard: could not email the pause alert")
        return 0
    return len(messages)


def _alert(settings: Settings, trip: GuardTrip, admin: StaffUser) -> OutgoingMessage:
    return system_message(
        settings,
        kind="staff-alert",
        layout="campaign_paused",
        to_address=admin.email,
        to_name=admin.name,
        subject=f"Campaign paused: {trip.campaign_name}",
        fields={
            "campaign_id": str(trip.campaign_id),
            "campaign_name": trip.campaign_name,
            "reason": trip.reason,
            "accepted": str(trip.rates.accepted),
            "bounced": str(trip.rates.bounced),
            "complained": str(trip.rates.complained),
            "report_url": f"{settings.BASE_URL}/admin/campaigns/{trip.campaign_id}/report",
        },
    )

"""Campaign reports: counts and rates from stored events, per-link clicks and a timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.events.guard import AUTO_PAUSE_PREFIX
from campaigns.events.models import CampaignTally, DeliveryEvent, TrackedLink
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.sending.service import get_campaign
from engine.delivery.events import EventKind
from subscribers.models import EventKind as ConsentKind
from subscribers.models import SubscriberEvent

#: Hours shown on the timeline; later events still count everywhere else.
TIMELINE_HOURS = 168
_BOUNCES = (EventKind.BOUNCE.value, EventKind.BLOCKED.value)
_UNSUBSCRIBES = (EventKind.UNSUBSCRIBE.value, EventKind.GROUP_UNSUBSCRIBE.value)
#: Timeline series in display order.
SERIES = ("delivered", "bounced", "dropped", "opened", "clicked")
_TIMELINE_SERIES = {
    EventKind.DELIVERED.value: "delivered",
    EventKind.BOUNCE.value: "bounced",
    EventKind.BLOCKED.value: "bounced",
    EventKind.DROPPED.value: "dropped",
    EventKind.OPEN.value: "opened",
    EventKind.CLICK.value: "clicked",
}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Metric(NamedTuple):
    """One row of the summary: ``key`` is the ``Counts`` field it shows."""

    key: str
    label: str
    value: int
    rate: float | None = None
    basis: str = ""


@dataclass(frozen=True, slots=True)
class Counts:
    """How many deliveries of a campaign reached each outcome (distinct deliveries)."""

    recipients: int = 0
    accepted: int = 0
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    dropped: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    #: Opens by people; prefetching proxies (``sg_machine_open``) are counted apart.
    unique_opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    unique_clickers: int = 0

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.delivered, self.accepted)

    @property
    def bounce_rate(self) -> float | None:
        return _rate(self.bounced, self.accepted)

    @property
    def complaint_rate(self) -> float | None:
        return _rate(self.complaints, self.accepted)

    @property
    def unsubscribe_rate(self) -> float | None:
        return _rate(self.unsubscribes, self.delivered)

    @property
    def open_rate(self) -> float | None:
        return _rate(self.unique_opens, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return _rate(self.unique_clickers, self.delivered)

    def metrics(self) -> list[Metric]:
        """Return the rows of the summary in display order."""
        return [
            Metric("recipients", "Recipients", self.recipients),
            Metric(
                "accepted",
                "Accepted by the provider",
                self.accepted,
                _rate(self.accepted, self.recipients),
                "of recipients",
            ),
            Metric("delivered", "Delivered", self.delivered, self.delivery_rate, "of accepted"),
            Metric("deferred", "Deferred (retried by the provider)", self.deferred),
            Metric("bounced", "Bounced", self.bounced, self.bounce_rate, "of accepted"),
            Metric(
                "dropped",
                "Dropped",
                self.dropped,
                _rate(self.dropped, self.accepted),
                "of accepted",
            ),
            Metric(
                "complaints", "Spam complaints", self.complaints, self.complaint_rate, "of accepted"
            ),
            Metric(
                "unsubscribes",
                "Unsubscribes",
                self.unsubscribes,
                self.unsubscribe_rate,
                "of delivered",
            ),
            Metric(
                "unique_opens",
                "Unique opens (people)",
                self.unique_opens,
                self.open_rate,
                "of delivered",
            ),
            Metric("machine_opens", "Machine opens (privacy proxies)", self.machine_opens),
            Metric("clicks", "Clicks", self.clicks),
            Metric(
                "unique_clickers",
                "Unique clickers",
                self.unique_clickers,
                self.click_rate,
                "of delivered",
            ),
        ]


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One link's clicks: through Pinwheel's counted redirect and as reported by the provider."""

    url: str
    link_id: int | None = None
    redirect_clicks: int = 0
    provider_clicks: int = 0


@dataclass(frozen=True, slots=True)
class TimelineBucket:
    """Events in one hour (UTC), by series."""

    hour: str
    values: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Everything the report page and the CSV export show about one campaign."""

    campaign: Campaign
    counts: Counts
    links: list[LinkRow] = field(default_factory=list)
    timeline: list[TimelineBucket] = field(default_factory=list)
    pixel_opens: int | None = None

    @property
    def auto_paused(self) -> bool:
        return (
            self.campaign.status == CampaignStatus.PAUSED
            and self.campaign.paused_reason.startswith(AUTO_PAUSE_PREFIX)
        )


def campaign_report(session: Session, campaign_id: int) -> CampaignReport:
    """Return the report of one campaign; raise ``NotFound`` for an unknown id."""
    campaign = get_campaign(session, campaign_id)
    counts = campaign_counts(session, [campaign])[campaign.id]
    tally = session.get(CampaignTally, campaign.id)
    return CampaignReport(
        campaign=campaign,
        counts=counts,
        links=link_rows(session, campaign.id),
        timeline=timeline(session, campaign.id),
        pixel_opens=tally.pixel_opens if tally is not None else None,
    )


def campaign_counts(session: Session, campaigns: Sequence[Campaign]) -> dict[int, Counts]:
    """Return the counts of each of ``campaigns`` with three grouped queries."""
    ids = [campaign.id for campaign in campaigns]
    accepted = dict(
        session.execute(
            sa.select(Delivery.campaign_id, sa.func.count())
            .where(Delivery.campaign_id.in_(ids), Delivery.status == DeliveryStatus.ACCEPTED)
            .group_by(Delivery.campaign_id)
        )
        .tuples()
        .all()
    )
    events: dict[int, dict[tuple[str, bool], tuple[int, int]]] = defaultdict(dict)
    for campaign_id, kind, machine, total, distinct in session.execute(
        sa.select(
            DeliveryEvent.campaign_id,
            DeliveryEvent.kind,
            DeliveryEvent.machine_open,
            sa.func.count(),
            sa.func.count(sa.distinct(DeliveryEvent.delivery_id)),
        )
        .where(DeliveryEvent.campaign_id.in_(ids))
        .group_by(DeliveryEvent.campaign_id, DeliveryEvent.kind, DeliveryEvent.machine_open)
    ):
        events[campaign_id][(kind, bool(machine))] = (total, distinct)
    unsubscribes = unsubscribed_deliveries(session, ids)
    return {
        campaign.id: _counts(
            campaign.recipients,
            accepted.get(campaign.id, 0),
            events[campaign.id],
            unsubscribes.get(campaign.id, 0),
        )
        for campaign in campaigns
    }


def unsubscribed_deliveries(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """Count each campaign's recipients who unsubscribed through its email, however they did.

    The email's own link (page or RFC 8058 one-click) records the campaign in the subscriber's
    consent history at once; a provider's unsubscribe event arrives later, if ever. The union
    counts a recipient who did both once.
    """
    reported = sa.select(DeliveryEvent.campaign_id, DeliveryEvent.delivery_id).where(
        DeliveryEvent.campaign_id.in_(campaign_ids),
        DeliveryEvent.kind.in_(_UNSUBSCRIBES),
        DeliveryEvent.delivery_id.is_not(None),
    )
    through_link = (
        sa.select(Delivery.campaign_id, Delivery.id)
        .join(SubscriberEvent, SubscriberEvent.subscriber_id == Delivery.subscriber_id)
        .where(
            Delivery.campaign_id.in_(campaign_ids),
            SubscriberEvent.kind == ConsentKind.UNSUBSCRIBED,
            SubscriberEvent.detail["campaign_id"].as_integer() == Delivery.campaign_id,
        )
    )
    both = sa.union(reported, through_link).subquery()
    campaign_id = both.c[0]
    rows = session.execute(sa.select(campaign_id, sa.func.count()).group_by(campaign_id)).tuples()
    return dict(rows.all())


def _counts(
    recipients: int,
    accepted: int,
    events: Mapping[tuple[str, bool], tuple[int, int]],
    unsubscribes: int,
) -> Counts:
    def distinct(*kinds: str, machine: bool | None = None) -> int:
        return sum(
            value[1]
            for (kind, is_machine), value in events.items()
            if kind in kinds and (machine is None or is_machine == machine)
        )

    return Counts(
        recipients=recipients,
        accepted=accepted,
        delivered=distinct(EventKind.DELIVERED.value),
        deferred=distinct(EventKind.DEFERRED.value),
        bounced=distinct(*_BOUNCES),
        dropped=distinct(EventKind.DROPPED.value),
        complaints=distinct(EventKind.SPAMREPORT.value),
        unsubscribes=unsubscribes,
        unique_opens=distinct(EventKind.OPEN.value, machine=False),
        machine_opens=distinct(EventKind.OPEN.value, machine=True),
        clicks=sum(value[0] for (kind, _), value in events.items() if kind == EventKind.CLICK),
        unique_clickers=distinct(EventKind.CLICK.value),
    )


def link_rows(session: Session, campaign_id: int) -> list[LinkRow]:
    """Return every link with its redirect and provider-reported clicks, most clicked first."""
    rows: dict[str, LinkRow] = {
        link.url: LinkRow(link.url, link.link_id, link.clicks)
        for link in session.scalars(
            sa.select(TrackedLink)
            .where(TrackedLink.campaign_id == campaign_id)
            .order_by(TrackedLink.link_id)
        )
    }
    reported = session.execute(
        sa.select(DeliveryEvent.url, sa.func.count())
        .where(
            DeliveryEvent.campaign_id == campaign_id,
            DeliveryEvent.kind == EventKind.CLICK.value,
            DeliveryEvent.url.is_not(None),
        )
        .group_by(DeliveryEvent.url)
    )
    for url, clicks in reported:
        known = rows.get(url, LinkRow(url))
        rows[url] = LinkRow(url, known.link_id, known.redirect_clicks, clicks)
    return sorted(
        rows.values(), key=lambda row: (-(row.redirect_clicks + row.provider_clicks), row.url)
    )


def timeline(session: Session, campaign_id: int) -> list[TimelineBucket]:
    """Return events per UTC hour for the campaign's first ``TIMELINE_HOURS`` active hours."""
    hour = _hour_label(session).label("hour")
    rows = session.execute(
        sa.select(hour, DeliveryEvent.kind, sa.func.count())
        .where(
            DeliveryEvent.campaign_id == campaign_id,
            DeliveryEvent.kind.in_(list(_TIMELINE_SERIES)),
            sa.or_(
                DeliveryEvent.kind != EventKind.OPEN.value, DeliveryEvent.machine_open.is_(False)
            ),
        )
        .group_by(hour, DeliveryEvent.kind)
        .order_by(hour)
    )
    buckets: dict[str, dict[str, int]] = {}
    for label, kind, count in rows:
        series = buckets.setdefault(label, dict.fromkeys(SERIES, 0))
        series[_TIMELINE_SERIES[kind]] += count
    return [
        TimelineBucket(label, values) for label, values in list(buckets.items())[:TIMELINE_HOURS]
    ]


def _hour_label(session: Session) -> sa.ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        utc = sa.func.timezone("UTC", DeliveryEvent.occurred_at)
        return sa.func.to_char(utc, "YYYY-MM-DD HH24:00")
    return sa.func.strftime("%Y-%m-%d %H:00", DeliveryEvent.occurred_at)


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One campaign on the comparison dashboard."""

    campaign: Campaign
    counts: Counts


def recent_reports(session: Session, limit: int = 20) -> list[DashboardRow]:
    """Return the most recently started campaigns with their counts, newest first."""
    campaigns = list(
        session.scalars(
            sa.select(Campaign)
            .where(Campaign.started_at.is_not(None))
            .order_by(Campaign.started_at.desc(), Campaign.id.desc())
            .limit(limit)
        )
    )
    counts = campaign_counts(session, campaigns)
    return [DashboardRow(campaign, counts[campaign.id]) for campaign in campaigns]


def report_csv_rows(report: CampaignReport) -> Iterable[list[Any]]:
    """Yield the report as CSV rows: ``section, label, count, rate``."""
    yield ["section", "label", "count", "rate"]
    for metric in report.counts.metrics():
        rate = "" if metric.rate is None else f"{metric.rate:.4f} {metric.basis}"
        yield ["summary", metric.label, metric.value, rate]
    if report.pixel_opens is not None:
        yield ["summary", "Pixel loads (aggregate tracking)", report.pixel_opens, ""]
    for link in report.links:
        yield ["link redirect clicks", link.url, link.redirect_clicks, ""]
        yield ["link provider clicks", link.url, link.provider_clicks, ""]
    for bucket in report.timeline:
        for series, count in bucket.values.items():
            yield [f"timeline {series}", bucket.hour + " UTC", count, ""]

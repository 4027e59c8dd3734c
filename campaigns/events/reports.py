"""Campaign reports: counts and rates from stored events, per-link clicks and the timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.digests.reports import DigestReach, digest_reach
from campaigns.events.guard import AUTO_PAUSE_PREFIX
from campaigns.events.models import CampaignTally, DeliveryEvent, TrackedLink
from campaigns.events.timeline import Timeline, campaign_timeline
from campaigns.sending.languages import KEY_PREFIX
from campaigns.sending.models import (
    Campaign,
    CampaignStatus,
    CampaignVariant,
    Delivery,
    DeliveryStatus,
)
from campaigns.sending.service import get_campaign
from engine.clock import now
from engine.delivery.events import EventKind
from subscribers.models import EventKind as ConsentKind
from subscribers.models import SubscriberEvent

_BOUNCES = (EventKind.BOUNCE.value, EventKind.BLOCKED.value)
_UNSUBSCRIBES = (EventKind.UNSUBSCRIBE.value, EventKind.GROUP_UNSUBSCRIBE.value)


#: The rates reports give, as ``Counts`` properties without their ``_rate`` suffix.
RATES = ("delivery", "bounce", "complaint", "unsubscribe", "open", "click")


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
class LanguageRow:
    """The readers of one edition of a campaign sent in several languages."""

    language: str
    recipients: int = 0
    accepted: int = 0
    #: Not handed over for good: permanent failures, suppressions and uncertain outcomes.
    not_sent: int = 0


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Everything the report page and the CSV export show about one campaign."""

    campaign: Campaign
    counts: Counts
    timeline: Timeline
    links: list[LinkRow] = field(default_factory=list)
    pixel_opens: int | None = None
    #: Readers who got this bulletin in a daily or weekly digest, apart from ``counts``
    #: (those it reached directly).
    digest_reach: list[DigestReach] = field(default_factory=list)
    #: Per language, for a campaign of an issue with editions (empty otherwise).
    languages: list[LanguageRow] = field(default_factory=list)

    @property
    def auto_paused(self) -> bool:
        return (
            self.campaign.status == CampaignStatus.PAUSED
            and self.campaign.paused_reason.startswith(AUTO_PAUSE_PREFIX)
        )

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API and ``pinwheel reports campaign --json``)."""
        return {
            "campaign_id": self.campaign.id,
            "status": str(self.campaign.status),
            "auto_paused": self.auto_paused,
            **counts_json(self.counts),
            "links": [asdict(link) for link in self.links],
            "timeline": self.timeline.as_json(),
            "pixel_opens": self.pixel_opens,
            "digest_reach": [asdict(reach) for reach in self.digest_reach],
            "languages": [asdict(row) for row in self.languages],
        }


def counts_json(counts: Counts) -> dict[str, Any]:
    """Return ``counts`` and their rates as JSON-ready dicts."""
    return {
        "counts": asdict(counts),
        "rates": {name: getattr(counts, f"{name}_rate") for name in RATES},
    }


def campaign_report(session: Session, campaign_id: int, zone: str) -> CampaignReport:
    """Return the report of one campaign, its timeline in ``zone``; ``NotFound`` if unknown."""
    campaign = get_campaign(session, campaign_id)
    counts = campaign_counts(session, [campaign])[campaign.id]
    tally = session.get(CampaignTally, campaign.id)
    return CampaignReport(
        campaign=campaign,
        counts=counts,
        timeline=campaign_timeline(session, campaign, zone, until=now()),
        links=link_rows(session, campaign.id),
        pixel_opens=tally.pixel_opens if tally is not None else None,
        digest_reach=digest_reach(session, campaign.id) if campaign.issue_id else [],
        languages=language_split(session, campaign.id) if campaign.issue_id else [],
    )


def language_split(session: Session, campaign_id: int) -> list[LanguageRow]:
    """Return the campaign's readers per edition language (empty for one language)."""
    key = CampaignVariant.key
    rows = session.execute(
        sa.select(key, Delivery.status, sa.func.count())
        .join(
            CampaignVariant,
            sa.and_(
                CampaignVariant.campaign_id == Delivery.campaign_id,
                CampaignVariant.number == Delivery.variant,
            ),
        )
        .where(Delivery.campaign_id == campaign_id, key.startswith(KEY_PREFIX, autoescape=True))
        .group_by(key, Delivery.status)
        .order_by(key)
    ).all()
    split: dict[str, dict[str, int]] = {}
    for variant_key, status, count in rows:
        tally = split.setdefault(variant_key.removeprefix(KEY_PREFIX), defaultdict(int))
        tally["recipients"] += count
        if status == DeliveryStatus.ACCEPTED:
            tally["accepted"] += count
        elif status in _NOT_SENT:
            tally["not_sent"] += count
    return [LanguageRow(language, **tally) for language, tally in split.items()]


_NOT_SENT = frozenset(
    {DeliveryStatus.FAILED_PERMANENT, DeliveryStatus.SUPPRESSED, DeliveryStatus.UNCERTAIN}
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
    timeline = report.timeline
    for series in timeline.series():
        for period in [*timeline.hours, *timeline.days]:
            span = f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC"
            yield [f"timeline {series}", span, period.values[series], ""]
        if timeline.later[series]:
            yield [f"timeline {series}", "later", timeline.later[series], ""]

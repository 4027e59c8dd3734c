"""What digests did: the runs, each run's variants, and the readers a bulletin reached by digest."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.digests.models import DigestItem, DigestRun
from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, CampaignVariant, Delivery, DeliveryStatus
from engine.errors import NotFound
from subscribers.models import Topic


@dataclass(frozen=True, slots=True)
class DigestReach:
    """Readers a bulletin reached through the digests of one frequency."""

    frequency: str
    runs: int
    #: Readers whose digest listed the bulletin (frozen), and those the provider accepted.
    recipients: int
    accepted: int


@dataclass(frozen=True, slots=True)
class VariantSummary:
    number: int
    subject: str
    recipients: int
    #: ``(topic name, bulletin title)`` in the order the digest lists them.
    entries: list[tuple[str, str]]


def list_runs(session: Session, *, limit: int = 50) -> list[DigestRun]:
    """Return the newest digest runs, newest window first."""
    query = sa.select(DigestRun).order_by(DigestRun.window_end.desc(), DigestRun.id.desc())
    return list(session.scalars(query.limit(limit)))


def get_run(session: Session, run_id: int) -> DigestRun:
    """Return the run or raise ``NotFound``."""
    run = session.get(DigestRun, run_id)
    if run is None:
        raise NotFound(f"There is no digest run {run_id}.")
    return run


def run_of_campaign(session: Session, campaign_id: int) -> DigestRun | None:
    """Return the digest run whose send is ``campaign_id``, if it is one."""
    return session.scalar(sa.select(DigestRun).where(DigestRun.campaign_id == campaign_id))


def run_variants(session: Session, run: DigestRun) -> list[VariantSummary]:
    """Return each variant of ``run``'s digest: its subject, readers and entries."""
    if run.campaign_id is None:
        return []
    readers = dict(
        session.execute(
            sa.select(Delivery.variant, sa.func.count())
            .where(Delivery.campaign_id == run.campaign_id)
            .group_by(Delivery.variant)
        )
        .tuples()
        .all()
    )
    entries: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        sa.select(DigestItem.variant, Topic.name, Issue.title)
        .join(Campaign, Campaign.id == DigestItem.bulletin_id)
        .join(Issue, Issue.id == Campaign.issue_id)
        .outerjoin(Topic, Topic.id == DigestItem.topic_id)
        .where(DigestItem.run_id == run.id)
        .order_by(DigestItem.variant, Topic.position, Campaign.started_at.desc())
    )
    for variant, topic, title in rows:
        entries.setdefault(variant, []).append((topic or "", title))
    variants = session.execute(
        sa.select(CampaignVariant.number, CampaignVariant.subject)
        .where(CampaignVariant.campaign_id == run.campaign_id)
        .order_by(CampaignVariant.number)
    )
    return [
        VariantSummary(number, subject, readers.get(number, 0), entries.get(number, []))
        for number, subject in variants
    ]


def digest_reach(session: Session, bulletin_id: int) -> list[DigestReach]:
    """Return the readers bulletin ``bulletin_id`` reached by digest, per frequency."""
    accepted = sa.case((Delivery.status == DeliveryStatus.ACCEPTED, 1), else_=0)
    rows = session.execute(
        sa.select(
            DigestRun.frequency,
            sa.func.count(sa.distinct(DigestRun.id)),
            sa.func.count(Delivery.id),
            sa.func.coalesce(sa.func.sum(accepted), 0),
        )
        .select_from(DigestItem)
        .join(DigestRun, DigestRun.id == DigestItem.run_id)
        .join(
            Delivery,
            sa.and_(
                Delivery.campaign_id == DigestRun.campaign_id,
                Delivery.variant == DigestItem.variant,
            ),
        )
        .where(DigestItem.bulletin_id == bulletin_id)
        .group_by(DigestRun.frequency)
        .order_by(DigestRun.frequency)
    )
    return [DigestReach(str(f), int(runs), int(total), int(ok)) for f, runs, total, ok in rows]

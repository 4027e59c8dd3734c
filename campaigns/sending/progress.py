"""Read-only views of sending: progress, rate and ETA, the campaign list, uncertain recipients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, Delivery, DeliveryStatus
from campaigns.sending.recovery import delivery_counts
from campaigns.sending.service import get_campaign
from engine.clock import now

#: Deliveries that are finished with, successfully or not.
DONE_STATES = (
    DeliveryStatus.ACCEPTED,
    DeliveryStatus.FAILED_PERMANENT,
    DeliveryStatus.SUPPRESSED,
    DeliveryStatus.UNCERTAIN,
)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a campaign got: counts per delivery state, rate since start and ETA."""

    campaign_id: int
    status: str
    paused_reason: str
    recipients: int
    counts: dict[str, int]
    done: int
    failures: int
    rate: float
    eta_seconds: float | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def percent(self) -> float:
        return 100.0 if not self.recipients else round(100 * self.done / self.recipients, 1)

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the CLI's ``--json`` and the progress endpoint)."""
        return {
            "campaign_id": self.campaign_id,
            "status": self.status,
            "paused_reason": self.paused_reason,
            "recipients": self.recipients,
            "counts": self.counts,
            "sent": self.counts[DeliveryStatus.ACCEPTED],
            "done": self.done,
            "percent": self.percent,
            "failures": self.failures,
            "rate": round(self.rate, 1),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def campaign_progress(session: Session, campaign_id: int) -> Progress:
    """Return the campaign's progress: counts per state, total, rate (msg/s since start), ETA."""
    campaign = get_campaign(session, campaign_id)
    counts = {str(status): count for status, count in delivery_counts(session, campaign_id).items()}
    done = sum(counts[status] for status in DONE_STATES)
    accepted = counts[DeliveryStatus.ACCEPTED]
    end = campaign.finished_at or now()
    elapsed = (end - campaign.started_at).total_seconds() if campaign.started_at else 0.0
    rate = accepted / elapsed if elapsed > 0 else 0.0
    remaining = campaign.recipients - done
    eta = remaining / rate if rate > 0 and remaining > 0 else (0.0 if remaining <= 0 else None)
    failures = counts[DeliveryStatus.FAILED_PERMANENT] + counts[DeliveryStatus.FAILED_TRANSIENT]
    return Progress(
        campaign_id=campaign.id,
        status=str(campaign.status),
        paused_reason=campaign.paused_reason,
        recipients=campaign.recipients,
        counts=counts,
        done=done,
        failures=failures,
        rate=rate,
        eta_seconds=eta,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
    )


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: int
    name: str
    status: str
    issue_title: str
    send_at: datetime | None
    recipients: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "issue_title": self.issue_title,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "recipients": self.recipients,
        }


def list_campaigns(session: Session, *, limit: int = 200) -> list[CampaignRow]:
    """Return the newest campaigns with their issue title (a digest run's: its own name)."""
    rows = session.execute(
        sa.select(
            Campaign.id,
            Campaign.name,
            Campaign.status,
            # A digest run has no issue; its name says which digest and window it is.
            sa.func.coalesce(Issue.title, Campaign.name),
            Campaign.send_at,
            Campaign.recipients,
        )
        .outerjoin(Issue, Issue.id == Campaign.issue_id)
        .order_by(Campaign.id.desc())
        .limit(limit)
    )
    return [CampaignRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class UncertainRecipient:
    delivery_id: int
    subscriber_id: int | None
    address: str
    updated_at: datetime


def uncertain_recipients(session: Session, campaign_id: int) -> list[UncertainRecipient]:
    """List exactly who may or may not have received the campaign after a crash."""
    get_campaign(session, campaign_id)
    rows = session.execute(
        sa.select(Delivery.id, Delivery.subscriber_id, Delivery.address, Delivery.updated_at)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.UNCERTAIN)
        .order_by(Delivery.id)
    )
    return [UncertainRecipient(*row) for row in rows]

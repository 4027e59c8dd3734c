"""Who a campaign goes to: its topics' subscribers, or for a correction the original's readers.

A correction (``campaigns.corrections``) must reach exactly the people who got the email it
corrects: the recipients the original's campaigns were accepted for (its editions' too, whether
they rode in the original's campaigns or went in campaigns of their own), and the uncertain ones
only when staff choose them. Nobody who was not sent the original hears of it, and nobody hears
of it twice: a second campaign of the same correction (say, for the uncertain recipients after
all) leaves out whoever an earlier one already reached. The topics and any attribute filter
play no part; whoever has since unsubscribed from everything, asked for a break or been
suppressed is left out, as from any send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from engine.errors import Conflict
from subscribers.audience import audience_select
from subscribers.models import Subscriber, SubscriberStatus
from subscribers.suppression import not_suppressed_clause

#: A correction waits until no campaign of its original could still accept a recipient.
_STILL_SENDING = (CampaignStatus.SENDING, CampaignStatus.PAUSED)
#: Deliveries that reached, or may have reached, their reader.
_REACHED = (DeliveryStatus.ACCEPTED, DeliveryStatus.UNCERTAIN)
#: Deliveries of an earlier campaign of the same correction that count as told: every one but
#: those that certainly never left.
_TOLD = (
    DeliveryStatus.QUEUED,
    DeliveryStatus.CLAIMED,
    DeliveryStatus.SUBMITTING,
    DeliveryStatus.ACCEPTED,
    DeliveryStatus.FAILED_TRANSIENT,
    DeliveryStatus.UNCERTAIN,
)


@dataclass(frozen=True, slots=True)
class CorrectionReach:
    """How many of the original's recipients a correction could go to now."""

    accepted: int
    #: Readers whose only copies of the original are uncertain.
    uncertain: int

    def count(self, include_uncertain: bool) -> int:
        return self.accepted + (self.uncertain if include_uncertain else 0)


def campaign_audience(campaign: Campaign) -> sa.Select[Any]:
    """Return a Core select of ``(id, email, name)`` for everyone the campaign would reach now."""
    if campaign.corrects_issue_id is not None and campaign.issue_id is not None:
        told = _told_by(campaign.issue_id, besides=campaign.id)
        return correction_audience(campaign.corrects_issue_id, campaign.include_uncertain).where(
            Subscriber.id.not_in(told)
        )
    return audience_select([topic.id for topic in campaign.topics], campaign.segment)


def count_campaign_audience(session: Session, campaign: Campaign) -> int:
    """Return how many people the campaign would reach now (none without topics)."""
    if campaign.corrects_issue_id is None and not campaign.topics:
        return 0
    inner = campaign_audience(campaign).order_by(None).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def correction_audience(original_id: int, include_uncertain: bool) -> sa.Select[Any]:
    """Return ``(id, email, name)`` of the mailable recipients of the original issue's sends."""
    statuses = _REACHED if include_uncertain else (DeliveryStatus.ACCEPTED,)
    return (
        sa.select(Subscriber.id, Subscriber.email, Subscriber.name)
        .where(
            Subscriber.id.in_(_recipients_of(original_id, statuses)),
            _mailable(),
        )
        .order_by(Subscriber.id)
    )


def correction_reach(session: Session, original_id: int, correction_id: int) -> CorrectionReach:
    """Count the original's mailable readers a new campaign of the correction would reach.

    One pass over the original's deliveries: each reader is accepted when any of their copies
    was, else uncertain. Readers an earlier campaign of the correction told are left out.
    """
    accepted = sa.func.max(sa.case((Delivery.status == DeliveryStatus.ACCEPTED, 1), else_=0))
    readers = (
        sa.select(Delivery.subscriber_id.label("id"), accepted.label("accepted"))
        .where(
            Delivery.campaign_id.in_(_sends_of(original_id)),
            Delivery.status.in_(_REACHED),
            Delivery.subscriber_id.is_not(None),
            Delivery.subscriber_id.not_in(_told_by(correction_id, besides=None)),
        )
        .group_by(Delivery.subscriber_id)
        .subquery()
    )
    row = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(readers.c.accepted), 0),
            sa.func.count(),
        )
        .select_from(readers)
        .join(Subscriber, Subscriber.id == readers.c.id)
        .where(_mailable())
    ).one()
    accepted_count, everyone = int(row[0]), int(row[1])
    return CorrectionReach(accepted_count, everyone - accepted_count)


def was_sent(session: Session, original_id: int) -> bool:
    """Return whether any send of the issue (or its editions) reached or may have reached anyone.

    A send cancelled part-way counts: the readers it reached need the correction most.
    """
    reached = sa.select(Delivery.id).where(
        Delivery.campaign_id.in_(_sends_of(original_id)), Delivery.status.in_(_REACHED)
    )
    return session.scalar(sa.select(reached.exists())) or False


def ensure_correctable(session: Session, original_id: int) -> None:
    """Raise ``Conflict`` unless the original reached someone and none of its sends still goes.

    Asked when a correction's campaign is created and again when it starts, so it never
    freezes its audience while the original may still accept recipients.
    """
    still = session.scalar(
        sa.select(Campaign.id)
        .where(Campaign.id.in_(_sends_of(original_id)), Campaign.status.in_(_STILL_SENDING))
        .limit(1)
    )
    if still is not None:
        raise Conflict(
            "The original is still being sent: wait until its campaign has finished (or cancel "
            "it), so the correction knows everyone it reached."
        )
    if not was_sent(session, original_id):
        raise Conflict(
            "The original has not been sent to anyone, so there is nobody to correct: edit the "
            "issue itself instead."
        )


def _sends_of(original_id: int) -> sa.Select[Any]:
    """Return the ids of the campaigns of the original and of its editions."""
    editions = sa.select(Issue.id).where(Issue.edition_of_id == original_id)
    return sa.select(Campaign.id).where(
        sa.or_(Campaign.issue_id == original_id, Campaign.issue_id.in_(editions))
    )


def _recipients_of(original_id: int, statuses: tuple[DeliveryStatus, ...]) -> sa.Select[Any]:
    return sa.select(Delivery.subscriber_id).where(
        Delivery.campaign_id.in_(_sends_of(original_id)),
        Delivery.status.in_(statuses),
        Delivery.subscriber_id.is_not(None),
    )


def _told_by(correction_id: int, *, besides: int | None) -> sa.Select[Any]:
    """Return the readers the correction's campaigns (but ``besides``) have told or may tell."""
    sends = sa.select(Campaign.id).where(Campaign.issue_id == correction_id)
    if besides is not None:
        sends = sends.where(Campaign.id != besides)
    return sa.select(Delivery.subscriber_id).where(
        Delivery.campaign_id.in_(sends),
        Delivery.status.in_(_TOLD),
        Delivery.subscriber_id.is_not(None),
    )


def _mailable() -> sa.ColumnElement[bool]:
    return sa.and_(Subscriber.status == SubscriberStatus.ACTIVE, not_suppressed_clause())

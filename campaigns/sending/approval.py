"""The approval gate: whether a campaign may go out, and the one sentence that states the rule.

One rule, in one place: when an issue's sends reach more than ``APPROVAL_THRESHOLD``
recipients in all (default 0: every send), each campaign needs an approval of the exact
revision and audience it froze, given by someone who did not edit that revision. The count is
the issue's, not the campaign's, so splitting one send into several small campaigns does not
slip under the threshold. ``start_campaign`` checks the gate on the frozen audience, whoever
starts the send; scheduling checks it early on the audience of the moment, so staff hear of a
missing approval when they schedule, not when the time comes. Test sends to staff addresses
never pass through here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.workflow import is_approved_for
from campaigns.sending.models import Campaign, CampaignStatus
from engine.errors import Forbidden

#: Statuses whose frozen audience has been (or is being) sent to.
_STARTED = (
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
    CampaignStatus.SENT,
    CampaignStatus.CANCELLED,
)


def approval_rule(threshold: int) -> str:
    """Return the rule in one sentence, the same on every page that offers to send."""
    if threshold <= 0:
        return (
            "Every send to subscribers needs an approver's approval of the exact revision and "
            "audience, given by someone who did not edit that revision; test sends to staff "
            "addresses do not."
        )
    return (
        f"When an issue's sends reach more than {threshold:,} "
        f"recipient{'' if threshold == 1 else 's'} in all, each needs an "
        "approver's approval of the exact revision and audience, given by someone who did not "
        "edit that revision; smaller sends and test sends to staff addresses do not."
    )


def needs_approval(recipients: int, threshold: int) -> bool:
    """Return whether sends of one issue to ``recipients`` people in all need an approval."""
    return recipients > threshold


def recipients_already_sent(session: Session, issue_id: int, *, besides: int | None) -> int:
    """Return how many recipients the issue's started campaigns froze (sent, sending, paused or
    cancelled part-way), besides campaign ``besides``."""
    query = sa.select(sa.func.coalesce(sa.func.sum(Campaign.recipients), 0)).where(
        Campaign.issue_id == issue_id, Campaign.status.in_(_STARTED)
    )
    if besides is not None:
        query = query.where(Campaign.id != besides)
    return int(session.scalar(query) or 0)


def ensure_send_allowed(
    session: Session, campaign: Campaign, recipients: int, threshold: int
) -> None:
    """Raise ``Forbidden`` unless the campaign may go to ``recipients`` people."""
    if campaign.issue_id is None:
        # A digest run lists only bulletins approved for all their topics' readers
        # (``campaigns.digests.assembly``); its layout is reviewed like any layout change, so
        # it has nothing of its own to approve.
        return
    # Locking the issue makes two campaigns of one issue starting at once take turns, so the
    # second counts the first's recipients (PostgreSQL; SQLite writers take turns anyway).
    issue = session.get(Issue, campaign.issue_id, with_for_update=True)
    earlier = recipients_already_sent(session, campaign.issue_id, besides=campaign.id)
    if not needs_approval(recipients + earlier, threshold):
        return
    topic_ids = [topic.id for topic in campaign.topics]
    if issue is not None and is_approved_for(
        session, issue, campaign.issue_revision, topic_ids, campaign.segment
    ):
        return
    reach = f"{recipients:,} recipients"
    if earlier:
        reach += f" ({recipients + earlier:,} with this issue's other campaigns)"
    raise Forbidden(
        f"This campaign reaches {reach} and is not approved for this revision and audience. "
        + approval_rule(threshold),
        details={"recipients": recipients, "issue_recipients": recipients + earlier,
                 "threshold": threshold},
    )  # fmt: skip

"""The approval gate: whether a campaign may go out to this many recipients.

One rule, in one place: a send to more than ``APPROVAL_THRESHOLD`` recipients needs an
approval of the exact revision and audience the campaign froze. ``start_campaign`` checks it
on the frozen audience, whoever starts the send; scheduling checks it early on the audience of
the moment, so staff hear of a missing approval when they schedule, not when the time comes.
Test sends to staff addresses never pass through here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.workflow import is_approved_for
from campaigns.sending.models import Campaign
from engine.errors import Forbidden


def needs_approval(recipients: int, threshold: int) -> bool:
    """Return whether a send to ``recipients`` people needs an approval."""
    return recipients > threshold


def ensure_send_allowed(
    session: Session, campaign: Campaign, recipients: int, threshold: int
) -> None:
    """Raise ``Forbidden`` unless the campaign may go to ``recipients`` people."""
    if not needs_approval(recipients, threshold):
        return
    issue = session.get(Issue, campaign.issue_id)
    topic_ids = [topic.id for topic in campaign.topics]
    if issue is None or not is_approved_for(
        session, issue, campaign.issue_revision, topic_ids, campaign.segment
    ):
        raise Forbidden(
            f"This campaign reaches {recipients:,} recipients (more than {threshold:,}): "
            "it needs an approver's approval of this exact revision and audience.",
            details={"recipients": recipients, "threshold": threshold},
        )

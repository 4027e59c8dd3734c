"""When an issue becomes public: its web view and archive entry, and when a cancel takes them back.

Every message carries a link to its web view, so the issue is published when its send starts,
not when the last batch is answered: a rate-limited send of a million lasts hours, and the
first readers open the link within minutes. The editions a campaign sends (its language
variants) are published with it. A send cancelled for good takes the publication back, unless
another send of the same issue (or edition) is still public; a paused one keeps it, since its
first readers already hold the link.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.models import Campaign, CampaignStatus, CampaignVariant

#: The campaign states whose issue's web view is public (``campaigns.archive`` serves them).
PUBLIC_CAMPAIGN_STATES = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)


def publish_campaign_issues(session: Session, campaign_id: int, at: datetime) -> None:
    """Publish the campaign's issue and the editions it sends, those not yet published."""
    session.execute(
        sa.update(Issue)
        .where(Issue.id.in_(_sent_issue_ids(campaign_id)), Issue.published_at.is_(None))
        .values(published_at=at)
        .execution_options(synchronize_session=False)
    )


def withdraw_campaign_issues(session: Session, campaign_id: int) -> None:
    """Unpublish what the (cancelled) campaign published, unless another public send sent it."""
    other_public = Campaign.status.in_(PUBLIC_CAMPAIGN_STATES) & (Campaign.id != campaign_id)
    sent_by_another = sa.or_(
        sa.exists().where(Campaign.issue_id == Issue.id, other_public),
        sa.exists()
        .where(CampaignVariant.issue_id == Issue.id)
        .where(Campaign.id == CampaignVariant.campaign_id, other_public),
    )
    session.execute(
        sa.update(Issue)
        .where(Issue.id.in_(_sent_issue_ids(campaign_id)), ~sent_by_another)
        .values(published_at=None)
        .execution_options(synchronize_session=False)
    )


def _sent_issue_ids(campaign_id: int) -> sa.CompoundSelect:
    own = sa.select(Campaign.issue_id).where(
        Campaign.id == campaign_id, Campaign.issue_id.is_not(None)
    )
    editions = sa.select(CampaignVariant.issue_id).where(
        CampaignVariant.campaign_id == campaign_id, CampaignVariant.issue_id.is_not(None)
    )
    return sa.union(own, editions)

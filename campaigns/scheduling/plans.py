"""Send plans: the audience, send time and approval status a campaign is composed with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.workflow import is_approved_for
from campaigns.observances.service import find_observance
from campaigns.scheduling.rules import (
    SchedulingError,
    absolute_send_time,
    next_observance_send_time,
    resolve_zone,
)
from campaigns.scheduling.service import schedule_at, schedule_for_observance
from campaigns.scheduling.starting import send_now
from campaigns.sending.approval import approval_rule, needs_approval, recipients_already_sent
from campaigns.sending.audiences import correction_reach
from campaigns.sending.models import Campaign
from campaigns.sending.service import create_campaign
from engine import audit
from engine.clock import now
from engine.config import Settings
from engine.errors import ValidationFailed
from engine.users import StaffUser
from subscribers.audience import count_audience
from subscribers.models import Topic

MODES = ("now", "absolute", "observance")


@dataclass(frozen=True, slots=True)
class Audience:
    topic_ids: list[int]
    segment: dict[str, str]
    #: A correction's choice: the original's uncertain recipients too.
    include_uncertain: bool = False

    @classmethod
    def from_args(cls, args: Any) -> Audience:
        """Read topics and the optional ``key=value`` attribute filter from form or query args."""
        ids = sorted({int(t) for t in args.getlist("topic_ids") if str(t).isdigit()})
        key, value = args.get("segment_key", "").strip(), args.get("segment_value", "").strip()
        return cls(ids, {key: value} if key else {}, args.get("include_uncertain") == "on")

    def for_issue(self, issue: Issue) -> Audience:
        """Return the audience a campaign of ``issue`` gets: a correction's topics are its own."""
        if issue.correction_of_id is None:
            return self
        return Audience(sorted(t.id for t in issue.topics), {}, self.include_uncertain)


def count_for(session: Session, issue: Issue, audience: Audience) -> int:
    """Return how many people a campaign of ``issue`` to ``audience`` would reach now."""
    if issue.correction_of_id is not None:
        reach = correction_reach(session, issue.correction_of_id, issue.id)
        return reach.count(audience.include_uncertain)
    if not audience.topic_ids:
        return 0
    return count_audience(session, audience.topic_ids, audience.segment)


@dataclass(frozen=True, slots=True)
class SendPlan:
    mode: str
    tz: str
    local: datetime | None = None
    observance: str = ""
    rule: str = ""

    @classmethod
    def from_args(cls, args: Any, default_tz: str) -> SendPlan:
        """Read the schedule picker: send now, a local time in a zone, or observance + rule."""
        mode = args.get("mode", "now")
        if mode not in MODES:
            raise ValidationFailed("Choose when to send: now, at a time, or by an observance.")
        local = None
        if mode == "absolute":
            try:
                local = datetime.fromisoformat(args.get("local", ""))
            except ValueError:
                raise ValidationFailed("Enter the local date and time to send.") from None
        return cls(
            mode,
            args.get("tz", "") or default_tz,
            local,
            args.get("observance", ""),
            args.get("rule", "").strip(),
        )


def send_time(session: Session, plan: SendPlan, at: datetime) -> datetime | None:
    """Return the UTC instant ``plan`` names, ``None`` for send now; raise ``ValidationFailed``."""
    try:
        resolve_zone(plan.tz)
        if plan.mode == "absolute" and plan.local is not None:
            return absolute_send_time(plan.local, plan.tz)
        if plan.mode == "observance":
            observance = find_observance(session, plan.observance)
            try:
                return next_observance_send_time(observance, plan.rule, plan.tz, after=at)[1]
            except SchedulingError as error:
                raise ValidationFailed(f"Cannot schedule {observance.name}: {error}.") from None
    except SchedulingError as error:
        raise ValidationFailed(f"Cannot schedule: {error}.") from None
    return None


def approval_status(
    session: Session,
    issue: Issue,
    audience: Audience,
    settings: Settings,
    *,
    count: int | None = None,
) -> dict[str, Any]:
    """Return the recipient count, whether this audience needs (and has) an approval, and why.

    ``count`` is the audience's size when the caller has just counted it.
    """
    audience = audience.for_issue(issue)
    if count is None:
        count = count_for(session, issue, audience)
    threshold = settings.APPROVAL_THRESHOLD
    earlier = recipients_already_sent(session, issue.id, besides=None)
    approved = is_approved_for(session, issue, issue.revision, audience.topic_ids, audience.segment)
    needs = needs_approval(count + earlier, threshold)
    if approved:
        message = "Approved for this revision and audience."
    elif needs:
        message = "Not approved yet: ask an approver on the review page."
    else:
        message = (
            f"Not approved; allowed because this issue reaches {count + earlier:,} recipients "
            f"in all, at most {threshold:,}."
        )
    return {
        "count": count,
        "issue_recipients": count + earlier,
        "threshold": threshold,
        "needs_approval": needs,
        "approved": approved,
        "allowed": approved or not needs,
        "rule": approval_rule(threshold),
        "message": message,
    }


def compose_campaign(
    session: Session,
    issue: Issue,
    audience: Audience,
    plan: SendPlan,
    settings: Settings,
    actor: StaffUser,
    *,
    tracking: bool = False,
) -> Campaign:
    """Create the campaign and schedule or start it (each checks the approval)."""
    audience = audience.for_issue(issue)
    topics = list(session.scalars(sa.select(Topic).where(Topic.id.in_(audience.topic_ids))))
    campaign = create_campaign(
        session,
        issue,
        topics,
        segment=audience.segment,
        created_by=actor,
        settings=settings,
        tracking=tracking,
        include_uncertain=audience.include_uncertain,
    )
    count = count_for(session, issue, audience)
    audit.record(
        session,
        actor,
        "campaign.create",
        campaign,
        issue_id=issue.id,
        revision=issue.revision,
        recipients=count,
        segment=audience.segment,
        tracking=tracking,
    )
    if plan.mode == "now":
        send_now(session, campaign.id, settings)
        audit.record(session, actor, "campaign.send", campaign, recipients=campaign.recipients)
        return campaign
    _schedule(session, campaign, plan, settings.APPROVAL_THRESHOLD)
    audit.record(
        session,
        actor,
        "campaign.schedule",
        campaign,
        send_at=campaign.send_at,
        timezone=plan.tz,
        mode=plan.mode,
    )
    return campaign


def _schedule(session: Session, campaign: Campaign, plan: SendPlan, threshold: int) -> None:
    if plan.mode == "absolute" and plan.local is not None:
        schedule_at(
            session, campaign.id, plan.local, plan.tz, now=now(), approval_threshold=threshold
        )
    else:
        schedule_for_observance(
            session,
            campaign.id,
            observance=plan.observance,
            rule=plan.rule,
            tz=plan.tz,
            now=now(),
            approval_threshold=threshold,
        )

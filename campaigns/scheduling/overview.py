"""The campaign page's read model: what a campaign sends, to whom, when, and whether it may.

It is assembled here, above the send pipeline, because it names the schedule and counts the
audience of this moment, neither of which ``campaigns.sending`` knows about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from campaigns.issues.workflow import is_approved_for
from campaigns.observances.service import find_observance
from campaigns.scheduling.rules import SchedulingError, SendAnchor, parse_rule, resolve_zone
from campaigns.scheduling.service import SCHEDULABLE, ScheduleKind
from campaigns.sending.approval import needs_approval, recipients_already_sent
from campaigns.sending.audiences import count_campaign_audience
from campaigns.sending.languages import edition_notices
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.service import CANCELLABLE, STARTABLE, campaign_issue
from engine.config import Settings
from engine.display import local_time_text, status_label
from engine.errors import NotFound

_RULE_WORDS = {
    SendAnchor.START: "on the first day of {name}",
    SendAnchor.FIRST_BUSINESS_DAY: "on the first business day of {name}",
    SendAnchor.DAY: "on day {n} of {name}",
    SendAnchor.DAYS_BEFORE: "{n} day{s} before {name} begins",
    SendAnchor.BUSINESS_DAYS_BEFORE: "{n} business day{s} before {name} begins",
}


@dataclass(frozen=True, slots=True)
class LocalTime:
    """An instant as staff read it: in a named zone, with the zone's abbreviation."""

    instant: datetime
    zone: str
    words: str
    short: str


@dataclass(frozen=True, slots=True)
class ScheduleSummary:
    at: LocalTime
    #: How the time was chosen, in words ("At a fixed date and time", "3 days before …").
    rule: str
    observance: str
    per_subscriber: bool


@dataclass(frozen=True, slots=True)
class ApprovalSummary:
    approved: bool
    allowed: bool
    sentence: str


@dataclass(frozen=True, slots=True)
class CampaignOverview:
    campaign: Campaign
    status: str
    note: str
    started: bool
    latest_revision: int
    segment: str
    #: Who would receive it if it started now (before it starts; then the audience is frozen).
    audience_now: int | None
    schedule: ScheduleSummary | None
    approval: ApprovalSummary | None
    start: LocalTime | None
    finished: LocalTime | None
    send_question: str
    #: What staff may do next: ``send``, ``unschedule``, ``pause``, ``resume``, ``cancel``.
    actions: frozenset[str]
    #: Whether the page offers test sends (before the campaign starts).
    can_test: bool
    #: Editions whose readers get the original instead, and why (``edition_notices``).
    edition_warnings: list[str]


def campaign_overview(session: Session, campaign: Campaign, settings: Settings) -> CampaignOverview:
    """Return what the campaign page shows: state, issue, audience, schedule, approval, actions."""
    status = CampaignStatus(campaign.status)
    started = campaign.started_at is not None
    count = None if started else _count(session, campaign)
    schedule = schedule_summary(session, campaign)
    zone = campaign.timezone or settings.TIMEZONE
    finished = local_time(campaign.finished_at, zone) if campaign.finished_at else None
    approval = None if count is None else approval_summary(session, campaign, count, settings)
    return CampaignOverview(
        campaign=campaign,
        status=status_label(status),
        note=_note(campaign, status, schedule, finished),
        started=started,
        latest_revision=campaign_issue(campaign).revision,
        segment=segment_words(campaign.segment),
        audience_now=count,
        schedule=schedule,
        approval=approval,
        start=local_time(campaign.started_at, zone) if campaign.started_at else None,
        finished=finished,
        send_question=send_question(count or 0, schedule, status),
        actions=_actions(status),
        can_test=status in SCHEDULABLE,
        edition_warnings=edition_notices(session, campaign),
    )


def local_time(instant: datetime, zone: str) -> LocalTime:
    """Return ``instant`` in ``zone``, with its weekday and without ("Jan 12, 2027, 10:00 EST")."""
    short = local_time_text(instant, zone)
    return LocalTime(instant, zone, f"{instant.astimezone(resolve_zone(zone)):%A}, {short}", short)


def schedule_summary(session: Session, campaign: Campaign) -> ScheduleSummary | None:
    """Describe the campaign's schedule, or return ``None`` when it has no send time."""
    if campaign.send_at is None:
        return None
    detail = campaign.schedule or {}
    at = local_time(campaign.send_at, campaign.timezone or "UTC")
    per_subscriber = bool(detail.get("local_time"))
    if detail.get("kind") != ScheduleKind.OBSERVANCE:
        rule = "At a fixed date and time"
        if per_subscriber:
            rule += f": {detail.get('at')} in each subscriber's own time zone"
        return ScheduleSummary(at, rule, "", per_subscriber)
    name = _observance_name(session, str(detail.get("observance") or ""))
    rule = rule_words(str(detail.get("rule") or ""), name, detail)
    return ScheduleSummary(at, rule, name, per_subscriber)


def rule_words(text: str, observance: str, detail: Mapping[str, Any]) -> str:
    """Put a stored send rule such as ``3 days-before 09:00`` in words."""
    try:
        rule = parse_rule(text)
    except SchedulingError:
        return f"By {observance}: {text}"
    n = rule.count
    where = _RULE_WORDS[rule.anchor].format(name=observance, n=n, s="" if n == 1 else "s")
    words = f"{where[0].upper()}{where[1:]}, at {rule.at:%H:%M}"
    if detail.get("local_time"):
        words += " in each subscriber's own time zone"
    skips = [
        label
        for key, label in (("skip_weekends", "weekends"), ("skip_holidays", "federal holidays"))
        if detail.get(key)
    ]
    if skips:
        words += f", moved past {' and '.join(skips)}"
    return words


def approval_summary(
    session: Session, campaign: Campaign, recipients: int, settings: Settings
) -> ApprovalSummary:
    """Say whether the campaign may go to ``recipients`` people now, in one sentence."""
    threshold = settings.APPROVAL_THRESHOLD
    issue = campaign_issue(campaign)
    total = recipients + recipients_already_sent(session, issue.id, besides=campaign.id)
    topic_ids = [topic.id for topic in campaign.topics]
    revision = campaign.issue_revision
    approved = is_approved_for(session, issue, revision, topic_ids, campaign.segment)
    needed = needs_approval(total, threshold)
    if approved:
        sentence = f"Approved for revision {revision} and this audience: it may go out."
    elif needed:
        sentence = (
            f"Not approved for revision {revision} and this audience: it cannot go out until "
            "an approver approves them on the review page."
        )
    else:
        sentence = (
            f"Not approved, and it needs no approval: this issue reaches {total:,} "
            f"recipient{'' if total == 1 else 's'} in all, at most {threshold:,}."
        )
    return ApprovalSummary(approved, approved or not needed, sentence)


def send_question(recipients: int, schedule: ScheduleSummary | None, status: CampaignStatus) -> str:
    """Return the question "Send now" asks: how many people, and what happens to a schedule."""
    question = f"Send to {recipients:,} recipient{'' if recipients == 1 else 's'} now?"
    if schedule is None:
        return question
    if status is CampaignStatus.NEEDS_REVIEW:
        return f"{question} It was scheduled for {schedule.at.short}, which has passed."
    return f"{question} It is scheduled for {schedule.at.short}; sending now replaces the schedule."


def segment_words(segment: Mapping[str, Any]) -> str:
    """Describe the attribute filter on the audience ("" when there is none)."""
    return " and ".join(f"{key} is {value}" for key, value in segment.items())


def _count(session: Session, campaign: Campaign) -> int:
    return count_campaign_audience(session, campaign)


def _observance_name(session: Session, slug: str) -> str:
    try:
        return find_observance(session, slug).name
    except NotFound:
        return slug


def _note(
    campaign: Campaign,
    status: CampaignStatus,
    schedule: ScheduleSummary | None,
    finished: LocalTime | None,
) -> str:
    if status is CampaignStatus.SCHEDULED and schedule is not None:
        return f"Goes out {schedule.at.words}."
    if status is CampaignStatus.SENT and finished is not None:
        return f"Finished sending {finished.words}."
    if status in (CampaignStatus.PAUSED, CampaignStatus.NEEDS_REVIEW) and campaign.paused_reason:
        return campaign.paused_reason
    return {
        CampaignStatus.DRAFT: "Not scheduled: nothing goes out until someone sends it.",
        CampaignStatus.SENDING: "Going out now.",
        CampaignStatus.PAUSED: "Paused: no new batch starts until someone resumes it.",
        CampaignStatus.CANCELLED: "Cancelled: nothing more of it goes out.",
        CampaignStatus.NEEDS_REVIEW: "Its send time passed while nothing was running.",
    }.get(status, "")


def _actions(status: CampaignStatus) -> frozenset[str]:
    actions = {
        "send": status in STARTABLE or status is CampaignStatus.NEEDS_REVIEW,
        "unschedule": status in SCHEDULABLE and status is not CampaignStatus.DRAFT,
        "pause": status is CampaignStatus.SENDING,
        "resume": status is CampaignStatus.PAUSED,
        "cancel": status in CANCELLABLE,
    }
    return frozenset(name for name, offered in actions.items() if offered)

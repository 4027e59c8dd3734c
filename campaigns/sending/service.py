"""Campaign lifecycle: create (freezing the content), start by compare-and-set, pause, cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.sending.approval import ensure_send_allowed
from campaigns.sending.audiences import ensure_correctable
from campaigns.sending.freeze import Wave, freeze_audience
from campaigns.sending.languages import add_language_variants, drop_stale_editions
from campaigns.sending.models import Campaign, CampaignStatus
from campaigns.sending.publication import publish_campaign_issues, withdraw_campaign_issues
from engine.clock import now
from engine.config import Settings
from engine.db import rowcount
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.text_fields import check_line
from engine.users import StaffUser
from subscribers.models import Topic

#: States a campaign may be started from: the scheduler uses ``scheduled``, staff either.
STARTABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})
CANCELLABLE = frozenset(
    {
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULED,
        CampaignStatus.SENDING,
        CampaignStatus.PAUSED,
        CampaignStatus.NEEDS_REVIEW,
    }
)

#: A step run on a campaign's frozen HTML as it starts, before its audience is frozen (link
#: tracking is one); the caller passes them in, so the pipeline knows no feature above it.
StartStep = Callable[[Session, Campaign, Settings], object]


def create_campaign(
    session: Session,
    issue: Issue,
    topics: Iterable[Topic],
    *,
    name: str | None = None,
    segment: Mapping[str, Any] | None = None,
    created_by: StaffUser | None = None,
    settings: Settings,
    tracking: bool = False,
    include_uncertain: bool = False,
) -> Campaign:
    """Create a draft campaign that freezes the issue's current revision, rendered once.

    A correction's campaign goes to the recipients its original was accepted for (and the
    uncertain ones with ``include_uncertain``) rather than to the topics' subscribers; its
    topics default to the correction's own, for reports (``campaigns.sending.audiences``).

    Each approved, up-to-date edition of the issue is compiled too and frozen as the variant
    of its language (``campaigns.sending.languages``).

    ``tracking`` turns on aggregate link and open counting; the start rewrites links only then.

    Raises ``ValidationFailed`` listing the pre-send check errors when the issue may not be sent,
    and for an edition: it is sent only as a variant of its original's campaign.
    """
    topic_list = list(topics)
    if issue.edition_of_id is not None:
        raise ValidationFailed(
            f"“{issue.title}” is an edition: it goes out with its original, in one send where "
            f"each reader gets the edition in their language. Create the campaign from the "
            f"original (issue {issue.edition_of_id})."
        )
    if issue.correction_of_id is not None:
        ensure_correctable(session, issue.correction_of_id)
        if segment:
            raise ValidationFailed(
                "A correction goes to everyone the original reached; it takes no attribute filter."
            )
        topic_list = topic_list or list(issue.topics)
    elif include_uncertain:
        raise ValidationFailed("Only a correction can choose the original's uncertain recipients.")
    if not topic_list and issue.correction_of_id is None:
        message = "Choose at least one topic to send the campaign to."
        raise ValidationFailed(message, details=[{"path": "topic_ids", "message": message}])
    # Issues saved by older versions were not checked for control characters.
    subject = check_line(
        issue.content.get("subject") or issue.title, "The issue's subject", path="subject"
    )
    name = check_line(name or issue.title, "The campaign name", path="name")
    # Imported here: workers load this module but never render (MJML is a heavy import).
    from campaigns.issues.compiled import render_stored_issue

    rendered = render_stored_issue(settings, issue)
    if rendered.errors:
        messages = [check.message for check in rendered.errors]
        raise ValidationFailed(
            "The issue cannot be sent until these problems are fixed: " + "; ".join(messages),
            details=messages,
        )
    campaign = Campaign(
        issue_id=issue.id,
        issue_revision=issue.revision,
        name=name,
        status=CampaignStatus.DRAFT,
        segment=dict(segment or {}),
        subject=subject,
        from_address=settings.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
        created_by_id=created_by.id if created_by else None,
        topics=topic_list,
        tracking=tracking,
        corrects_issue_id=issue.correction_of_id,
        include_uncertain=include_uncertain,
    )
    session.add(campaign)
    session.flush()
    # Editions ride in the same send: each reader gets their language's (editions' warnings
    # are shown where the campaign is composed, ``edition_warnings``).
    add_language_variants(session, campaign, issue, settings)
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """Return the campaign or raise ``NotFound``."""
    # populate_existing: callers decide on the status, so never trust a copy loaded earlier.
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound(f"There is no campaign {campaign_id}.")
    return campaign


def campaign_issue(campaign: Campaign) -> Issue:
    """Return the issue ``campaign`` sends; raise ``NotFound`` for a digest run, which has none."""
    if campaign.issue is None:
        raise NotFound(
            f"Campaign {campaign.id} is a digest run: it lists bulletins, it sends no issue."
        )
    return campaign.issue


def start_campaign(
    session: Session,
    campaign_id: int,
    *,
    expected: CampaignStatus,
    settings: Settings,
    batch_size: int | None = None,
    waves: Sequence[Wave] = (),
    steps: Sequence[StartStep] = (),
) -> bool:
    """Move the campaign from ``expected`` to ``sending`` and freeze its audience; return if we won.

    The compare-and-set UPDATE is the lock: two schedulers or a double click race on the
    ``WHERE status = expected`` and exactly one of them sees a changed row. ``steps`` run on
    the campaign first; ``waves`` cut a local-time send into batches released zone by zone.

    Editions are asked again before the freeze: one changed, unapproved or out of date since
    the campaign was created loses its variant and its readers get the original
    (``campaigns.sending.languages.drop_stale_editions``); the original's own gate refuses.
    """
    if expected not in STARTABLE:
        raise ValueError(f"a campaign cannot be started from {expected}")
    moved = session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == expected)
        .values(status=CampaignStatus.SENDING, started_at=now(), paused_reason="")
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        get_campaign(session, campaign_id)
        return False
    campaign = get_campaign(session, campaign_id)
    if campaign.corrects_issue_id is not None:
        # The original may have gone out again since the correction was composed.
        ensure_correctable(session, campaign.corrects_issue_id)
    # Before the freeze, so the readers of a dropped edition are frozen into the original.
    drop_stale_editions(session, campaign)
    for step in steps:
        step(session, campaign, settings)
    freeze_audience(session, campaign, batch_size or settings.BATCH_SIZE, waves)
    # The one gate, on the frozen audience, whoever starts the send (staff, API, CLI or
    # scheduler); a refusal rolls the whole start back.
    ensure_send_allowed(session, campaign, campaign.recipients, settings.APPROVAL_THRESHOLD)
    # Its first readers open the web view while the rest are still being sent.
    publish_campaign_issues(session, campaign_id, campaign.started_at or now())
    return True


def pause_campaign(session: Session, campaign_id: int, reason: str = "Paused by staff.") -> None:
    """Pause a sending campaign; batches already with the provider finish, no new one starts."""
    _transition(session, campaign_id, {CampaignStatus.SENDING}, CampaignStatus.PAUSED, reason)


def resume_campaign(session: Session, campaign_id: int, *, approval_threshold: int) -> None:
    """Resume a paused campaign where it stopped, if its approval still stands.

    An approver who returned the issue to draft while the send was paused withdrew the approval:
    the rest of the audience then waits until the issue is approved again (or is cancelled).
    """
    _transition(session, campaign_id, {CampaignStatus.PAUSED}, CampaignStatus.SENDING, "")
    campaign = get_campaign(session, campaign_id)
    ensure_send_allowed(session, campaign, campaign.recipients, approval_threshold)


def cancel_campaign(session: Session, campaign_id: int) -> None:
    """Cancel a campaign for good; deliveries not yet handed over are never sent."""
    _transition(session, campaign_id, CANCELLABLE, CampaignStatus.CANCELLED, "Cancelled by staff.")
    withdraw_campaign_issues(session, campaign_id)


def _transition(
    session: Session,
    campaign_id: int,
    sources: Iterable[CampaignStatus],
    target: CampaignStatus,
    reason: str,
) -> None:
    allowed = list(sources)
    moved = session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(allowed))
        .values(status=target, paused_reason=reason, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    campaign = get_campaign(session, campaign_id)
    if rowcount(moved) != 1:
        raise Conflict(
            f"Campaign {campaign_id} is {campaign.status}; it cannot become {target} from there."
        )

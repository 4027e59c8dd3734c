"""Annual series: weeks before an observance comes round, clone last year's issue into a draft.

The daily job prepares drafts and writes a dashboard notification in one transaction; the
email to editors goes out after the commit, so nobody is told about a draft that was not kept.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue, get_issue
from campaigns.observances.catalogue import next_window
from campaigns.observances.models import Notification, NotificationKind, RecurringSeries
from campaigns.observances.rules import DateWindow
from campaigns.observances.service import find_observance
from campaigns.scheduling.rules import SchedulingError, parse_rule, recurring_draft_date
from engine.config import Settings
from engine.db import rowcount
from engine.delivery.base import SendResult
from engine.delivery.system import send_system_messages, system_message
from engine.errors import NotFound, ValidationFailed
from engine.users import Role, StaffUser
from subscribers.models import Topic

MAX_WEEKS_BEFORE = 26
_YEAR_FIELDS = ("title", "subject", "kicker", "preheader", "date_label")


@dataclass(frozen=True, slots=True)
class PreparedDraft:
    series_id: int
    issue_id: int
    window: DateWindow
    message: str
    link: str


def create_series(
    session: Session,
    *,
    observance_slug: str,
    source_issue_id: int,
    weeks_before: int,
    topics: Sequence[str],
    rule: str,
) -> RecurringSeries:
    """Validate and store an annual series for an observance."""
    find_observance(session, observance_slug)
    get_issue(session, source_issue_id)
    if not 0 <= weeks_before <= MAX_WEEKS_BEFORE:
        raise ValidationFailed(f"weeks_before must be from 0 to {MAX_WEEKS_BEFORE}.")
    try:
        send_rule = parse_rule(rule)
    except SchedulingError as error:
        raise ValidationFailed(str(error)) from None
    known = set(session.scalars(sa.select(Topic.slug).where(Topic.slug.in_(list(topics)))))
    missing = sorted(set(topics) - known)
    if missing:
        raise ValidationFailed(f"Unknown topic(s): {', '.join(missing)}.")
    series = RecurringSeries(
        observance_slug=observance_slug,
        source_issue_id=source_issue_id,
        weeks_before=weeks_before,
        topics=list(topics),
        rule=str(send_rule),
        active=True,
    )
    session.add(series)
    session.flush()
    return series


def prepare_recurring_drafts(session: Session, today: date) -> list[PreparedDraft]:
    """Clone a draft for every active series whose draft day has come; return what was made."""
    series_ids = session.scalars(
        sa.select(RecurringSeries.id)
        .where(RecurringSeries.active.is_(True))
        .order_by(RecurringSeries.id)
    )
    drafts = [_prepare(session, series_id, today) for series_id in list(series_ids)]
    return [draft for draft in drafts if draft is not None]


def _prepare(session: Session, series_id: int, today: date) -> PreparedDraft | None:
    series = session.get(RecurringSeries, series_id)
    assert series is not None
    try:
        observance = find_observance(session, series.observance_slug)
    except NotFound:
        return None
    window = next_window(observance, today)
    if window is None or today < recurring_draft_date(window.start, series.weeks_before):
        return None
    # Compare-and-set on the window: two schedulers ticking at once make one draft.
    claimed = rowcount(
        session.execute(
            sa.update(RecurringSeries)
            .where(
                RecurringSeries.id == series_id,
                sa.or_(
                    RecurringSeries.prepared_for.is_(None),
                    RecurringSeries.prepared_for < window.start,
                ),
            )
            .values(prepared_for=window.start)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        return None
    session.refresh(series)
    issue = _clone(session, series, window)
    series.last_issue_id = issue.id
    message = (
        f'A draft for {observance.name} {window.start.year} is ready: "{issue.title}" '
        f"(window starts {window.start:%B} {window.start.day})."
    )
    link = f"/admin/issues/{issue.id}/preview"
    session.add(Notification(kind=NotificationKind.RECURRING_DRAFT, message=message, link=link))
    session.flush()
    return PreparedDraft(series.id, issue.id, window, message, link)


def _clone(session: Session, series: RecurringSeries, window: DateWindow) -> Issue:
    source = session.get(Issue, series.last_issue_id or series.source_issue_id)
    if source is None:
        source = get_issue(session, series.source_issue_id)
    content = _next_year_content(source.content, window.start.year)
    topics = session.scalars(sa.select(Topic).where(Topic.slug.in_(series.topics))).all()
    return create_issue(session, content, topics=topics, observance_slug=series.observance_slug)


def _next_year_content(content: dict[str, Any], year: int) -> dict[str, Any]:
    data = copy.deepcopy(content)
    for name in _YEAR_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = data[name].replace(str(year - 1), str(year))
    return data


def recent_notifications(session: Session, limit: int = 10) -> list[Notification]:
    """Return the newest notifications not dismissed."""
    return list(
        session.scalars(
            sa.select(Notification)
            .where(Notification.dismissed_at.is_(None))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def editor_addresses(session: Session) -> list[str]:
    """Return the addresses of active staff who edit issues (editors and admins)."""
    return list(
        session.scalars(
            sa.select(StaffUser.email)
            .where(StaffUser.active.is_(True), StaffUser.role.in_([Role.EDITOR, Role.ADMIN]))
            .order_by(StaffUser.email)
        )
    )


def notify_editors(
    settings: Settings, addresses: Iterable[str], drafts: Sequence[PreparedDraft]
) -> list[SendResult]:
    """Email each editor a note listing the new drafts."""
    targets = list(addresses)
    if not drafts or not targets:
        return []
    items = [{"message": d.message, "url": f"{settings.BASE_URL}{d.link}"} for d in drafts]
    messages = [
        system_message(
            settings,
            kind="recurring-notice",
            layout="recurring_drafts",
            to_address=address,
            subject=f"{len(drafts)} new recurring draft(s) in Pinwheel",
            fields={"drafts": items},
        )
        for address in targets
    ]
    return send_system_messages(settings, messages)

"""The email approvers get when an issue is submitted for review.

The submit page, API endpoint and CLI command build the messages inside their transaction and
send them after the commit: a refused or rolled-back submission never mails anyone, and no
transaction (on SQLite, the write lock) stays open while a provider answers. A failing mail
backend is logged, not raised: the issue is in review either way, and it shows on each
approver's dashboard.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.system import send_system_messages, system_message
from engine.users import Role, StaffUser

log = logging.getLogger(__name__)


def review_url(settings: Settings, issue_id: int) -> str:
    """Return the absolute address of an issue's review page."""
    return f"{settings.BASE_URL}/admin/issues/{issue_id}/review"


def approver_addresses(session: Session, submitter: StaffUser) -> list[str]:
    """Return the addresses of the active approvers and admins, the submitter left out."""
    return list(
        session.scalars(
            sa.select(StaffUser.email)
            .where(
                StaffUser.active.is_(True),
                StaffUser.role.in_([Role.APPROVER, Role.ADMIN]),
                StaffUser.id != submitter.id,
            )
            .order_by(StaffUser.email)
        )
    )


def review_requests(
    session: Session, settings: Settings, issue: Issue, submitter: StaffUser
) -> list[OutgoingMessage]:
    """Build the email telling each approver but the submitter that ``issue`` waits for review."""
    fields = {
        "title": issue.title,
        "submitter": submitter.email,
        "revision": str(issue.revision),
        "review_url": review_url(settings, issue.id),
    }
    return [
        system_message(
            settings,
            kind="review-request",
            layout="review_request",
            to_address=address,
            subject=f"Waiting for your review: {issue.title}",
            fields=fields,
        )
        for address in approver_addresses(session, submitter)
    ]


def send_review_requests(settings: Settings, messages: list[OutgoingMessage]) -> int:
    """Send the built review requests after the commit; return how many were handed over."""
    try:
        send_system_messages(settings, messages)
    except Exception:
        log.exception("could not email the approvers about an issue in review")
        return 0
    return len(messages)

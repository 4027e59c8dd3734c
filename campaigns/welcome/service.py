"""Welcome emails: create one from a friendly skeleton, turn it on or off, read its state.

A welcome sends only while it is on and its issue's latest revision is approved: an edit
returns the issue to draft (``campaigns.issues.service.save_revision``), and the welcome waits
until an approver approves the new revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from campaigns.content.document import Layout
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue
from campaigns.welcome.models import WelcomeDelivery, WelcomeDeliveryStatus, WelcomeMessage
from engine import audit
from engine.clock import now
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.users import StaffUser
from subscribers.models import Topic

#: The words a new welcome issue starts with; editors rewrite them in the block editor.
STARTER_INTRO = (
    "Hello {{ first_name|there }}, and thank you for subscribing. We write about what helps "
    "children and families, and we are glad you are here. Below is what you signed up for "
    "and how often it arrives; you can change either at any time."
)


class WelcomeState(StrEnum):
    """What a welcome does now, as staff read it."""

    OFF = "off"
    #: Turned on, but its issue's latest revision is not approved: nothing is sent yet.
    AWAITING_APPROVAL = "awaiting_approval"
    ON = "on"


STATE_LABELS = {
    WelcomeState.OFF: "Off",
    WelcomeState.AWAITING_APPROVAL: (
        "Turned on; waits for approval — nothing is sent until the issue is approved"
    ),
    WelcomeState.ON: "On: newcomers get it",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Whom a welcome is for: every topic, or the topics of one category."""

    for_all: bool
    category: str = ""

    @property
    def label(self) -> str:
        return WelcomeMessage(for_all=self.for_all, category=self.category).scope_label


def is_approved(issue: Issue) -> bool:
    """Tell whether the issue's latest revision carries an approval (any save voids it)."""
    return issue.status == IssueStatus.APPROVED and bool(issue.approval_hash)


def welcome_state(welcome: WelcomeMessage) -> WelcomeState:
    """Return whether ``welcome`` is off, waiting for an approval, or sending."""
    if not welcome.active:
        return WelcomeState.OFF
    return WelcomeState.ON if is_approved(welcome.issue) else WelcomeState.AWAITING_APPROVAL


def list_welcomes(session: Session) -> list[WelcomeMessage]:
    """Return every welcome: the one for all first, then by category."""
    query = (
        sa.select(WelcomeMessage)
        .options(joinedload(WelcomeMessage.issue))
        .order_by(WelcomeMessage.for_all.desc(), WelcomeMessage.category)
    )
    return list(session.scalars(query))


def get_welcome(session: Session, welcome_id: int) -> WelcomeMessage:
    """Return the welcome or raise ``NotFound``."""
    welcome = session.get(WelcomeMessage, welcome_id)
    if welcome is None:
        raise NotFound(f"No welcome email with id {welcome_id}.")
    return welcome


def topic_categories(session: Session) -> list[str]:
    """Return the categories topics are grouped by ("" for the uncategorised), in order."""
    return list(session.scalars(sa.select(Topic.category).distinct().order_by(Topic.category)))


def read_scope(session: Session, category: str | None) -> Scope:
    """Return the scope ``category`` names (None: every topic); refuse an unknown category."""
    if category is None:
        return Scope(for_all=True)
    wanted = category.strip()
    if wanted not in topic_categories(session):
        known = ", ".join(repr(name) for name in topic_categories(session) if name) or "none yet"
        raise ValidationFailed(
            f"No topic is in the category {wanted!r}. Categories: {known}.",
            details=[{"path": "category", "message": "Choose a category topics are in."}],
        )
    return Scope(for_all=False, category=wanted)


def scope_topics(session: Session, welcome: WelcomeMessage) -> list[Topic]:
    """Return the topics ``welcome`` covers when no other welcome claims them."""
    query = sa.select(Topic).order_by(Topic.category, Topic.position, Topic.name)
    if not welcome.for_all:
        query = query.where(Topic.category == welcome.category)
    return list(session.scalars(query))


def create_welcome(
    session: Session, scope: Scope, *, actor: StaffUser | str | None = None
) -> WelcomeMessage:
    """Create the welcome for ``scope`` and its draft issue, to be written and approved.

    It is on from the start, and sends nothing until its issue is approved. Two requests for
    one scope at once both pass the check below; the unique constraint stops the second, which
    gets the same ``Conflict`` as a request made after the first.
    """
    if find_welcome(session, scope) is not None:
        raise _already_exists(session, scope)
    welcome = WelcomeMessage(for_all=scope.for_all, category=scope.category)
    author_id = actor.id if isinstance(actor, StaffUser) else None
    title = "Welcome" if scope.for_all else f"Welcome to {scope.category or 'our updates'}"
    try:
        with session.begin_nested():
            issue = create_issue(
                session,
                starter_content(title),
                author_id=author_id,
                topics=scope_topics(session, welcome),
            )
            welcome.issue = issue
            welcome.created_by_id = author_id
            welcome.enabled_at = now()
            session.add(welcome)
            session.flush()
    except sa.exc.IntegrityError:
        raise _already_exists(session, scope) from None
    audit.record(session, actor, "welcome.create", welcome, issue_id=issue.id, scope=scope.label)
    return welcome


def find_welcome(session: Session, scope: Scope) -> WelcomeMessage | None:
    """Return the welcome for ``scope``, if there is one."""
    return session.scalar(
        sa.select(WelcomeMessage).where(
            WelcomeMessage.for_all == scope.for_all, WelcomeMessage.category == scope.category
        )
    )


def _already_exists(session: Session, scope: Scope) -> Conflict:
    existing = find_welcome(session, scope)
    if existing is None:  # the other request's row is not visible to us yet
        return Conflict(
            f"{scope.label} already have a welcome email: someone created it a moment ago."
        )
    return Conflict(
        f"{scope.label} already have a welcome email (issue {existing.issue_id}): edit it, "
        "or turn it on or off.",
        details={"welcome_id": existing.id},
    )


def starter_content(title: str) -> dict[str, Any]:
    """Return the first revision of a welcome issue: a title, a subject and a friendly intro."""
    return {
        "title": title,
        "subject": "Welcome, and thank you for subscribing",
        "preheader": "What you signed up for, how often it arrives, and how to change it.",
        "layout": Layout.ARTICLE.value,
        "blocks": [{"id": "intro", "type": "paragraph", "text": STARTER_INTRO}],
    }


def set_welcome_active(
    session: Session,
    welcome: WelcomeMessage,
    active: bool,
    *,
    actor: StaffUser | str | None = None,
) -> WelcomeMessage:
    """Turn ``welcome`` on or off; turned on, it welcomes subscriptions confirmed from now on."""
    if welcome.active == active:
        return welcome
    welcome.active = active
    if active:
        welcome.enabled_at = now()
    audit.record(session, actor, "welcome.on" if active else "welcome.off", welcome)
    session.flush()
    return welcome


def delivery_counts(session: Session) -> dict[int, dict[WelcomeDeliveryStatus, int]]:
    """Return how many deliveries of each status every welcome has, by welcome id."""
    rows = session.execute(
        sa.select(WelcomeDelivery.welcome_id, WelcomeDelivery.status, sa.func.count()).group_by(
            WelcomeDelivery.welcome_id, WelcomeDelivery.status
        )
    )
    counts: dict[int, dict[WelcomeDeliveryStatus, int]] = {}
    for welcome_id, status, count in rows:
        counts.setdefault(welcome_id, {})[WelcomeDeliveryStatus(status)] = int(count)
    return counts

"""Builders for welcome tests: topics in categories, an approved welcome, readers who confirm."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.workflow import approve, submit_for_review
from campaigns.welcome.models import WelcomeMessage
from campaigns.welcome.service import Scope, create_welcome, scope_topics
from engine.config import Settings
from engine.users import StaffUser
from subscribers.models import Frequency, Subscriber, Topic
from subscribers.service import confirm_subscriber, subscribe
from tests.factories import make_topic, make_user


@dataclass
class Staff:
    editor: StaffUser
    approver: StaffUser


@pytest.fixture
def staff(session: Session) -> Staff:
    people = Staff(make_user(session, role="editor"), make_user(session, role="approver"))
    session.commit()
    return people


@pytest.fixture
def topics(session: Session) -> dict[str, Topic]:
    """Two topics about practice, one about policy."""
    made = {
        "foster": make_topic(session, slug="foster-care", name="Foster care", category="Practice"),
        "kinship": make_topic(session, slug="kinship", name="Kinship care", category="Practice"),
        "policy": make_topic(session, slug="policy", name="Policy & law", category="Policy"),
    }
    session.commit()
    return made


MakeWelcome = Callable[..., WelcomeMessage]


@pytest.fixture
def make_welcome(session: Session, settings: Settings, staff: Staff) -> MakeWelcome:
    """Return a builder of welcomes, approved by a second person unless told otherwise."""

    def build(category: str | None = None, *, approved: bool = True) -> WelcomeMessage:
        scope = Scope(for_all=True) if category is None else Scope(False, category)
        welcome = create_welcome(session, scope, actor=staff.editor)
        if approved:
            approve_welcome(session, settings, staff, welcome)
        session.commit()
        return welcome

    return build


def approve_welcome(
    session: Session, settings: Settings, staff: Staff, welcome: WelcomeMessage
) -> None:
    """Submit the welcome's issue for review and approve it, as two people."""
    submit_for_review(session, welcome.issue, staff.editor, settings=settings)
    topic_ids = [topic.id for topic in scope_topics(session, welcome)]
    approve(session, welcome.issue, staff.approver, topic_ids)


def join(
    session: Session,
    email: str,
    topics: Sequence[Topic],
    *,
    frequency: Frequency = Frequency.IMMEDIATELY,
    name: str = "Kim Lee",
) -> Subscriber:
    """Subscribe ``email`` through the form's service and confirm, as a reader does."""
    outcome = subscribe(session, email, topics, name=name, frequency=frequency)
    assert outcome.subscriber_id is not None
    subscriber = session.get(Subscriber, outcome.subscriber_id)
    assert subscriber is not None
    session.refresh(subscriber)
    confirm_subscriber(session, subscriber, ip=None)
    session.commit()
    return subscriber

"""``pinwheel demo``: load demo content so a first ``make run`` has something to show."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.demo.content import (
    DEMO_TOPICS,
    DEMO_TOPICS_ES,
    FIRST_NAMES,
    LAST_NAMES,
    ROLES,
    SPANISH_READER_EVERY,
    SPOTLIGHT_ISSUE,
    SPOTLIGHT_ISSUE_ES,
    STATES,
)
from campaigns.issues.editions import create_edition
from campaigns.issues.service import create_issue, save_revision
from campaigns.issues.workflow import approve, submit_for_review
from campaigns.sending.service import create_campaign
from engine.clock import now
from engine.config import Settings
from engine.users import StaffUser, create_user
from subscribers.models import OptIn, Subscriber, Subscription, SubscriptionStatus, Topic
from subscribers.topics import DEFAULT_CATEGORIES_ES

DEMO_ADMIN = "admin@example.org"
#: The second person: every send needs an approval by someone who did not write the issue.
DEMO_APPROVER = "reviewer@example.org"
DEMO_PASSWORD = "pinwheel-demo-admin"  # noqa: S105 (printed by make run on purpose)
DEMO_SUBSCRIBERS = 50


def load_demo(session: Session, settings: Settings, *, admin_password: str) -> dict[str, object]:
    """Create demo topics, subscribers, two staff, an approved issue and a campaign to send.

    The admin writes the spotlight issue and its Spanish edition, and the approver approves
    both for the campaign's audience, so the campaign may go out under the default rule
    (every send is approved); a few readers read Spanish and get the Spanish edition.
    """
    topics = [
        Topic(slug=slug, name=name, category=category, description=text, opt_in=OptIn(opt_in),
              position=position, translations=_spanish(slug, category))
        for position, (slug, name, category, text, opt_in) in enumerate(DEMO_TOPICS)
    ]  # fmt: skip
    session.add_all(topics)
    session.flush()
    _add_subscribers(session, topics)
    admin = _staff_user(session, DEMO_ADMIN, admin_password, "admin", "Demo Admin")
    approver = _staff_user(session, DEMO_APPROVER, admin_password, "approver", "Demo Reviewer")
    by_slug = {topic.slug: topic for topic in topics}
    issue = create_issue(
        session,
        SPOTLIGHT_ISSUE,
        author_id=admin.id,
        topics=[by_slug["human-trafficking"]],
        observance_slug="human-trafficking-prevention-month",
    )
    audience = [by_slug["human-trafficking"], by_slug["monthly-digest"]]
    submit_for_review(session, issue, admin, settings=settings)
    approve(session, issue, approver, [topic.id for topic in audience])
    # The Spanish edition, approved on its own: the campaign sends it to Spanish readers.
    edition = create_edition(session, issue, "es", admin)
    save_revision(session, edition, SPOTLIGHT_ISSUE_ES, base_revision=1, saved_by_id=admin.id)
    submit_for_review(session, edition, admin, settings=settings)
    approve(session, edition, approver, [topic.id for topic in audience])
    campaign = create_campaign(
        session,
        issue,
        audience,
        name="Spotlight: protecting youth from trafficking",
        created_by=admin,
        settings=settings,
    )
    return {
        "admin": admin.email,
        "approver": approver.email,
        "issue": issue.id,
        "edition": edition.id,
        "campaign": campaign.id,
    }


def _staff_user(session: Session, email: str, password: str, role: str, name: str) -> StaffUser:
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    if user is None:
        user = create_user(session, email=email, password=password, role=role, name=name)
    return user


def _spanish(slug: str, category: str) -> dict[str, dict[str, str]]:
    name, description = DEMO_TOPICS_ES[slug]
    spanish_category = DEFAULT_CATEGORIES_ES.get(category, "")
    return {"es": {"name": name, "description": description, "category": spanish_category}}


def _add_subscribers(session: Session, topics: list[Topic]) -> None:
    names = itertools.product(FIRST_NAMES, LAST_NAMES)
    moment = now()
    for n, (first, last) in zip(range(DEMO_SUBSCRIBERS), names, strict=False):
        subscriber = Subscriber(
            email=f"{first.lower()}.{last.lower()}{n}@example.org".replace("á", "a"),
            name=f"{first} {last}",
            attributes={"role": ROLES[n % len(ROLES)], "state": STATES[n % len(STATES)]},
            language="es" if n % SPANISH_READER_EVERY == 0 else "en",
            consent_source="demo",
            consent_at=moment,
            confirmed_at=moment,
        )
        session.add(subscriber)
        session.flush()
        # Everyone reads the trafficking topic; the rest spread across other topics.
        chosen = {topics[0].id, topics[1 + n % (len(topics) - 1)].id}
        session.add_all(
            Subscription(
                subscriber_id=subscriber.id,
                topic_id=topic_id,
                status=SubscriptionStatus.CONFIRMED,
                source="demo",
                confirmed_at=moment,
            )
            for topic_id in sorted(chosen)
        )
    session.flush()

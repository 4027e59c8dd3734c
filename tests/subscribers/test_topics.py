"""The public topic list the subscribe form reads: cached per process for a short while."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.db import Database
from subscribers.models import OptIn, TopicVisibility
from subscribers.topics import PublicTopics, TopicChoice
from tests.factories import make_topic


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_public_topics_are_plain_values_in_display_order(
    session: Session, database: Database
) -> None:
    make_topic(session, "digest", name="Digest", category="Digests", opt_in=OptIn.SINGLE)
    make_topic(session, "trafficking", name="Trafficking", category="Child welfare practice")
    make_topic(session, "staff-only", visibility=TopicVisibility.PRIVATE)
    session.commit()
    topics = PublicTopics(database, 0).get()
    assert [topic.slug for topic in topics] == ["trafficking", "digest"]
    assert isinstance(topics[1], TopicChoice) and topics[1].opt_in is OptIn.SINGLE


def test_a_change_shows_once_the_cached_list_is_older_than_its_seconds(
    session: Session, database: Database
) -> None:
    make_topic(session, "first")
    session.commit()
    clock = _Clock()
    topics = PublicTopics(database, 1.0, clock=clock)
    assert [topic.slug for topic in topics.get()] == ["first"]
    make_topic(session, "second")
    session.commit()
    clock.now += 0.5
    assert [topic.slug for topic in topics.get()] == ["first"]
    clock.now += 0.6
    assert [topic.slug for topic in topics.get()] == ["first", "second"]


def test_zero_seconds_reads_every_time(session: Session, database: Database) -> None:
    topics = PublicTopics(database, 0, clock=_Clock())
    assert topics.get() == ()
    make_topic(session, "new")
    session.commit()
    assert [topic.slug for topic in topics.get()] == ["new"]

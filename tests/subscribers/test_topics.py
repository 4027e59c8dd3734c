"""Topics: the public list the subscribe form reads (cached per process), and their labels."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import ValidationFailed
from subscribers.models import OptIn, TopicVisibility
from subscribers.topics import PublicTopics, TopicChoice, create_topic, update_topic
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


@pytest.mark.parametrize(
    ("name", "category", "message"),
    [
        ("Kin\ncare", "", "The topic name contains a line break (U+000A)"),
        ("Kin care", "Child\twelfare", "The topic category contains a tab (U+0009)"),
    ],
)
def test_topic_names_and_categories_are_single_lines(
    session: Session, name: str, category: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(message)):
        create_topic(session, "kin-care", name, category=category)
    topic = create_topic(session, "kin-care", "Kin care")
    with pytest.raises(ValidationFailed, match=re.escape(message)):
        update_topic(session, topic, {"name": name, "category": category})

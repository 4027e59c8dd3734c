"""Parse the public forms into typed values, with one message per field for the page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from subscribers.addresses import InvalidAddress, UnsupportedAddress, normalise_address
from subscribers.models import Topic
from subscribers.service import Preferences
from subscribers.topics import TopicChoice

#: A field people never see or fill in; bots that fill every input give themselves away.
HONEYPOT_FIELD = "website"


@dataclass
class SubscribeForm:
    """The subscribe form as typed, plus errors keyed by field name."""

    email: str = ""
    topic_ids: set[int] = field(default_factory=set)
    topics: list[TopicChoice] = field(default_factory=list)
    honeypot: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def _topic_ids(form: MultiDict[str, str]) -> set[int]:
    return {int(value) for value in form.getlist("topics") if value.isdigit()}


def parse_subscribe(
    form: MultiDict[str, str], public_topics: Sequence[TopicChoice], *, smtputf8: bool = False
) -> SubscribeForm:
    """Read the subscribe form; only public topics can be chosen."""
    parsed = SubscribeForm(email=form.get("email", "").strip(), topic_ids=_topic_ids(form))
    parsed.honeypot = bool(form.get(HONEYPOT_FIELD, "").strip())
    parsed.topics = [topic for topic in public_topics if topic.id in parsed.topic_ids]
    try:
        normalise_address(parsed.email, smtputf8=smtputf8)
    except UnsupportedAddress as error:
        parsed.errors["email"] = error.message
    except InvalidAddress:
        parsed.errors["email"] = (
            "Enter an email address in the format name@example.org."
            if parsed.email
            else "Enter an email address."
        )
    if not parsed.topics:
        parsed.errors["topics"] = "Choose at least one topic."
    return parsed


def parse_preferences(form: MultiDict[str, str], topics: Sequence[Topic]) -> Preferences:
    """Read the preferences form; ticks for topics the reader may not choose are ignored."""
    allowed = {topic.id for topic in topics}
    return Preferences(
        topic_ids=frozenset(_topic_ids(form) & allowed),
        language=form.get("language", "en"),
        timezone=form.get("timezone", ""),
        paused=form.get("paused") == "on",
    )

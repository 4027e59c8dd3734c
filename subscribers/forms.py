"""Parse the public forms into typed values, with one message per field for the page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from engine.i18n import current_language, supported
from subscribers.addresses import InvalidAddress, UnsupportedAddress, normalise_address
from subscribers.models import Frequency, Topic
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
    frequency: Frequency = Frequency.IMMEDIATELY
    #: The language of the emails; empty until chosen (the page offers its own).
    language: str = ""
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
    # A language the form does not offer (a copy of the form on another site) is the page's.
    parsed.language = supported(form.get("language")) or current_language()
    frequency = _frequency(form.get("frequency", ""))
    if frequency is None:
        parsed.errors["frequency"] = gettext("Choose how often you want to get emails.")
    else:
        parsed.frequency = frequency
    parsed.topics = [topic for topic in public_topics if topic.id in parsed.topic_ids]
    try:
        normalise_address(parsed.email, smtputf8=smtputf8)
    except UnsupportedAddress as error:
        parsed.errors["email"] = error.message
    except InvalidAddress:
        parsed.errors["email"] = (
            gettext("Enter an email address in the format name@example.org.")
            if parsed.email
            else gettext("Enter an email address.")
        )
    if not parsed.topics:
        parsed.errors["topics"] = gettext("Choose at least one topic.")
    return parsed


def _frequency(value: str) -> Frequency | None:
    """Read a frequency choice; empty is the default (each bulletin), anything else unknown."""
    if not value:
        return Frequency.IMMEDIATELY
    return Frequency(value) if value in set(Frequency) else None


def parse_preferences(form: MultiDict[str, str], topics: Sequence[Topic]) -> Preferences:
    """Read the preferences form; ticks for topics the reader may not choose are ignored.

    Each topic's frequency comes from its ``frequency-<id>`` select; an unknown value leaves
    the topic's frequency as it is.
    """
    allowed = {topic.id for topic in topics}
    frequencies = {}
    for topic_id in allowed:
        raw = form.get(f"frequency-{topic_id}")
        frequency = _frequency(raw) if raw else None
        if frequency is not None:
            frequencies[topic_id] = frequency
    return Preferences(
        topic_ids=frozenset(_topic_ids(form) & allowed),
        language=form.get("language", "en"),
        timezone=form.get("timezone", ""),
        paused=form.get("paused") == "on",
        frequencies=frequencies,
    )

"""The double opt-in confirmation email: a plain transactional message, not a campaign."""

from __future__ import annotations

from collections.abc import Sequence

from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.system import system_message
from engine.i18n import translations
from engine.render.system_emails import greeting
from subscribers.links import SubscriberLinks
from subscribers.models import Subscriber, Topic
from subscribers.topics import topic_text

SUBJECT = "Confirm your subscription"  # the English; readers get it in their language


def confirmation_message(
    settings: Settings,
    subscriber: Subscriber,
    topics: Sequence[Topic],
    links: SubscriberLinks | None = None,
) -> OutgoingMessage:
    """Build the confirmation email for ``subscriber`` and the topics waiting for it.

    ``links`` may be passed in to share its signer across a batch of messages.
    """
    links = links or SubscriberLinks.from_settings(settings)
    language = subscriber.language
    return system_message(
        settings,
        kind="confirmation",
        layout="confirmation",
        to_address=subscriber.email,
        to_name=subscriber.name,
        subject=translations(language).gettext(SUBJECT),
        language=language,
        fields={
            "greeting": greeting(subscriber.first_name, language),
            "topics": [topic_text(topic, language).name for topic in topics],
            "confirm_url": links.confirm(subscriber.id),
        },
    )

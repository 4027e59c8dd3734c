"""The double opt-in confirmation email: a plain transactional message, not a campaign."""

from __future__ import annotations

from collections.abc import Sequence

from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.system import system_message, system_template
from subscribers.links import SubscriberLinks
from subscribers.models import Subscriber, Topic

SUBJECT = "Confirm your subscription"


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
    context = {
        "subscriber": subscriber,
        "topics": topics,
        "confirm_url": links.confirm(subscriber.id),
        "subscribe_url": links.subscribe(),
        "postal_address": settings.POSTAL_ADDRESS,
    }
    return system_message(
        settings,
        kind="confirmation",
        to_address=subscriber.email,
        to_name=subscriber.name,
        subject=SUBJECT,
        html=system_template("confirm.html").render(context),
        text=system_template("confirm.txt").render(context),
    )

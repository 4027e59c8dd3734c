"""The double opt-in confirmation email: a plain transactional message, not a campaign."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.config import PROJECT_ROOT, Settings
from engine.delivery.base import OutgoingMessage
from subscribers.links import SubscriberLinks
from subscribers.models import Subscriber, Topic

#: Email templates render without a request: links come from ``BASE_URL``, never ``url_for``.
_templates = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
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
    domain = urlsplit(settings.BASE_URL).hostname or "localhost"
    message_id = f"<confirm.{subscriber.id}.{secrets.token_hex(8)}@{domain}>"
    return OutgoingMessage(
        delivery_id=0,
        to_address=subscriber.email,
        to_name=subscriber.name,
        from_address=settings.SENDER_ADDRESS,
        subject=SUBJECT,
        html=_templates.get_template("confirm.html").render(context),
        text=_templates.get_template("confirm.txt").render(context),
        headers={"Message-ID": message_id},
        categories=("confirmation",),
    )

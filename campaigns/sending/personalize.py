"""Personalize a campaign's frozen HTML and text for each recipient by substitution.

The frozen documents are split at their merge tags once per campaign per process; each
recipient then costs a ``''.join`` per part, a few HMACs for the links and its headers.
"""

from __future__ import annotations

import html
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from campaigns.sending.links import SendLinks
from campaigns.sending.list_headers import bulk_headers
from engine.config import Settings
from engine.delivery.base import OutgoingMessage, ResultStatus, SendResult
from engine.delivery.dsn import MessageIds
from engine.delivery.system import sender_domain
from engine.delivery.verp import ReturnPaths
from engine.render.merge import MergeTemplate
from engine.text_fields import control_character

log = logging.getLogger(__name__)

ONE_CLICK = "List-Unsubscribe=One-Click"
#: Builders kept per process: a digest run has one per variant, and its batches come variant
#: by variant, so this only needs to outlast one variant's batches.
_CACHE_SIZE = 16
_Built = TypeVar("_Built")


@dataclass(frozen=True, slots=True)
class Recipient:
    """The few columns of a delivery a message needs (read as Core rows, never ORM objects)."""

    delivery_id: int
    subscriber_id: int
    address: str
    name: str


@dataclass(frozen=True, slots=True)
class FrozenCampaign:
    """What a campaign froze at creation: enough to build every one of its messages."""

    id: int
    issue_slug: str
    subject: str
    from_address: str
    html: str
    text: str
    #: The series the issue belongs to (its layout), for ``List-Id`` and ``Feedback-ID``.
    publication: str = ""
    #: The campaign's first topic by position (``campaigns.sending.list_headers``).
    topic_slug: str = ""
    topic_name: str = ""
    #: The organisation's reply-to address (Settings page), if one is saved.
    reply_to: str = ""
    #: The ``CampaignVariant`` whose subject and documents these are (None: the campaign's).
    variant: int | None = None


class CampaignMessages:
    """Build the personalized messages of one campaign.

    ``issued_at`` (Unix seconds) dates the signed links instead of now: a message rebuilt later,
    such as the web view of the one sent, carries links that expire when the sent ones do.
    """

    def __init__(
        self, settings: Settings, campaign: FrozenCampaign, *, issued_at: int | None = None
    ) -> None:
        self.campaign = campaign
        self.html = MergeTemplate(campaign.html, escape=html.escape)
        self.text = MergeTemplate(campaign.text)
        self.keys = frozenset(self.html.keys) | frozenset(self.text.keys)
        self.links = SendLinks.for_campaign(
            settings, campaign.issue_slug, campaign.id, issued_at=issued_at
        )
        self.domain = sender_domain(campaign.from_address)
        self.message_ids = MessageIds(campaign.id, settings.SECRET_KEY, self.domain)
        self.mailto = _mailto(settings.UNSUBSCRIBE_MAILTO)
        self.bulk_headers = bulk_headers(
            campaign_id=campaign.id,
            topic_slug=campaign.topic_slug,
            topic_name=campaign.topic_name,
            publication=campaign.publication,
            domain=self.domain,
        )
        if campaign.reply_to:
            self.bulk_headers["Reply-To"] = campaign.reply_to
        self.return_paths = (
            ReturnPaths(settings.RETURN_PATH, settings.SECRET_KEY) if settings.RETURN_PATH else None
        )
        self.custom_campaign = str(campaign.id)
        #: Other forms of the same documents (e.g. a provider's template form), built lazily.
        self.extras: dict[str, object] = {}

    def values(self, recipient: Recipient, unsubscribe_url: str) -> dict[str, str]:
        """Return the merge values the documents use for ``recipient``."""
        sid = recipient.subscriber_id
        values = {
            "email": recipient.address,
            "name": recipient.name,
            "first_name": recipient.name.split()[0] if recipient.name.strip() else "",
            "unsubscribe_url": unsubscribe_url,
        }
        if "preferences_url" in self.keys:
            values["preferences_url"] = self.links.preferences(sid)
        if "webview_url" in self.keys:
            values["webview_url"] = self.links.webview(sid)
        return values

    def headers(self, recipient: Recipient, unsubscribe_url: str) -> dict[str, str]:
        """Return every header of ``recipient``'s message: their own, then the campaign's."""
        return {**self.recipient_headers(recipient, unsubscribe_url), **self.bulk_headers}

    def recipient_headers(self, recipient: Recipient, unsubscribe_url: str) -> dict[str, str]:
        """Return the stable Message-ID and the RFC 2369/8058 unsubscribe headers."""
        unsubscribe = f"<{unsubscribe_url}>"
        if self.mailto:
            unsubscribe += f", <{self.mailto}>"
        return {
            "Message-ID": self.message_ids.for_subscriber(recipient.subscriber_id),
            "List-Unsubscribe": unsubscribe,
            "List-Unsubscribe-Post": ONE_CLICK,
        }

    def message(self, recipient: Recipient, *, subject_prefix: str = "") -> OutgoingMessage:
        """Return the personalized message for ``recipient``; raise if it cannot be built."""
        check_recipient(recipient)
        unsubscribe_url = self.links.unsubscribe(recipient.subscriber_id)
        values = self.values(recipient, unsubscribe_url)
        return OutgoingMessage(
            delivery_id=recipient.delivery_id,
            to_address=recipient.address,
            to_name=recipient.name,
            from_address=self.campaign.from_address,
            subject=subject_prefix + self.campaign.subject,
            html=self.html.render(values),
            text=self.text.render(values),
            headers=self.headers(recipient, unsubscribe_url),
            custom_args={
                "campaign_id": self.custom_campaign,
                "delivery_id": str(recipient.delivery_id),
            },
            envelope_sender=self.return_path(recipient.delivery_id),
        )

    def return_path(self, delivery_id: int) -> str | None:
        """Return the delivery's own return path, or None to leave it to the backend."""
        # Test copies (ids below 1) are no delivery: their bounces have nothing to mark.
        if self.return_paths is None or delivery_id < 1:
            return None
        return self.return_paths.for_delivery(delivery_id)


def check_recipient(recipient: Recipient) -> None:
    """Raise ``ValueError`` if ``recipient``'s name cannot go into a To header."""
    # Names are checked where they enter, but older versions stored some with line breaks.
    if problem := control_character(recipient.name):
        raise ValueError(
            f"the subscriber's name contains {problem}; correct it on the subscriber's page"
        )


def build_each(
    recipients: Sequence[Recipient], build: Callable[[Recipient], _Built]
) -> tuple[list[_Built], list[SendResult]]:
    """Build each recipient's message; return those built and a failure for each one that raised.

    One reader's message that cannot be built (bad data stored long ago, a bug in one value)
    fails alone and for good: retrying would build it the same way, and the rest of the batch
    must still go.
    """
    built: list[_Built] = []
    failed: list[SendResult] = []
    for recipient in recipients:
        try:
            built.append(build(recipient))
        except Exception as error:
            # Whatever it is, it is this reader's alone. Only its type is logged: the message
            # may quote personal data, which stays in the database.
            log.warning(
                "delivery %s: message not built (%s)", recipient.delivery_id, type(error).__name__
            )
            reason = f"The message could not be built: {error}"
            failed.append(
                SendResult(recipient.delivery_id, ResultStatus.FAILED_PERMANENT, error=reason)
            )
    return built, failed


def _mailto(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return value if value.startswith("mailto:") else f"mailto:{value}?subject=unsubscribe"


class MessagesCache:
    """Keep the split templates of the last few campaigns this process sent (thread-safe)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[int, int | None], CampaignMessages] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: Settings, campaign: FrozenCampaign) -> CampaignMessages:
        """Return the messages builder of ``campaign``, building it on first use."""
        key = (campaign.id, campaign.variant)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.campaign != campaign:
                entry = CampaignMessages(settings, campaign)
                self._entries[key] = entry
                while len(self._entries) > _CACHE_SIZE:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return entry


messages_cache = MessagesCache()

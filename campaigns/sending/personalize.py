"""Personalize a campaign's frozen HTML and text for each recipient by substitution.

The frozen documents are split at their merge tags once per campaign per process; each
recipient then costs a ``''.join`` per part, a few HMACs for the links and its headers.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass

from campaigns.sending.links import SendLinks
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.dsn import MessageIds
from engine.delivery.system import sender_domain
from engine.render.merge import MergeTemplate

ONE_CLICK = "List-Unsubscribe=One-Click"
_CACHE_SIZE = 16


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


class CampaignMessages:
    """Build the personalized messages of one campaign."""

    def __init__(self, settings: Settings, campaign: FrozenCampaign) -> None:
        self.campaign = campaign
        self.html = MergeTemplate(campaign.html, escape=html.escape)
        self.text = MergeTemplate(campaign.text)
        self.keys = frozenset(self.html.keys) | frozenset(self.text.keys)
        self.links = SendLinks.for_campaign(settings, campaign.issue_slug, campaign.id)
        self.domain = sender_domain(campaign.from_address)
        self.message_ids = MessageIds(campaign.id, settings.SECRET_KEY, self.domain)
        self.mailto = _mailto(settings.UNSUBSCRIBE_MAILTO)
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
        """Return the personalized message for ``recipient``."""
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
        )


def _mailto(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return value if value.startswith("mailto:") else f"mailto:{value}?subject=unsubscribe"


class MessagesCache:
    """Keep the split templates of the last few campaigns this process sent (thread-safe)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[int, CampaignMessages] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: Settings, campaign: FrozenCampaign) -> CampaignMessages:
        """Return the messages builder of ``campaign``, building it on first use."""
        with self._lock:
            entry = self._entries.get(campaign.id)
            if entry is None or entry.campaign != campaign:
                entry = CampaignMessages(settings, campaign)
                self._entries[campaign.id] = entry
                while len(self._entries) > _CACHE_SIZE:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(campaign.id)
            return entry


messages_cache = MessagesCache()

"""Absolute links that go into emails: built from ``BASE_URL``, never from ``url_for``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.config import Settings
from subscribers.tokens import Purpose, TokenSigner


class Signer(Protocol):
    def sign(self, purpose: Purpose, subscriber_id: int, extra: str = "") -> str: ...


@dataclass(frozen=True, slots=True)
class SubscriberLinks:
    """Build the signed per-subscriber URLs of the public pages."""

    base_url: str
    #: ``TokenSigner``, or the send pipeline's faster signer that mints the same tokens.
    signer: Signer

    @classmethod
    def from_settings(cls, settings: Settings) -> SubscriberLinks:
        return cls(settings.BASE_URL, TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS))

    def unsubscribe(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        """Return the unsubscribe URL (GET shows a page; POST, including RFC 8058, acts)."""
        token = self.signer.sign(Purpose.UNSUBSCRIBE, subscriber_id, _extra(campaign_id))
        return f"{self.base_url}/unsubscribe/{token}"

    def preferences(self, subscriber_id: int) -> str:
        return f"{self.base_url}/preferences/{self.signer.sign(Purpose.PREFERENCES, subscriber_id)}"

    def confirm(self, subscriber_id: int) -> str:
        return f"{self.base_url}/confirm/{self.signer.sign(Purpose.CONFIRM, subscriber_id)}"

    def webview(
        self, issue_slug: str, subscriber_id: int | None = None, campaign_id: int | None = None
    ) -> str:
        """Return the web view of an issue; with a subscriber, the personal variant."""
        url = f"{self.base_url}/view/{issue_slug}"
        if subscriber_id is None:
            return url
        token = self.signer.sign(Purpose.WEBVIEW, subscriber_id, _extra(campaign_id))
        return f"{url}?t={token}"

    def subscribe(self) -> str:
        return f"{self.base_url}/subscribe"


def _extra(campaign_id: int | None) -> str:
    return "" if campaign_id is None else f"c{campaign_id}"

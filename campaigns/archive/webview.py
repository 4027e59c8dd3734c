"""The email of a sent issue as a web page: public, or personal from the link in each email."""

from __future__ import annotations

import html

from sqlalchemy.orm import Session

from campaigns.archive.service import PublishedIssue
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from engine.config import Settings
from engine.render.merge import MergeTemplate
from subscribers.models import Subscriber, SubscriberStatus
from subscribers.tokens import InvalidToken, Purpose, TokenSigner


def public_email_html(settings: Settings, published: PublishedIssue) -> str:
    """Return the sent email with neutral values: no one's name, address or personal links."""
    slug = published.issue.slug
    values = {
        "unsubscribe_url": f"{settings.BASE_URL}/subscribe",
        "preferences_url": f"{settings.BASE_URL}/subscribe",
        "webview_url": f"{settings.BASE_URL}/view/{slug}",
    }
    return MergeTemplate(published.html, escape=html.escape).render(values)


def token_reader(session: Session, settings: Settings, token: str) -> Subscriber | None:
    """Return the subscriber a web view link was made for (None for a bad or stale token)."""
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    try:
        subscriber_id, _purpose, _issued_at = signer.load_issued(Purpose.WEBVIEW, token)
    except InvalidToken:
        return None
    subscriber = session.get(Subscriber, subscriber_id)
    return (
        None if subscriber is None or subscriber.status == SubscriberStatus.ERASED else subscriber
    )


def personal_email_html(
    session: Session, settings: Settings, published: PublishedIssue, token: str
) -> str:
    """Return the email as ``token``'s subscriber received it (raises ``InvalidToken``).

    Its links are dated when ``token`` was signed, as in the email the token came from: opening
    the web view must not hand out fresh unsubscribe and preferences tokens, or an old or
    forwarded link would renew itself for ever.
    """
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    subscriber_id, _, issued_at = signer.load_issued(Purpose.WEBVIEW, token)
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        return public_email_html(settings, published)
    frozen = _frozen(published)
    messages = CampaignMessages(settings, frozen, issued_at=issued_at)
    recipient = Recipient(0, subscriber.id, subscriber.email, subscriber.name)
    values = messages.values(recipient, messages.links.unsubscribe(subscriber.id))
    return messages.html.render(values)


def _frozen(published: PublishedIssue) -> FrozenCampaign:
    campaign, variant = published.campaign, published.variant
    return FrozenCampaign(
        id=campaign.id,
        issue_slug=published.issue.slug,
        subject=variant.subject if variant else campaign.subject,
        from_address=campaign.from_address,
        html=published.html,
        text=variant.text if variant else campaign.text,
        variant=variant.number if variant else None,
    )

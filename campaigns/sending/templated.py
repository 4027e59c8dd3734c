"""Express a batch as SendGrid's template + substitutions: one body, small per-recipient values.

A 1,000-recipient batch then costs one request of a few hundred kilobytes instead of 1,000
personalized 27 KB bodies. SendGrid substitutes the same value into the HTML and the text
part, so values are escaped for HTML only where they need it (``&``, ``<``, ``>``: rare in
names and addresses, absent from our URLs), and tags with a fallback get their own names.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.sending.personalize import (
    CampaignMessages,
    Recipient,
    build_each,
    check_recipient,
)
from engine.delivery.base import SendResult, TemplateBatch, TemplateRecipient
from engine.render.merge import MERGE_TAG


@dataclass(frozen=True, slots=True)
class SendGridTemplate:
    """The campaign's documents with SendGrid tag names, and what each name stands for."""

    html: str
    text: str
    #: tag name -> (merge key, fallback already encoded for its document)
    tags: dict[str, tuple[str, str]]

    @classmethod
    def from_documents(cls, html_source: str, text_source: str) -> SendGridTemplate:
        tags: dict[str, tuple[str, str]] = {}
        html_doc = _rename(html_source, "h", tags)
        text_doc = _rename(text_source, "t", tags)
        return cls(html_doc, text_doc, tags)

    def substitutions(self, values: dict[str, str]) -> dict[str, str]:
        """Return one recipient's substitution for every tag name."""
        result = {}
        for name, (key, fallback) in self.tags.items():
            value = values.get(key) or ""
            result[name] = _escaped(value) if value else fallback
        return result


def _escaped(value: str) -> str:
    # Checking first is cheaper than escaping: links and most names have nothing to escape.
    if "&" in value or "<" in value or ">" in value:
        return html.escape(value, quote=False)
    return value


def _rename(source: str, document: str, tags: dict[str, tuple[str, str]]) -> str:
    def replace(match: object) -> str:
        key, fallback = match.group(1), match.group(2) or ""  # type: ignore[attr-defined]
        name = key if not fallback else f"{key}__{document}{len(tags)}"
        tags.setdefault(name, (key, fallback))
        return f"%%{name}%%"

    return MERGE_TAG.sub(replace, source)


def template_batch(
    builder: CampaignMessages, recipients: Sequence[Recipient]
) -> tuple[TemplateBatch, list[SendResult]]:
    """Return the batch in template form, with headers and ids per recipient.

    A recipient whose entry cannot be built is left out and returned as a permanent failure.
    """
    template = _template(builder)
    # One mapping shared by every entry of the batch; nothing downstream modifies it.
    custom_args = {"campaign_id": builder.custom_campaign}

    def entry(recipient: Recipient) -> TemplateRecipient:
        check_recipient(recipient)
        unsubscribe_url = builder.links.unsubscribe(recipient.subscriber_id)
        values = builder.values(recipient, unsubscribe_url)
        return TemplateRecipient(
            delivery_id=recipient.delivery_id,
            to_address=recipient.address,
            to_name=recipient.name,
            substitutions=template.substitutions(values),
            headers=builder.recipient_headers(recipient, unsubscribe_url),
            custom_args=custom_args,
        )

    entries, failed = build_each(recipients, entry)
    batch = TemplateBatch(
        from_address=builder.campaign.from_address,
        subject=builder.campaign.subject,
        html=template.html,
        text=template.text,
        recipients=entries,
        custom_args=custom_args,
        headers=builder.bulk_headers,
    )
    return batch, failed


def _template(builder: CampaignMessages) -> SendGridTemplate:
    # Kept on the builder, which the process caches per campaign.
    cached = builder.extras.get("sendgrid")
    if cached is None:
        cached = SendGridTemplate.from_documents(builder.campaign.html, builder.campaign.text)
        builder.extras["sendgrid"] = cached
    return cached  # type: ignore[return-value]

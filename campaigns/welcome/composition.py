"""What a welcome says: the approved issue, then what the reader signed up for and how to change it.

The issue's blocks go through the one renderer (``campaigns.rendering``) with a few blocks
added at the end: the topics, how often each arrives, and a button to the reader's preference
page. A welcome is compiled once per issue revision and set of topics and frequencies in a
round, then filled per reader like a campaign (``%%first_name%%``, ``%%preferences_url%%`` …).
The added words are in the welcome issue's language (English or Spanish), from the catalogues
in ``translations/``; callers name the topics in that language too
(``subscribers.topics.topic_text``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from babel.support import NullTranslations

from campaigns.content.document import (
    BulletItem,
    Bullets,
    Button,
    Divider,
    Heading,
    IssueContent,
    Paragraph,
)
from campaigns.issues.compiled import render_context
from campaigns.issues.service import read_content
from campaigns.rendering.markup import compile_merge_tags
from campaigns.rendering.render import RenderedIssue, render_issue
from campaigns.sending.personalize import ONE_CLICK
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.system import system_headers
from engine.i18n import translations
from engine.render.merge import MergeTemplate
from subscribers.links import SubscriberLinks
from subscribers.models import Frequency

KIND = "welcome"


@dataclass(frozen=True, slots=True)
class SignedUp:
    """One topic a reader signed up for and how often its bulletins reach them."""

    topic: str
    frequency: Frequency


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything one welcome needs, read in a transaction and sent after it ends."""

    delivery_id: int
    subscriber_id: int
    address: str
    name: str
    issue_slug: str
    issue_revision: int
    #: The approved revision's content, as stored.
    content: dict[str, Any]
    signed_up: tuple[SignedUp, ...]


def welcome_content(content: IssueContent, signed_up: Sequence[SignedUp]) -> IssueContent:
    """Return the issue's content with what the reader signed up for added at the end.

    The added words are in the issue's language (English or Spanish), like the rest of it.
    """
    words = translations(content.language)
    items = tuple(
        BulletItem(f"**{_markdown_text(item.topic)}**: {_how_often(words, item.frequency)}")
        for item in signed_up
    )
    added = (
        Divider("welcome-divider"),
        Heading("welcome-signed-up", words.gettext("What you signed up for"), level=2),
        Bullets("welcome-topics", items),
        Paragraph(
            "welcome-change",
            words.gettext(
                "You can choose other topics, get a daily or weekly digest instead, take a "
                "break or unsubscribe on your preferences page at any time."
            ),
        ),
        Button("welcome-preferences", words.gettext("Change what you get"), "%%preferences_url%%"),
    )
    return dataclasses.replace(content, blocks=(*content.blocks, *added))


def _how_often(words: NullTranslations, frequency: Frequency) -> str:
    """Say how often bulletins arrive, as the welcome says it."""
    if frequency is Frequency.DAILY:
        return words.gettext("one email a day with the day's bulletins")
    if frequency is Frequency.WEEKLY:
        return words.gettext("one email a week with the week's bulletins")
    return words.gettext("each bulletin as soon as it is sent")


def _markdown_text(text: str) -> str:
    # Topic names are staff's words, not Markdown: escape what Markdown would read, and keep
    # the percent signs of a merge tag apart (a word joiner) so no reader's value is filled in.
    escaped = "".join(f"\\{char}" if char in "\\`*_[]()#+-.!<>{}|" else char for char in text)
    return re.sub("%(?=%)", "%\u2060", escaped)


def render_welcome(
    settings: Settings, issue_slug: str, content: dict[str, Any], signed_up: Sequence[SignedUp]
) -> RenderedIssue:
    """Render a welcome once (also the staff preview): HTML and text that keep their merge tags."""
    draft = read_content(content)
    context = dataclasses.replace(
        render_context(settings, issue_slug),
        archive_url=f"{settings.BASE_URL}/archive",
        web_view=False,
    )
    return render_issue(welcome_content(draft.content, signed_up), context)


def message_id(settings: Settings, delivery_id: int) -> str:
    """Return the stable ``Message-ID`` of welcome delivery ``delivery_id``."""
    return _headers(settings, delivery_id)["Message-ID"]


def _headers(settings: Settings, delivery_id: int, reply_to: str = "") -> dict[str, str]:
    tag = hashlib.sha256(f"{settings.SECRET_KEY}:welcome:{delivery_id}".encode()).hexdigest()
    unique = f"{delivery_id}.{tag[:16]}"
    return system_headers(KIND, settings.SENDER_ADDRESS, unique=unique, reply_to=reply_to)


def welcome_message(
    settings: Settings,
    letter: Letter,
    rendered: RenderedIssue,
    *,
    links: SubscriberLinks,
    reply_to: str = "",
    mailto: str = "",
) -> OutgoingMessage:
    """Fill ``rendered`` for ``letter``'s reader and add a system email's headers."""
    unsubscribe_url = links.unsubscribe(letter.subscriber_id)
    values = {
        "email": letter.address,
        "name": letter.name,
        "first_name": letter.name.split()[0] if letter.name.strip() else "",
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": links.preferences(letter.subscriber_id),
        # No web page shows a welcome: any link to one goes to the archive.
        "webview_url": f"{settings.BASE_URL}/archive",
    }
    subject = str(read_content(letter.content).content.subject)
    headers = {
        **_headers(settings, letter.delivery_id, reply_to),
        "List-Unsubscribe": f"<{unsubscribe_url}>" + (f", <{mailto}>" if mailto else ""),
        "List-Unsubscribe-Post": ONE_CLICK,
    }
    return OutgoingMessage(
        # Not a campaign delivery: provider events must not be matched to one by this id.
        delivery_id=0,
        to_address=letter.address,
        to_name=letter.name,
        from_address=settings.SENDER_ADDRESS,
        subject=" ".join(MergeTemplate(compile_merge_tags(subject)).render(values).split()),
        html=MergeTemplate(rendered.html, escape=html.escape).render(values),
        text=MergeTemplate(rendered.text).render(values),
        headers=headers,
        categories=(KIND,),
    )

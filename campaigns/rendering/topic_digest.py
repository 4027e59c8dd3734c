"""Render a digest of bulletins through the one renderer: MJML, HTML, plain text and checks.

Pure, like the rest of rendering: the caller says which bulletins, under which topics, and
where their web views are. The layout (``templates/email/topic_digest.mjml.j2``) shares the
issues' head styles, header, footer and unsubscribe links, so branding matches theirs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from campaigns.rendering.checks import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES
from campaigns.rendering.layouts import environment
from campaigns.rendering.palette import palette_for
from campaigns.rendering.render import RenderContext, RenderedIssue
from engine.render.accessibility import CheckResult, HtmlFacts, Severity, check_html
from engine.render.mjml import compile_email
from engine.render.text import html_to_text

TEMPLATE = "topic_digest.mjml.j2"
#: The publication whose footer sentence digests carry (a key of the settings page).
PUBLICATION = "digests"


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One bulletin: its title, its summary (the issue's preheader) and its web view."""

    title: str
    summary: str
    url: str
    #: When it was sent, in words, in the organisation's zone.
    sent: str
    #: The bulletin's language when it is not the digest's (an English bulletin listed in a
    #: Spanish digest, having no edition): its title and summary are marked ``lang``.
    language: str = ""


@dataclass(frozen=True, slots=True)
class DigestSection:
    #: The topic's name in the digest's language.
    topic: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class DigestDocument:
    """What one variant of a digest says, in ``language``; ``layout`` names its footer
    sentence. The words the layout adds come from ``language``'s catalogue."""

    subject: str
    title: str
    kicker: str
    intro: str
    preheader: str
    cadence: str
    sections: tuple[DigestSection, ...]
    language: str = "en"
    layout: str = PUBLICATION


def render_topic_digest(document: DigestDocument, context: RenderContext) -> RenderedIssue:
    """Render ``document`` once; its HTML and text keep ``%%key%%`` merge tags for each reader."""
    context = dataclasses.replace(
        context,
        archive_url=context.absolute(context.archive_url),
        subscribe_url=context.absolute(context.subscribe_url),
    )
    source = (
        environment(document.language)
        .get_template(TEMPLATE)
        .render(
            content=document,
            context=context,
            theme=None,
            p=palette_for(None, context.branding.palette()),
            align="left",
            branding=context.branding,
        )
    )
    html = compile_email(source, default_lang=document.language)
    checks = [*check_html(html), *_check_compliance(html)]
    return RenderedIssue(mjml=source, html=html, text=html_to_text(html), checks=checks)


def _check_compliance(html: str) -> Iterator[CheckResult]:
    facts = HtmlFacts(html)
    if not any(href and "%%unsubscribe_url%%" in href for href, _ in facts.links):
        yield CheckResult(
            "unsubscribe_missing", Severity.ERROR, "the digest has no unsubscribe link"
        )
    if not facts.postal.strip():
        yield CheckResult(
            "postal_address_missing", Severity.ERROR, "the digest has no postal address"
        )
    size = len(html.encode("utf-8"))
    if size > SIZE_WARNING_BYTES:
        # A warning only: a long week is still worth sending; Gmail shows a "view entire
        # message" link past its clipping limit.
        clipped = "Gmail clips it" if size > GMAIL_CLIP_BYTES else "close to Gmail's clip"
        message = f"the digest's HTML is {size / 1024:.0f} KB ({clipped})"
        yield CheckResult("html_size", Severity.WARNING, message)

"""Compile a stored issue into its email with the service's identity (sender, address, links).

One renderer for the email, the editor's preview and the web view: ``campaigns.rendering``.
"""

from __future__ import annotations

import dataclasses
from email.utils import parseaddr
from typing import Any

from campaigns.content.document import content_from_dict
from campaigns.issues.models import Issue
from campaigns.issues.spam_score import spam_score_check
from campaigns.rendering.render import RenderContext, RenderedIssue, render_issue
from engine.config import Settings


def render_context(settings: Settings, issue_slug: str) -> RenderContext:
    """Return the rendering context (sender, postal address, absolute links) for an issue."""
    sender_name, sender_address = parseaddr(settings.SENDER_ADDRESS)
    return RenderContext(
        base_url=settings.BASE_URL,
        sender_name=sender_name or sender_address,
        sender_address=sender_address,
        postal_address=settings.POSTAL_ADDRESS,
        archive_url=f"{settings.BASE_URL}/view/{issue_slug}",
        subscribe_url=f"{settings.BASE_URL}/subscribe",
    )


def render_stored_issue(
    settings: Settings, issue: Issue, content: dict[str, Any] | None = None
) -> RenderedIssue:
    """Render ``issue`` (or ``content`` in its place, e.g. an unsaved draft or a revision)."""
    data = issue.content if content is None else content
    return render_issue(content_from_dict(data), render_context(settings, issue.slug))


def render_for_review(settings: Settings, issue: Issue) -> RenderedIssue:
    """Render ``issue`` for staff to review: the checks, and spamd's score where it is set up.

    The send path does not ask spamd: its score is advice, and sending must not wait on it.
    """
    content = content_from_dict(issue.content)
    rendered = render_issue(content, render_context(settings, issue.slug))
    if not settings.SPAMD_URL:
        return rendered
    score = spam_score_check(settings, content.subject, rendered)
    return dataclasses.replace(rendered, checks=[*rendered.checks, score])

"""Compile a stored issue into its email with the service's identity (sender, address, links).

One renderer for the email, the editor's preview and the web view: ``campaigns.rendering``.
A draft's problems come back as blocking checks, so review and sending refuse it, and its
other blocks still render (for the preview and test sends).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from email.utils import parseaddr
from typing import Any

from flask import has_app_context
from sqlalchemy.orm import object_session

from campaigns.content.document import Theme
from campaigns.content.drafts import Draft, Place, read_draft
from campaigns.content.reading import ContentError, Problem
from campaigns.issues.models import Issue
from campaigns.issues.service import read_content
from campaigns.issues.spam_score import spam_score_check
from campaigns.observances.service import find_observance
from campaigns.rendering.render import RenderContext, RenderedIssue, render_draft
from engine.config import Settings
from engine.errors import NotFound
from engine.organisation_cache import current_branding
from engine.render.branding import Branding


def render_context(
    settings: Settings, issue_slug: str, theme: Theme | None = None
) -> RenderContext:
    """Return the rendering context (sender, postal address, absolute links) for an issue.

    ``theme`` is the look an issue gets when its content names none (its observance's).
    """
    sender_name, sender_address = parseaddr(settings.SENDER_ADDRESS)
    return RenderContext(
        base_url=settings.BASE_URL,
        sender_name=sender_name or sender_address,
        sender_address=sender_address,
        postal_address=settings.POSTAL_ADDRESS,
        archive_url=f"{settings.BASE_URL}/view/{issue_slug}",
        subscribe_url=f"{settings.BASE_URL}/subscribe",
        branding=_branding(),
        theme=theme,
    )


def observance_theme(
    issue: Issue, slug: str | None = None, language: str | None = None
) -> Theme | None:
    """Return the colour and banner of the observance ``issue`` is written for, if any.

    ``slug`` and ``language`` stand in for the issue's own while it is being edited (the
    editor's preview of a choice not saved yet).
    """
    session = object_session(issue)
    slug = issue.observance_slug if slug is None else slug
    if session is None or not slug:
        return None
    try:
        observance = find_observance(session, slug)
    except NotFound:
        # A staff observance deleted since: the issue keeps the layout's own look.
        return None
    language = language or issue.language or "en"
    return Theme(accent=observance.colour.lower(), banner=observance.banner_in(language) or "")


def _branding() -> Branding:
    # Outside an application (benchmarks, one-off scripts) issues keep Pinwheel's own look.
    return current_branding() if has_app_context() else Branding()


def render_stored_issue(
    settings: Settings, issue: Issue, content: dict[str, Any] | None = None
) -> RenderedIssue:
    """Render ``issue`` (or ``content`` in its place, e.g. an unsaved draft or a revision)."""
    draft = read_content(issue.content if content is None else content)
    return render_draft(draft, render_context(settings, issue.slug, observance_theme(issue)))


def render_for_review(settings: Settings, issue: Issue) -> RenderedIssue:
    """Render ``issue`` for staff to review: the checks, and spamd's score where it is set up.

    The send path does not ask spamd: its score is advice, and sending must not wait on it.
    """
    draft = read_content(issue.content)
    rendered = render_draft(draft, render_context(settings, issue.slug, observance_theme(issue)))
    if not settings.SPAMD_URL:
        return rendered
    score = spam_score_check(settings, draft.content.subject, rendered)
    return dataclasses.replace(rendered, checks=[*rendered.checks, score])


def problem_checks(problems: Iterable[Problem], draft: Draft | None) -> list[dict[str, Any]]:
    """Turn content problems into blocking checks that name their block and field."""
    checks = []
    for problem in problems:
        place = draft.place(problem) if draft else Place(None, problem.path)
        checks.append(
            {
                "code": "invalid",
                "severity": "error",
                "block_id": place.block_id,
                "message": problem.message,
                "field": place.field,
            }
        )
    return checks


def issue_problems(issue: Issue) -> list[dict[str, Any]]:
    """Return the stored draft's problems as blocking checks (none once it is finished)."""
    try:
        draft = read_draft(issue.content)
    except ContentError as error:  # saved before null characters were refused
        return problem_checks(error.problems, None)
    return problem_checks(draft.problems, draft)

"""Editions in one send: a campaign of an issue with editions has one variant per language.

When a campaign is created, each approved, up-to-date edition of its issue is compiled once
and stored as a ``CampaignVariant`` keyed ``language:<code>``, beside a variant of the issue
itself. At the freeze each reader gets the variant of their language (``subscriber.language``
starting with the code), everyone else the issue's own; it is one audience, frozen by the one
``INSERT … SELECT`` of ``freeze_variants``, whose batches never mix two variants. An edition
that is not approved, is out of date or fails its checks is left out, with a warning, and its
readers get the original.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueStatus
from campaigns.sending.models import Campaign, CampaignVariant
from engine.config import Settings
from engine.text_fields import check_line
from subscribers.models import Subscriber

#: Prefix of a language variant's key; the rest is the language code.
KEY_PREFIX = "language:"


@dataclass(frozen=True, slots=True)
class LanguageVariant:
    number: int
    language: str


def language_key(language: str) -> str:
    """Return the variant key of ``language``."""
    return f"{KEY_PREFIX}{language}"


def language_variants(session: Session, campaign_id: int) -> list[LanguageVariant]:
    """Return the campaign's language variants (none for a campaign of one language)."""
    rows = session.execute(
        sa.select(CampaignVariant.number, CampaignVariant.key)
        .where(
            CampaignVariant.campaign_id == campaign_id,
            CampaignVariant.key.startswith(KEY_PREFIX, autoescape=True),
        )
        .order_by(CampaignVariant.number)
    )
    return [LanguageVariant(number, key.removeprefix(KEY_PREFIX)) for number, key in rows]


def reader_key(variants: list[LanguageVariant], default: str) -> sa.ColumnElement[str]:
    """Return the SQL expression of a subscriber's variant key: their language's, else ``default``.

    A language matches when the subscriber's starts with it (``es``, ``es-MX``, ``ES``).
    """
    language = sa.func.lower(sa.func.coalesce(Subscriber.language, ""))
    whens = [
        (language.like(f"{variant.language.lower()}%"), language_key(variant.language))
        for variant in variants
        if variant.language != default
    ]
    fallback = sa.literal(language_key(default))
    return sa.case(*whens, else_=fallback) if whens else fallback


def edition_warnings(session: Session, issue: Issue) -> list[str]:
    """Return why editions of ``issue`` would be left out of a campaign created now."""
    return [warning for _edition, warning in _editions(session, issue) if warning]


def edition_plan(session: Session, issue: Issue) -> list[str]:
    """Return, per edition of ``issue``, what a campaign created now does with it."""
    return [
        warning or f"{_name(edition)} readers get the {_name(edition)} edition (approved)."
        for edition, warning in _editions(session, issue)
    ]


def add_language_variants(
    session: Session, campaign: Campaign, issue: Issue, settings: Settings
) -> list[str]:
    """Store a variant per sendable edition of ``issue`` (and one of the issue itself).

    Returns the warnings of the editions left out. A campaign with no sendable edition gets
    no variant at all: it sends the issue's own documents, as before editions.
    """
    from campaigns.issues.compiled import observance_theme, render_context
    from campaigns.issues.service import read_content
    from campaigns.rendering.render import render_draft

    warnings: list[str] = []
    variants: list[CampaignVariant] = []
    for edition, warning in _editions(session, issue):
        if warning:
            warnings.append(warning)
            continue
        # Its permanent link is the edition's own web view (``campaigns.archive``).
        context = render_context(settings, edition.slug, observance_theme(edition))
        rendered = render_draft(read_content(edition.content), context)
        if rendered.errors:
            name = _name(edition)
            problems = "; ".join(check.message for check in rendered.errors)
            warnings.append(f"The {name} edition fails its pre-send checks ({problems}).")
            continue
        subject = edition.content.get("subject") or edition.title
        variants.append(
            CampaignVariant(
                key=language_key(edition.language),
                subject=check_line(subject, "The edition's subject", path="subject"),
                html=rendered.html,
                text=rendered.text,
                issue_id=edition.id,
            )
        )
    if not variants:
        return warnings
    own = CampaignVariant(
        key=language_key(issue.language),
        subject=campaign.subject,
        html=campaign.html,
        text=campaign.text,
        issue_id=issue.id,
    )
    for number, variant in enumerate([own, *variants], start=1):
        variant.campaign_id, variant.number = campaign.id, number
        session.add(variant)
    session.flush()
    return warnings


def _editions(session: Session, issue: Issue) -> list[tuple[Issue, str]]:
    from campaigns.issues.editions import is_out_of_date, list_editions

    found = []
    for edition in list_editions(session, issue):
        name, original = _name(edition), _name(issue)
        warning = ""
        if edition.status != IssueStatus.APPROVED:
            warning = f"The {name} edition is not approved: {name} readers get the {original}."
        elif is_out_of_date(edition):
            warning = (
                f"The {name} edition is out of date (the original changed after it was last "
                f"saved): {name} readers get the {original}."
            )
        found.append((edition, warning))
    return found


def _name(issue: Issue) -> str:
    return {"es": "Spanish", "en": "English"}.get(issue.language, issue.language)

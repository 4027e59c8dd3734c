"""Editions in one send: a campaign of an issue with editions has one variant per language.

When a campaign is created, each approved, up-to-date edition of its issue is compiled once
and stored as a ``CampaignVariant`` keyed ``language:<code>``, beside a variant of the issue
itself. At the freeze each reader gets the variant of their language (``subscriber.language``
starting with the code), everyone else the issue's own; it is one audience, frozen by the one
``INSERT … SELECT`` of ``freeze_variants``, whose batches never mix two variants. An edition
that is not approved, is out of date or fails its checks is left out, with a warning, and its
readers get the original.

The start asks again (``drop_stale_editions``), because an edition may change between the
campaign's creation and its start while its variant keeps the HTML compiled at creation. A
variant whose edition is no longer approved, was changed (its latest revision is not the one
the variant compiled, even if approved again) or is out of date is deleted before the freeze,
so its readers are frozen into the original's variant by the same one ``INSERT … SELECT``;
the start goes on for everyone else rather than being refused, as at creation, and the reason
is recorded for the campaign page and API (``edition_notices``). Refusing would hold back
every reader, and a scheduled send would wait for staff, over one language's text.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.revisions import find_revision
from campaigns.sending.models import Campaign, CampaignVariant
from engine import audit
from engine.config import Settings
from engine.text_fields import check_line
from subscribers.models import Subscriber

#: Prefix of a language variant's key; the rest is the language code.
KEY_PREFIX = "language:"
#: The audit action recording the editions a start left out, with the warnings staff see.
LEFT_OUT_ACTION = "campaign.editions_left_out"


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
                issue_revision=edition.revision,
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


def drop_stale_editions(session: Session, campaign: Campaign) -> list[str]:
    """Delete the variants of editions that may no longer go out; return why, per edition.

    Call it as the send starts, before the freeze: the readers of a deleted variant are then
    frozen into the original's. When no edition is left, the original's variant goes too, so
    the campaign sends its own documents as one without editions does. The warnings are
    recorded in the audit log for ``edition_notices``.
    """
    stale = _stale_variants(session, campaign)
    if not stale:
        return []
    numbers = [variant.number for variant, _warning in stale]
    session.execute(
        sa.delete(CampaignVariant).where(
            CampaignVariant.campaign_id == campaign.id, CampaignVariant.number.in_(numbers)
        )
    )
    if len(language_variants(session, campaign.id)) <= 1:
        session.execute(
            sa.delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)
        )
    warnings = [warning for _variant, warning in stale]
    audit.record(session, None, LEFT_OUT_ACTION, campaign, warnings=warnings)
    session.flush()
    return warnings


def edition_notices(session: Session, campaign: Campaign) -> list[str]:
    """Return the warnings about editions the campaign leaves out at its start.

    Before the start, those it would leave out if it started now; afterwards, those its
    start left out.
    """
    if campaign.started_at is None:
        return [warning for _variant, warning in _stale_variants(session, campaign)]
    details = session.scalars(
        sa.select(audit.AuditEntry.details).where(
            audit.AuditEntry.action == LEFT_OUT_ACTION,
            audit.AuditEntry.object_type == Campaign.__tablename__,
            audit.AuditEntry.object_id == str(campaign.id),
        )
    )
    return [str(warning) for entry in details for warning in entry.get("warnings", [])]


def _stale_variants(session: Session, campaign: Campaign) -> list[tuple[CampaignVariant, str]]:
    from campaigns.issues.editions import is_out_of_date

    variants = session.scalars(
        sa.select(CampaignVariant)
        .where(
            CampaignVariant.campaign_id == campaign.id,
            CampaignVariant.key.startswith(KEY_PREFIX, autoescape=True),
            CampaignVariant.issue_id.is_not(None),
            CampaignVariant.issue_id != campaign.issue_id,
        )
        .order_by(CampaignVariant.number)
    )
    stale = []
    for variant in variants:
        edition = session.get(Issue, variant.issue_id)
        if edition is None or campaign.issue is None:
            continue
        name, original = _name(edition), _name(campaign.issue)
        if edition.status != IssueStatus.APPROVED:
            reason = "is no longer approved (it was edited or returned to draft)"
        elif _changed_since(session, variant, edition, campaign):
            reason = "was changed after this campaign was created"
        elif is_out_of_date(edition):
            reason = f"is out of date (the {original} changed after it was last saved)"
        else:
            continue
        stale.append((variant, f"The {name} edition {reason}: {name} readers get the {original}."))
    return stale


def _changed_since(
    session: Session, variant: CampaignVariant, edition: Issue, campaign: Campaign
) -> bool:
    """Return whether the edition has a revision later than the one its variant compiled."""
    if variant.issue_revision is not None:
        return edition.revision != variant.issue_revision
    # A variant stored before its revision was: an approved revision is closed, so a revision
    # started since the campaign was created holds text it never compiled.
    latest = find_revision(session, edition.id, edition.revision)
    return latest is None or latest.started_at > campaign.created_at


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

"""Observances as staff see them: the shipped catalogue merged with staff-defined ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.observances.catalogue import (
    CATALOGUE_TOPICS,
    Observance,
    ObservanceSource,
    Occurrence,
    find,
    load_catalogue,
    observance_from_dict,
    observances_in_year,
)
from campaigns.observances.models import StaffObservance
from campaigns.observances.rules import ObservanceError, rule_to_dict
from engine.errors import NotFound, ValidationFailed
from subscribers.models import Topic


def staff_observances(session: Session, *, include_retired: bool = False) -> list[StaffObservance]:
    """Return the staff-defined observance rows, by name."""
    query = sa.select(StaffObservance).order_by(StaffObservance.name)
    if not include_retired:
        query = query.where(StaffObservance.retired.is_(False))
    return list(session.scalars(query))


def staff_observance_values(session: Session) -> list[Observance]:
    """Return the active staff observances as catalogue values (bad rows are left out)."""
    values = []
    for row in staff_observances(session):
        try:
            values.append(observance_from_dict(row.as_dict(), source=ObservanceSource.STAFF))
        except ObservanceError:
            continue
    return values


def all_observances(session: Session) -> list[Observance]:
    """Return the catalogue and the active staff observances, by name."""
    merged = [*load_catalogue(), *staff_observance_values(session)]
    return sorted(merged, key=lambda o: (o.name.lower(), o.slug))


def find_observance(session: Session, slug: str) -> Observance:
    """Return the catalogue or active staff observance ``slug``, or raise ``NotFound``."""
    try:
        return find(slug, all_observances(session))
    except ObservanceError as error:
        raise NotFound(str(error)) from None


def occurrences_in_year(session: Session, year: int) -> list[Occurrence]:
    """List every observance (catalogue and staff) whose window starts in ``year``."""
    return observances_in_year(year, staff_observance_values(session))


def get_staff_observance(session: Session, slug: str) -> StaffObservance:
    """Return the staff observance row ``slug`` (retired or not), or raise ``NotFound``."""
    row = session.scalar(sa.select(StaffObservance).where(StaffObservance.slug == slug))
    if row is None:
        raise NotFound(f"There is no staff observance {slug!r}.")
    return row


def add_observance(
    session: Session, data: Mapping[str, Any], *, created_by_id: int | None = None
) -> StaffObservance:
    """Validate ``data`` and store it as a new staff observance."""
    observance = _validated(session, data)
    slug = observance.slug
    taken = {o.slug for o in load_catalogue()} | set(
        session.scalars(sa.select(StaffObservance.slug))
    )
    if slug in taken:
        raise ValidationFailed(
            f"The slug {slug!r} is already used by another observance.",
            details={"slug": "already used"},
        )
    row = StaffObservance(slug=slug, created_by_id=created_by_id, retired=False)
    _copy(observance, row)
    session.add(row)
    session.flush()
    return row


def edit_observance(session: Session, slug: str, data: Mapping[str, Any]) -> StaffObservance:
    """Validate ``data`` and replace the editable fields of staff observance ``slug``."""
    row = get_staff_observance(session, slug)
    observance = _validated(session, {**data, "slug": slug})
    _copy(observance, row)
    session.flush()
    return row


def retire_observance(session: Session, slug: str) -> StaffObservance:
    """Take staff observance ``slug`` off the calendar; its slug stays reserved."""
    row = get_staff_observance(session, slug)
    row.retired = True
    session.flush()
    return row


def _validated(session: Session, data: Mapping[str, Any]) -> Observance:
    clean = {key: value for key, value in data.items() if value not in (None, "")}
    try:
        observance = observance_from_dict(clean, source=ObservanceSource.STAFF, label="(new)")
    except ObservanceError as error:
        raise ValidationFailed(_readable(str(error)), details={"observance": str(error)}) from None
    known = CATALOGUE_TOPICS | set(session.scalars(sa.select(Topic.slug)))
    if observance.topic not in known:
        raise ValidationFailed(
            f"The topic {observance.topic!r} does not exist.", details={"topic": "unknown topic"}
        )
    return observance


def _readable(message: str) -> str:
    # "observance 'x': rule.month: must be …" → "rule.month: must be …"
    head, _, rest = message.partition(": ")
    return rest if head.startswith("observance ") and rest else message


def _copy(observance: Observance, row: StaffObservance) -> None:
    row.name = observance.name
    row.kind = observance.kind.value
    row.rule = rule_to_dict(observance.rule)
    row.region = observance.region
    row.description = observance.description
    row.topic = observance.topic
    row.colour = observance.colour
    row.banner = observance.banner

"""The organisation's settings as each process sees them: read once, then kept.

``get_settings()`` runs on every page and every send batch, so reading the settings must cost
nothing: each application keeps one snapshot (the values in force, the `Settings` with them
applied, the emails' branding). A commit that changed a setting renews it in this process at
once; other processes (web workers, send workers) look at the table again at most once every
`REFRESH_SECONDS`, one small query, and keep their snapshot while the rows are unchanged.
Campaigns freeze their HTML and sender when they are created, so a send in progress never
changes its look midway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db import Database
from engine.organisation import Catalogue, Organisation, Publication
from engine.organisation_store import CHANGED, OrganisationSetting
from engine.render.branding import Branding

log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0
_SNAPSHOT = "pinwheel.organisation"
_PUBLICATIONS = "pinwheel.publications"
#: Counts this process's commits that changed a setting; a snapshot from before is renewed.
_commits = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    base: Settings
    publications: tuple[Publication, ...]
    rows: tuple[tuple[str, str], ...]
    organisation: Organisation
    settings: Settings
    branding: Branding
    read_at: float
    commits: int


def register_publications(app: Flask, publications: Iterable[tuple[str, str]]) -> None:
    """Declare the kinds of issue (key, label) that each get a footer sentence."""
    known = app.extensions.setdefault(_PUBLICATIONS, [])
    known.extend(Publication(key, label) for key, label in publications)
    app.extensions.pop(_SNAPSHOT, None)


def catalogue(app: Flask | None = None) -> Catalogue:
    """Return the settings there are, with the environment's values as defaults."""
    app = app or current_app
    base = app.extensions["pinwheel.settings"]
    return Catalogue(base, tuple(app.extensions.get(_PUBLICATIONS, ())))


def current_organisation(app: Flask | None = None) -> Organisation:
    """Return the organisation's settings in force."""
    return _snapshot(app or current_app).organisation


def current_branding(app: Flask | None = None) -> Branding:
    """Return what emails show of the organisation (name, logo, colours, footer sentences)."""
    return _snapshot(app or current_app).branding


def effective_settings(app: Flask) -> Settings:
    """Return the environment's settings with the organisation's sender, address and zone."""
    return _snapshot(app).settings


def _snapshot(app: Flask) -> Snapshot:
    snapshot: Snapshot | None = app.extensions.get(_SNAPSHOT)
    base = app.extensions["pinwheel.settings"]
    clock = time.monotonic()
    if (
        snapshot is not None
        and snapshot.base is base
        and snapshot.commits == _commits
        and clock - snapshot.read_at < REFRESH_SECONDS
    ):
        return snapshot
    commits = _commits
    database = app.extensions.get("pinwheel.db")
    if database is None:  # still inside create_app: nothing to keep yet
        return _build(app, base, (), clock, commits, None)
    rows = _read_rows(database)
    if rows is None:  # no table yet, or the database failed: keep what we had, else the defaults
        rows = snapshot.rows if snapshot is not None and snapshot.base is base else ()
    fresh = _build(app, base, rows, clock, commits, snapshot)
    app.extensions[_SNAPSHOT] = fresh
    return fresh


def _build(
    app: Flask,
    base: Settings,
    rows: tuple[tuple[str, str], ...],
    clock: float,
    commits: int,
    previous: Snapshot | None,
) -> Snapshot:
    publications = tuple(app.extensions.get(_PUBLICATIONS, ()))
    if (
        previous is not None
        and previous.base is base
        and previous.rows == rows
        and previous.publications == publications
    ):
        # Unchanged: the same objects, so what pages keep per snapshot stays valid.
        return Snapshot(
            base, publications, rows, previous.organisation, previous.settings,
            previous.branding, clock, commits,
        )  # fmt: skip
    organisation = Catalogue(base, publications).resolve(dict(rows))
    return Snapshot(
        base,
        publications,
        rows,
        organisation,
        organisation.applied_to(base),
        organisation.branding(base.BASE_URL),
        clock,
        commits,
    )


def _read_rows(database: Database) -> tuple[tuple[str, str], ...] | None:
    table = OrganisationSetting.__table__
    query = sa.select(table.c.key, table.c.value).order_by(table.c.key)
    try:
        with database.read_engine.connect() as connection:
            if not sa.inspect(connection).has_table(table.name):
                # Before `pinwheel db upgrade` (its own start included): nothing to read yet.
                return None
            return tuple((key, value) for key, value in connection.execute(query))
    except sa.exc.SQLAlchemyError as error:
        # The database is away: the environment's values still let pages and error pages
        # render.
        log.warning("organisation settings unavailable, using the defaults: %s", error)
        return None


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    global _commits
    if session.info.pop(CHANGED, False):
        _commits += 1


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)

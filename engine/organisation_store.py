"""Where the organisation's settings are kept: one row per setting that differs from its default."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import now
from engine.db import Base

#: Set on a session that changed a setting; its commit tells this process's cache.
CHANGED = "pinwheel.organisation_changed"


class OrganisationSetting(Base):
    __tablename__ = "organisation_setting"

    #: A setting's name (``organisation_name``, ``footer.spotlight`` …), as in ``FIELDS``.
    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    #: Staff email, or ``cli``.
    updated_by: Mapped[str] = mapped_column(sa.String(254))


def saved_values(session: Session) -> dict[str, str]:
    """Return every saved setting by name."""
    rows = session.execute(sa.select(OrganisationSetting.key, OrganisationSetting.value))
    return {key: value for key, value in rows.tuples()}


def write_values(session: Session, values: Mapping[str, str], *, actor: str) -> None:
    """Store ``values`` (an empty value deletes the row: back to the default) and flush."""
    cleared = [key for key, value in values.items() if not value]
    if cleared:
        session.execute(sa.delete(OrganisationSetting).where(OrganisationSetting.key.in_(cleared)))
    for key, value in values.items():
        if value:
            session.execute(_upsert(session, key, value, actor))
    session.flush()
    session.info[CHANGED] = True


def _upsert(session: Session, key: str, value: str, actor: str) -> sa.Executable:
    # An insert that becomes an update, so two admins saving at once never collide on the key.
    row = {"key": key, "value": value, "updated_at": now(), "updated_by": actor}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OrganisationSetting).values(**row)
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"value": value, "updated_at": row["updated_at"], "updated_by": actor},
    )

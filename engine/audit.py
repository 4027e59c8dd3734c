"""The audit log: who did what to which object and when, filterable and exportable by staff."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, has_request_context, render_template, request
from flask_login import current_user
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.auth import roles_required
from engine.clock import now
from engine.db import Base, request_session
from engine.users import Role, StaffUser
from engine.web import add_admin_nav

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE_SIZE = 100
EXPORT_LIMIT = 50_000


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_at", "at"),
        sa.Index("ix_audit_entry_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    #: Staff user id (when a person acted), kept beside the readable name below.
    actor_id: Mapped[int | None]
    #: Staff email (also for API requests: a token acts as its user), ``cli`` or ``system``.
    actor: Mapped[str] = mapped_column(sa.String(254))
    #: Dotted verb such as ``issue.save``, ``issue.approve``, ``campaign.send``.
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(80), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


def _actor_fields(actor: StaffUser | str | None) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, actor.email


def _target_fields(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    return type(target).__tablename__, str(getattr(target, "id", ""))


def record(
    session: Session, actor: Any, action: str, target: Any = None, **details: Any
) -> AuditEntry:
    """Add an audit entry; the caller's transaction commits it with the change it describes.

    ``actor`` is a ``StaffUser`` (also when acting through an API token, whose id the entry
    then records as ``api_token``, so staff know which token to revoke), a string such as
    ``cli``, or ``None`` (the system);
    ``target`` is a mapped object with an ``id`` or an ``(object_type, object_id)`` pair.
    """
    token = g.get("api_token") if has_request_context() else None
    if token is not None:
        details = {**details, "api_token": token.id}
    actor_id, actor_name = _actor_fields(actor)
    object_type, object_id = _target_fields(target)
    entry = AuditEntry(
        at=now(),
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=json.loads(json.dumps(details, default=str)),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What staff narrowed the log to; empty fields do not filter."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, args: Any) -> AuditFilter:
        """Read the filter from query-string arguments, ignoring malformed dates."""
        return cls(
            actor=args.get("actor", "").strip(),
            action=args.get("action", "").strip(),
            object_type=args.get("object_type", "").strip(),
            object_id=args.get("object_id", "").strip(),
            since=_date(args.get("since", "")),
            until=_date(args.get("until", "")),
        )

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """Return ``query`` narrowed to the entries this filter selects."""
        if self.actor:
            query = query.where(AuditEntry.actor.ilike(f"%{self.actor}%"))
        if self.action:
            query = query.where(AuditEntry.action.startswith(self.action))
        if self.object_type:
            query = query.where(AuditEntry.object_type == self.object_type)
        if self.object_id:
            query = query.where(AuditEntry.object_id == self.object_id)
        if self.since:
            query = query.where(AuditEntry.at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), time(), UTC)
            query = query.where(AuditEntry.at < end)
        return query


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def find_entries(
    session: Session, criteria: AuditFilter, *, limit: int, offset: int = 0
) -> list[AuditEntry]:
    """Return the newest entries matching ``criteria``."""
    query = criteria.apply(sa.select(AuditEntry)).order_by(
        AuditEntry.at.desc(), AuditEntry.id.desc()
    )
    return list(session.scalars(query.limit(limit).offset(offset)))


def entries_csv(entries: list[AuditEntry]) -> str:
    """Return ``entries`` as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["at", "actor", "action", "object_type", "object_id", "details"])
    for entry in entries:
        writer.writerow(
            [
                entry.at.isoformat(),
                _safe_cell(entry.actor),
                entry.action,
                entry.object_type,
                entry.object_id,
                _safe_cell(json.dumps(entry.details, sort_keys=True)),
            ]
        )
    return buffer.getvalue()


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ runs as a formula when the export is opened in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@bp.get("/")
@roles_required(Role.EDITOR, Role.APPROVER)
def index() -> str:
    criteria = AuditFilter.from_args(request.args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries = find_entries(
        request_session(), criteria, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "audit/index.html",
        entries=entries[:PAGE_SIZE],
        criteria=criteria,
        page=page,
        has_next=len(entries) > PAGE_SIZE,
        query=request.args.to_dict(),
    )


@bp.get("/export.csv")
@roles_required(Role.EDITOR, Role.APPROVER)
def export() -> Response:
    criteria = AuditFilter.from_args(request.args)
    entries = find_entries(request_session(), criteria, limit=EXPORT_LIMIT)
    stamp = now().strftime("%Y%m%d-%H%M%S")
    return Response(
        entries_csv(entries),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


def current_actor() -> Any:
    """Return the signed-in staff user for ``record`` (``None`` outside a request)."""
    return current_user if current_user and current_user.is_authenticated else None


def init_app(app: Flask) -> None:
    """Register the audit log page."""
    app.register_blueprint(bp)
    add_admin_nav(
        app,
        "audit.index",
        "Audit log",
        group="Administration",
        roles=(Role.EDITOR, Role.APPROVER),
        position=40,
    )

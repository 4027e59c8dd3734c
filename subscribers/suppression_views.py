"""Staff pages for the suppression list: browse, add with a reason, lift."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import audit
from engine.auth import roles_required
from engine.db import request_session
from engine.users import Role
from engine.web import add_admin_nav, get_settings
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.models import Suppression, SuppressionReason
from subscribers.suppression import lift_suppression, suppress
from subscribers.views import STAFF

bp = Blueprint("suppressions", __name__, url_prefix="/admin/suppressions")
PAGE_SIZE = 100
#: Reasons staff may choose; the others come from readers and providers.
STAFF_REASONS = (SuppressionReason.MANUAL, SuppressionReason.BOUNCE, SuppressionReason.COMPLAINT)


@bp.get("/")
@roles_required(*STAFF)
def index() -> str:
    after = request.args.get("after", type=int)
    query = sa.select(Suppression).order_by(Suppression.id.desc()).limit(PAGE_SIZE + 1)
    prefix = request.args.get("q", "").strip().lower()
    if prefix:
        query = query.where(Suppression.address.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(Suppression.id < after)
    rows = list(request_session().scalars(query))
    next_after = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template(
        "subscribers/suppressions.html",
        entries=rows[:PAGE_SIZE],
        next_after=next_after,
        q=prefix,
        reasons=STAFF_REASONS,
    )


@bp.post("/")
@roles_required(Role.EDITOR)
def add() -> Response:
    session = request_session()
    reason = request.form.get("reason", SuppressionReason.MANUAL)
    try:
        address = normalise_address(
            request.form.get("address", ""), smtputf8=get_settings().SMTPUTF8
        )
    except InvalidAddress as error:
        flash(error.message, "error")
        return redirect(url_for(".index"))
    if reason not in STAFF_REASONS:
        reason = SuppressionReason.MANUAL
    note = request.form.get("note", "").strip()[:1000]
    entry = suppress(
        session, address, SuppressionReason(reason), source=f"staff:{current_user.id}", note=note
    )
    audit.record(session, current_user, "suppression.add", entry, reason=reason, note=note)
    session.commit()
    flash(f"{address} is suppressed.", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:entry_id>/lift")
@roles_required(Role.EDITOR)
def lift(entry_id: int) -> Response:
    session = request_session()
    entry = session.get(Suppression, entry_id)
    if entry is None or entry.address is None:
        flash("That entry cannot be lifted (erased addresses stay suppressed).", "error")
        return redirect(url_for(".index"))
    note = request.form.get("note", "").strip()[:1000]
    address = entry.address
    audit.record(session, current_user, "suppression.lift", entry, reason=entry.reason, note=note)
    lift_suppression(session, address, source=f"staff:{current_user.id}", note=note)
    session.commit()
    flash(f"{address} may be mailed again once it subscribes.", "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    """Register the suppression pages."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "suppressions.index", "Suppressions", group="Audience", roles=STAFF, position=40
    )

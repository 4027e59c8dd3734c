"""Staff report pages: one campaign's report, its CSV export and the comparison dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Flask, Response, render_template

from campaigns.events.chart import STACK, timeline_chart
from campaigns.events.feedback import backend_feedback
from campaigns.events.reports import SERIES, campaign_report, recent_reports, report_csv_rows
from engine.auth import roles_required
from engine.db import request_session
from engine.users import Role
from engine.web import add_admin_nav, get_settings

bp = Blueprint("reports", __name__, url_prefix="/admin")
#: Every staff role may read reports (admins hold every role).
STAFF = (Role.EDITOR, Role.APPROVER)
#: Spreadsheet programs run cells starting with these as formulas.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/campaigns/<int:campaign_id>/report")
@roles_required(*STAFF)
def campaign(campaign_id: int) -> str:
    report = campaign_report(request_session(), campaign_id)
    return render_template(
        "reports/campaign.html",
        report=report,
        feedback=backend_feedback(get_settings(), report.counts),
        chart=timeline_chart(report.timeline),
        stack=STACK,
        series=SERIES,
    )


@bp.get("/campaigns/<int:campaign_id>/report.csv")
@roles_required(*STAFF)
def campaign_csv(campaign_id: int) -> Response:
    report = campaign_report(request_session(), campaign_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in report_csv_rows(report):
        writer.writerow([_safe_cell(cell) for cell in row])
    filename = f"campaign-{campaign_id}-report.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


@bp.get("/reports")
@roles_required(*STAFF)
def dashboard() -> str:
    return render_template("reports/index.html", rows=recent_reports(request_session()))


def init_app(app: Flask) -> None:
    """Register the report pages and their navigation entry."""
    app.register_blueprint(bp)
    add_admin_nav(app, "reports.dashboard", "Reports", group="Insights", roles=STAFF, position=10)

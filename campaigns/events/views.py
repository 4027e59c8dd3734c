"""Staff report pages: a campaign's report and CSV export, a topic's comparison, the dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request

from campaigns.events.chart import (
    COMPARISON_SERIES,
    comparison_columns,
    day_columns,
    hour_columns,
    small_multiples,
    timeline_series,
)
from campaigns.events.comparison import compared_topics, topic_comparison
from campaigns.events.feedback import backend_feedback
from campaigns.events.reports import campaign_report, recent_reports, report_csv_rows
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
    settings = get_settings()
    report = campaign_report(request_session(), campaign_id, settings.TIMEZONE)
    timeline, zone = report.timeline, settings.TIMEZONE
    series = timeline_series(timeline.series())
    return render_template(
        "reports/campaign.html",
        report=report,
        feedback=backend_feedback(settings, report.counts),
        zone=zone,
        hours_chart=small_multiples(hour_columns(timeline.hours, zone), series),
        days_chart=small_multiples(day_columns(timeline.days, zone), series),
    )


@bp.get("/campaigns/<int:campaign_id>/report.csv")
@roles_required(*STAFF)
def campaign_csv(campaign_id: int) -> Response:
    report = campaign_report(request_session(), campaign_id, get_settings().TIMEZONE)
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
    session = request_session()
    return render_template(
        "reports/index.html", rows=recent_reports(session), topics=compared_topics(session)
    )


@bp.get("/reports/topics/<slug>")
@roles_required(*STAFF)
def topic(slug: str) -> str:
    comparison = topic_comparison(request_session(), slug)
    chart = small_multiples(
        comparison_columns(comparison, get_settings().TIMEZONE), COMPARISON_SERIES
    )
    return render_template(
        "reports/topic.html",
        comparison=comparison,
        chart=chart,
        zone=get_settings().TIMEZONE,
        # The report the reader came from, marked in the table.
        current=request.args.get("campaign", type=int),
    )


def init_app(app: Flask) -> None:
    """Register the report pages and their navigation entry."""
    app.register_blueprint(bp)
    add_admin_nav(app, "reports.dashboard", "Reports", group="Insights", roles=STAFF, position=10)

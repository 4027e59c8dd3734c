"""Staff pages for observances: the merged list, and add, edit and retire staff-defined ones."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from campaigns.observances.catalogue import ObservanceKind
from campaigns.observances.rules import RuleType, Weekday
from campaigns.observances.service import (
    add_observance,
    all_observances,
    edit_observance,
    get_staff_observance,
    retire_observance,
    staff_observances,
)
from engine.auth import roles_required
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.users import Role
from engine.web import add_admin_nav

bp = Blueprint("observances", __name__, url_prefix="/admin/observances")
FORM_RULE_TYPES = (
    RuleType.MONTH,
    RuleType.FIXED_DATE,
    RuleType.FIXED_RANGE,
    RuleType.NTH_WEEKDAY,
    RuleType.PER_YEAR,
)


@bp.get("/")
@roles_required(Role.EDITOR, Role.APPROVER)
def index() -> str:
    session = request_session()
    return render_template(
        "observances/index.html",
        observances=all_observances(session),
        staff=staff_observances(session, include_retired=True),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.EDITOR)
def new() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return _form(MultiDict({"region": "US", "kind": "month", "rule_type": "month"}))
    session = request_session()
    try:
        row = add_observance(session, form_to_data(request.form), created_by_id=current_user.id)
    except ValidationFailed as error:
        return _form(request.form, error=error.message), 422
    session.commit()
    flash(f"Added {row.name}.", "info")
    return redirect(url_for("observances.index"))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.EDITOR)
def edit(slug: str) -> str | Response | tuple[str, int]:
    session = request_session()
    row = get_staff_observance(session, slug)
    if request.method == "GET":
        return _form(data_to_form(row.as_dict()), slug=slug)
    try:
        edit_observance(session, slug, form_to_data(request.form))
    except ValidationFailed as error:
        return _form(request.form, slug=slug, error=error.message), 422
    session.commit()
    flash(f"Saved {row.name}.", "info")
    return redirect(url_for("observances.index"))


@bp.post("/<slug>/retire")
@roles_required(Role.EDITOR)
def retire(slug: str) -> Response:
    session = request_session()
    row = retire_observance(session, slug)
    session.commit()
    flash(f"Retired {row.name}; it no longer appears on the calendar.", "info")
    return redirect(url_for("observances.index"))


def _form(values: MultiDict[str, str], *, slug: str | None = None, error: str = "") -> str:
    return render_template(
        "observances/form.html",
        values=values,
        slug=slug,
        error=error,
        kinds=list(ObservanceKind),
        rule_types=FORM_RULE_TYPES,
        weekdays=list(Weekday),
    )


def form_to_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """Turn the observance form into the plain-dict form (the service validates it)."""
    text = {
        name: form.get(name, "").strip()
        for name in ("slug", "name", "kind", "region", "description", "topic", "colour", "banner")
    }
    return {**text, "rule": _rule_from_form(form)}


def _rule_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    rule_type = form.get("rule_type", "")
    number = {
        name: _number(form.get(name, ""))
        for name in ("month", "day", "days", "end_month", "end_day", "n")
    }
    if rule_type == RuleType.FIXED_RANGE:
        return {
            "type": rule_type,
            "start_month": number["month"],
            "start_day": number["day"],
            "end_month": number["end_month"],
            "end_day": number["end_day"],
        }
    if rule_type == RuleType.PER_YEAR:
        return {"type": rule_type, "dates": _dates(form.get("dates", ""))}
    fields = {
        "month": ("month",),
        "fixed-date": ("month", "day", "days"),
        "nth-weekday": ("month", "n", "days"),
    }.get(rule_type, ())
    rule: dict[str, Any] = {"type": rule_type}
    rule.update({name: number[name] for name in fields if number[name] != ""})
    if rule_type == RuleType.NTH_WEEKDAY:
        rule["weekday"] = form.get("weekday", "")
    return rule


def _number(raw: str) -> int | str:
    raw = raw.strip()
    if raw == "last":
        return raw
    return int(raw) if raw.isdigit() else raw


def _dates(raw: str) -> list[dict[str, str]]:
    entries = []
    for line in raw.splitlines():
        if line.strip():
            start, _, end = line.strip().partition(" to ")
            entries.append({"start": start.strip(), "end": (end or start).strip()})
    return entries


def data_to_form(data: dict[str, Any]) -> MultiDict[str, str]:
    """Turn a stored observance back into form values."""
    rule = data.get("rule", {})
    values = {key: str(value) for key, value in data.items() if key != "rule"}
    values["rule_type"] = rule.get("type", "")
    values["month"] = str(rule.get("month", rule.get("start_month", "")))
    values["day"] = str(rule.get("day", rule.get("start_day", "")))
    for name in ("days", "end_month", "end_day", "n", "weekday"):
        values[name] = str(rule.get(name, ""))
    values["dates"] = "\n".join(f"{d['start']} to {d['end']}" for d in rule.get("dates", []))
    return MultiDict(values)


def init_app(app: Flask) -> None:
    """Register the observance pages."""
    app.register_blueprint(bp)
    add_admin_nav(
        app,
        "observances.index",
        "Observances",
        group="Content",
        roles=(Role.EDITOR, Role.APPROVER),
        position=50,
    )

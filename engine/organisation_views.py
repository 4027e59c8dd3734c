"""The admins' settings page (``/admin/settings/``) and the ``organisation`` of every template."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.auth import roles_required
from engine.db import request_session
from engine.errors import ValidationFailed
from engine.media import MAX_IMAGE_BYTES
from engine.organisation import Kind, Section
from engine.organisation_cache import catalogue, current_organisation
from engine.organisation_settings import LogoUpload, change_settings
from engine.users import Role
from engine.web import NavGroup, add_admin_nav, get_settings

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")
#: Prefix of the hidden fields that hold each value as the page showed it: only fields the admin
#: edited are saved, so a page opened before someone else's change never reverts it.
SHOWN = "shown."


def _page(
    status: int = 200,
    *,
    error: ValidationFailed | None = None,
    entered: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    organisation = current_organisation()
    sections = [
        (section, [f for f in organisation.fields if f.section == section]) for section in Section
    ]
    body = render_template(
        "admin/settings/index.html",
        sections=[(section, fields) for section, fields in sections if fields],
        current=organisation,
        logo=organisation.logo(get_settings().BASE_URL),
        entered=entered or {},
        error=error,
        problems=error.details if error and isinstance(error.details, dict) else {},
        max_logo_mb=MAX_IMAGE_BYTES // 1_048_576,
        shown_prefix=SHOWN,
    )
    return body, status


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> tuple[str, int]:
    return _page()


@bp.post("/")
@roles_required(Role.ADMIN)
def save() -> Response | tuple[str, int]:
    session = request_session()
    form = request.form
    settings = catalogue()
    changes = {
        f.key: form[f.key]
        for f in settings.fields
        if f.kind != Kind.LOGO and f.key in form and form[f.key] != form.get(f"{SHOWN}{f.key}")
    }
    logo = _uploaded_logo()
    if logo is None and form.get("remove_logo"):
        changes["logo"] = ""
    try:
        changed = change_settings(session, settings, changes, actor=current_user, logo=logo)
    except ValidationFailed as error:
        session.rollback()
        return _page(error.status, error=error, entered=form)
    session.commit()
    if changed:
        flash("Settings saved. The audit log records what changed.", "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for(".index"))


def _uploaded_logo() -> LogoUpload | None:
    upload = request.files.get("logo")
    if upload is None or not upload.filename:
        return None
    # One byte past the limit, so an oversize file is refused without reading it whole.
    data = upload.stream.read(MAX_IMAGE_BYTES + 1)
    return LogoUpload(data, get_settings().media_path)


def init_app(app: Flask) -> None:
    """Register the settings page and give every template the ``organisation``."""
    app.register_blueprint(bp)
    add_admin_nav(
        app, "settings.index", "Settings", group=NavGroup.ADMINISTRATION, roles=(Role.ADMIN,),
        position=20,
    )  # fmt: skip
    app.context_processor(lambda: {"organisation": current_organisation()})

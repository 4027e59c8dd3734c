"""Staff pages for the development outbox: a searchable list of messages, and each one shown."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, abort, render_template, request

from engine.auth import roles_required
from engine.delivery.outbox import read_outbox_message
from engine.outbox_index import (
    KIND_LABELS,
    MessageKind,
    body_text,
    header_rows,
    header_text,
    kind_label,
    message_kind,
    outbox_index,
)
from engine.security import EMAIL_CONTENT_POLICY
from engine.web import add_admin_nav, get_settings

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
PAGE_SIZE = 50
#: The message is untrusted HTML: besides the frame's own sandbox, the policy sandboxes the
#: document itself, so opening its address directly runs nothing either.
HTML_PART_POLICY = f"{EMAIL_CONTENT_POLICY}; sandbox"


@bp.get("/")
@roles_required()
def index() -> str:
    settings = get_settings()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    search = request.args.get("q", "").strip()[:200]
    kind_arg = request.args.get("kind", "")
    kind = MessageKind(kind_arg) if kind_arg in set(MessageKind) else None
    listing = outbox_index(settings.outbox_path).page(
        search=search, kind=kind, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "outbox/index.html",
        listing=listing,
        page=page,
        page_size=PAGE_SIZE,
        search=search,
        kind=kind,
        kind_labels=KIND_LABELS,
        zone=ZoneInfo(settings.TIMEZONE),
    )


@bp.get("/<name>")
@roles_required()
def show(name: str) -> str:
    message = read_outbox_message(get_settings().outbox_path, name)
    if message is None:
        abort(404, description=f"No outbox message {name!r}.")
    kind, system_kind = message_kind(message)
    return render_template(
        "outbox/show.html",
        name=name,
        message=message,
        kind=kind,
        kind_label=kind_label(kind, system_kind),
        fields={field: header_text(message, field) for field in ("Subject", "To", "From", "Date")},
        has_html=message.get_body(("html",)) is not None,
        text=body_text(message, "plain"),
        headers=header_rows(message),
    )


@bp.get("/<name>/html")
@roles_required()
def html_part(name: str) -> tuple[str, int, dict[str, str]]:
    message = read_outbox_message(get_settings().outbox_path, name)
    if message is None or message.get_body(("html",)) is None:
        abort(404, description=f"No HTML part in outbox message {name!r}.")
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": HTML_PART_POLICY,
        "Cache-Control": "private, no-store",
    }
    return body_text(message, "html"), 200, headers


def init_app(app: Flask) -> None:
    """Register the outbox pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "outbox.index", "Outbox", group="Administration", position=50)

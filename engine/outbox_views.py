"""Staff pages for the development outbox: list the ``.eml`` files and show each one."""

from __future__ import annotations

from email.message import EmailMessage

from flask import Blueprint, Flask, abort, render_template, request

from engine.auth import roles_required
from engine.delivery.outbox import list_outbox, read_outbox_message
from engine.web import add_admin_nav, get_settings

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
PAGE_SIZE = 100


@bp.get("/")
@roles_required()
def index() -> str:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries, total = list_outbox(
        get_settings().outbox_path, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "outbox/index.html", entries=entries, total=total, page=page, page_size=PAGE_SIZE
    )


@bp.get("/<name>")
@roles_required()
def show(name: str) -> str:
    message = read_outbox_message(get_settings().outbox_path, name)
    if message is None:
        abort(404, description=f"No outbox message {name!r}.")
    return render_template("outbox/show.html", name=name, message=message, **_parts(message))


@bp.get("/<name>/html")
@roles_required()
def html_part(name: str) -> tuple[str, int, dict[str, str]]:
    message = read_outbox_message(get_settings().outbox_path, name)
    if message is None:
        abort(404, description=f"No outbox message {name!r}.")
    # Served into a sandboxed iframe; the CSP stops any script the message might carry.
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "script-src 'none'; frame-ancestors 'self'",
    }
    return _parts(message)["html"], 200, headers


def _parts(message: EmailMessage) -> dict[str, str]:
    html_body = message.get_body(("html",))
    text_body = message.get_body(("plain",))
    return {
        "html": html_body.get_content() if html_body is not None else "",
        "text": text_body.get_content() if text_body is not None else "",
        "headers": "\n".join(f"{key}: {value}" for key, value in message.items()),
    }


def init_app(app: Flask) -> None:
    """Register the outbox pages."""
    app.register_blueprint(bp)
    add_admin_nav(app, "outbox.index", "Outbox")

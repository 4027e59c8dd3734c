"""Interactive API docs at ``/api/v1/docs``: Swagger UI from the npm package, no CDN."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template, send_from_directory
from werkzeug.wrappers import Response

from engine.config import PROJECT_ROOT

SWAGGER_UI = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js"}

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")


@bp.get("")
def index() -> str:
    return render_template("api/docs.html", assets_present=(SWAGGER_UI / "swagger-ui.css").exists())


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_UI, name, max_age=86400)


def init_app(app: Flask) -> None:
    """Register the docs page."""
    app.register_blueprint(bp)

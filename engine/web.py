"""Web plumbing shared by every blueprint: CSRF, error pages, health check, favicon, the staff
navigation and template globals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from engine.config import Settings
from engine.db import get_database
from engine.display import html_datetime, local_time_element, status_label
from engine.errors import PinwheelError
from engine.health import ping_database
from engine.organisation_cache import effective_settings
from engine.users import Role, StaffUser

csrf = CSRFProtect()


def get_settings(app: Flask | None = None) -> Settings:
    """Return the application's validated settings, with the organisation's sender, postal
    address and time zone from the settings page in place of the environment's."""
    return effective_settings(app or current_app)


def wants_json() -> bool:
    """Return whether the current request should be answered with JSON."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


#: What readers are told of the common HTTP errors, in their language (Werkzeug's own
#: descriptions are English only).
_HTTP_MESSAGES = {
    404: lazy_gettext(
        "There is no page at this address. The link may be incomplete, or the page may have moved."
    ),
    405: lazy_gettext("This page cannot be used that way."),
    413: lazy_gettext("What you sent is too large."),
    429: lazy_gettext("Too many requests in a short time. Wait a moment and try again."),
}


def error_response(status: int, code: str, message: str, details: object = None) -> Response:
    """Answer with a JSON error body or an HTML error page, whichever the client wants."""
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message, "details": details}})
    else:
        page = render_template(
            "error.html",
            status=status,
            message=message,
            details=details,
            staff=_signed_in_staff(status),
        )
        response = current_app.make_response(page)
    response.status_code = status
    return response


def _signed_in_staff(status: int) -> bool:
    # Whether a visitor is signed in is read from the database, which may be why a server error
    # happened, or may hold a transaction the failed request left unusable: those pages keep the
    # plain public header.
    if status >= 500:
        return False
    try:
        return bool(current_user.is_authenticated)
    except sa.exc.SQLAlchemyError:
        return False


def init_app(app: Flask) -> None:
    """Install CSRF protection, error handlers, ``/healthz``, the favicon and template globals."""
    csrf.init_app(app)

    @app.errorhandler(PinwheelError)
    def _domain_error(error: PinwheelError) -> Response:
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return error_response(
            400,
            "csrf_failed",
            gettext(
                "This form has expired or did not come from this site. Go back, reload the "
                "page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        said = _HTTP_MESSAGES.get(status)
        return error_response(
            status,
            (error.name or "error").lower().replace(" ", "_"),
            str(said) if said else error.description or error.name,
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", gettext("Something went wrong on our side."))

    @app.get("/healthz")
    @csrf.exempt
    def healthz() -> tuple[Response, int]:
        # The readiness of ``pinwheel health`` on this process's own pool, without the broker:
        # pages work while Redis is away, and a Redis outage must not take every web process
        # out of the load balancer.
        database = ping_database(get_database().read_engine)
        if database.status == "fail":
            return jsonify(status="unavailable", database=database.message), 503
        return jsonify(status="ok", database="ok"), 200

    @app.get("/favicon.ico")
    def favicon() -> Response:
        # Browsers ask for /favicon.ico whatever a page links to.
        return app.send_static_file("favicon.svg")

    app.extensions.setdefault("pinwheel.admin_nav", [])
    app.add_template_filter(html_datetime)
    app.add_template_filter(status_label)
    app.add_template_filter(local_time)

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {
            "settings": get_settings(),
            "staff_nav": lambda: staff_nav(app, current_user),
            "has_endpoint": lambda endpoint: endpoint in app.view_functions,
        }


def local_time(value: datetime | None, *, date_only: bool = False, seconds: bool = False) -> Markup:
    """Show ``value`` in the organisation's time zone, the zone named, in a ``<time>`` element."""
    zone = get_settings().TIMEZONE
    return local_time_element(value, zone, date_only=date_only, seconds=seconds)


class NavGroup(StrEnum):
    """The staff navigation's groups, in the order they are shown."""

    CONTENT = "Content"
    AUDIENCE = "Audience"
    INSIGHTS = "Insights"
    ADMINISTRATION = "Administration"


@dataclass(frozen=True, slots=True)
class NavLink:
    endpoint: str
    label: str
    group: NavGroup
    #: Roles the page lets through (admins hold every role); empty for any signed-in staff.
    roles: tuple[Role, ...]
    position: int

    @property
    def blueprint(self) -> str:
        return self.endpoint.rpartition(".")[0]

    def allows(self, user: StaffUser) -> bool:
        """Return whether ``user``'s role may open the page."""
        return not self.roles or user.has_role(*self.roles)


def add_admin_nav(
    app: Flask,
    endpoint: str,
    label: str,
    *,
    group: str,
    roles: Sequence[Role] = (),
    position: int = 100,
) -> None:
    """Add a link to the staff navigation (features call this from ``init_app``).

    ``roles`` are the ones the page's ``roles_required`` names, so that nobody is shown a link
    that answers 403; ``position`` orders the links inside ``group`` (one of ``NavGroup``).
    """
    link = NavLink(endpoint, label, NavGroup(group), tuple(roles), position)
    app.extensions.setdefault("pinwheel.admin_nav", []).append(link)


def staff_nav(app: Flask, user: StaffUser) -> list[tuple[NavGroup, list[NavLink]]]:
    """Return the navigation's groups and the links ``user`` may follow, groups in order."""
    if not user.is_authenticated:
        return []
    links: list[NavLink] = app.extensions.get("pinwheel.admin_nav", [])
    groups = []
    for group in NavGroup:
        mine = [link for link in links if link.group == group and link.allows(user)]
        if mine:
            groups.append((group, sorted(mine, key=lambda link: link.position)))
    return groups

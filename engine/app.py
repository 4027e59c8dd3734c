"""The application factory."""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask

from engine import (
    account_views,
    api,
    audit,
    auth,
    cli,
    db,
    http_cache,
    i18n,
    logs,
    media,
    metrics,
    micro_cache,
    organisation_api,
    organisation_cli,
    organisation_views,
    outbox_views,
    ratelimit,
    scheduler,
    security,
    users_views,
    web,
)
from engine.config import PROJECT_ROOT, Settings, load_settings

#: Feature packages; each exposes ``init_app(app)`` that registers its blueprints and commands.
FEATURES = ("subscribers", "campaigns")


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the Flask app from ``settings`` (default: the environment) plus ``overrides``."""
    if settings is None:
        settings = load_settings(**overrides)
    elif overrides:
        settings = settings.with_overrides(**overrides)
    app = Flask(
        "pinwheel",
        root_path=str(PROJECT_ROOT),
        instance_path=settings.INSTANCE_PATH,
        template_folder="templates/web",
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=settings.SECRET_KEY,
        TESTING=settings.ENV == "testing",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.BASE_URL.startswith("https://"),
        REMEMBER_COOKIE_SECURE=settings.BASE_URL.startswith("https://"),
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["pinwheel.settings"] = settings
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    db.init_app(app, db.Database(settings))
    logs.init_app(app, settings)
    metrics.init_app(app, settings)
    security.init_app(app, settings)
    http_cache.init_app(app)
    web.init_app(app)
    i18n.init_app(app)
    ratelimit.init_app(app)
    api.init_app(app)
    auth.init_app(app)
    account_views.init_app(app)
    outbox_views.init_app(app)
    audit.init_app(app)
    users_views.init_app(app)
    media.init_app(app)
    organisation_views.init_app(app)
    organisation_api.init_app(app)
    cli.init_app(app)
    organisation_cli.init_app(app)
    for name in FEATURES:
        importlib.import_module(name).init_app(app)
    # Outermost: replays public pages before any other middleware or Flask runs.
    micro_cache.init_app(app, settings)
    scheduler.start_in_process(app)
    return app
